/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oci/digest.h"
#include "shared/macro.h"

static const struct {
        const char *name;
        size_t hex_length;
        bool supported;
} algorithms[_DIGEST_ALGORITHM_MAX] = {
        [DIGEST_SHA256] = { "sha256", 64, true },
        [DIGEST_SHA512] = { "sha512", 128, false },
};

const char *digest_algorithm_to_string(DigestAlgorithm a)
{
        if (a < 0 || a >= _DIGEST_ALGORITHM_MAX)
                return NULL;
        return algorithms[a].name;
}

DigestAlgorithm digest_algorithm_from_string(const char *s)
{
        if (!s)
                return _DIGEST_ALGORITHM_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(algorithms); i++)
                if (streq(s, algorithms[i].name))
                        return (DigestAlgorithm) i;
        return _DIGEST_ALGORITHM_INVALID;
}

bool digest_algorithm_is_supported(DigestAlgorithm a)
{
        return a >= 0 && a < _DIGEST_ALGORITHM_MAX && algorithms[a].supported;
}

static bool char_is_lower_hex(char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool char_is_lower_alnum(char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
}

bool hex_is_lower(const char *s, size_t n)
{
        size_t i;

        if (!s)
                return false;
        for (i = 0; s[i]; i++)
                if (!char_is_lower_hex(s[i]))
                        return false;
        return n == 0 ? i > 0 : i == n;
}

/* OCI image-spec: algorithm := component (separator component)*, component := [a-z0-9]+,
 * separator := [+._-]; encoded := [a-zA-Z0-9=_-]+. */
static bool digest_is_well_formed(const char *s, size_t algorithm_length)
{
        bool after_separator = true;
        const char *encoded;

        if (algorithm_length == 0)
                return false;
        for (size_t i = 0; i < algorithm_length; i++) {
                if (char_is_lower_alnum(s[i]))
                        after_separator = false;
                else if (strchr("+._-", s[i]) && !after_separator)
                        after_separator = true;
                else
                        return false;
        }
        if (after_separator)
                return false;

        encoded = s + algorithm_length + 1;
        if (!*encoded)
                return false;
        for (; *encoded; encoded++)
                if (!char_is_lower_alnum(*encoded) && !(*encoded >= 'A' && *encoded <= 'Z') &&
                    !strchr("=_-", *encoded))
                        return false;
        return true;
}

int digest_parse(const char *s, DigestAlgorithm *ret_algorithm, const char **ret_hex)
{
        const char *colon, *hex;

        if (!s)
                return -EINVAL;

        colon = strchr(s, ':');
        if (!colon)
                return -EINVAL;
        hex = colon + 1;

        for (size_t i = 0; i < ELEMENTSOF(algorithms); i++) {
                size_t l = strlen(algorithms[i].name);

                if ((size_t) (colon - s) != l || !strneq(s, algorithms[i].name, l))
                        continue;
                if (!hex_is_lower(hex, algorithms[i].hex_length))
                        return -EINVAL;

                if (ret_algorithm)
                        *ret_algorithm = (DigestAlgorithm) i;
                if (ret_hex)
                        *ret_hex = hex;
                return 0;
        }

        return digest_is_well_formed(s, (size_t) (colon - s)) ? -EOPNOTSUPP : -EINVAL;
}

bool digest_is_valid(const char *s)
{
        DigestAlgorithm a;

        return digest_parse(s, &a, NULL) >= 0 && digest_algorithm_is_supported(a);
}

const char *digest_hex(const char *s)
{
        const char *hex;

        if (digest_parse(s, NULL, &hex) < 0)
                return NULL;
        return hex;
}

int digest_short_id(const char *s, char ret[static DIGEST_SHORT_ID_SIZE])
{
        const char *hex;

        if (!s)
                return -EINVAL;

        if (hex_is_lower(s, DIGEST_SHA256_HEX_LENGTH))
                hex = s;
        else if (!digest_is_valid(s))
                return -EINVAL;
        else
                hex = digest_hex(s);

        memcpy(ret, hex, DIGEST_SHORT_ID_LENGTH);
        ret[DIGEST_SHORT_ID_LENGTH] = 0;
        return 0;
}
