/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <sys/utsname.h>

#include "oci/platform.h"
#include "shared/log.h"

void oci_platform_done(OciPlatform *p)
{
        if (!p)
                return;
        free(p->os);
        free(p->architecture);
        free(p->variant);
        free(p->os_version);
        *p = OCI_PLATFORM_NULL;
}

static int dup_lower(const char *s, char **ret)
{
        char *d;

        if (isempty(s)) {
                *ret = NULL;
                return 0;
        }
        d = strdup(s);
        if (!d)
                return -ENOMEM;
        for (char *c = d; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                        *c = (char) (*c - 'A' + 'a');
        *ret = d;
        return 0;
}

static int platform_set(OciPlatform *ret, const char *os, const char *architecture, const char *variant,
                        const char *os_version)
{
        _cleanup_(oci_platform_done) OciPlatform p = {};

        if (dup_lower(os, &p.os) < 0 || dup_lower(architecture, &p.architecture) < 0 ||
            dup_lower(variant, &p.variant) < 0)
                return -ENOMEM;
        if (os_version) {
                p.os_version = strdup(os_version);
                if (!p.os_version)
                        return -ENOMEM;
        }

        *ret = p;
        p = OCI_PLATFORM_NULL;
        return 0;
}

int oci_platform_copy(const OciPlatform *p, OciPlatform *ret)
{
        if (!p)
                return -EINVAL;
        return platform_set(ret, p->os, p->architecture, p->variant, p->os_version);
}

static const struct {
        const char *alias;
        const char *architecture;
        const char *variant; /* implied variant, if the alias names one */
} arch_aliases[] = {
        { "x86_64", "amd64", NULL },  { "x86-64", "amd64", NULL }, { "amd64", "amd64", NULL },
        { "aarch64", "arm64", NULL }, { "arm64", "arm64", NULL },  { "armhf", "arm", "v7" },
        { "armel", "arm", "v6" },     { "i386", "386", NULL },     { "i486", "386", NULL },
        { "i586", "386", NULL },      { "i686", "386", NULL },     { "x86", "386", NULL },
};

int oci_platform_normalize(const OciPlatform *p, OciPlatform *ret)
{
        _cleanup_(oci_platform_done) OciPlatform n = {};
        const char *arch, *variant;
        char v[16];

        if (!p || isempty(p->architecture))
                return -EINVAL;

        arch = p->architecture;
        variant = p->variant;
        for (size_t i = 0; i < ELEMENTSOF(arch_aliases); i++)
                if (strcasecmp(arch, arch_aliases[i].alias) == 0) {
                        arch = arch_aliases[i].architecture;
                        if (arch_aliases[i].variant && isempty(variant))
                                variant = arch_aliases[i].variant;
                        break;
                }

        /* Variants may be written without the "v". */
        if (variant && variant[0] >= '0' && variant[0] <= '9') {
                if (snprintf(v, sizeof(v), "v%s", variant) >= (int) sizeof(v))
                        return -EINVAL;
                variant = v;
        }

        if (streq(arch, "arm64")) {
                if (isempty(variant))
                        variant = "v8";
        } else if (streq(arch, "arm")) {
                if (isempty(variant))
                        variant = "v7";
        } else if (streq(arch, "amd64")) {
                if (variant && strcasecmp(variant, "v1") == 0)
                        variant = NULL;
        }

        if (platform_set(&n, isempty(p->os) ? "linux" : p->os, arch, variant, p->os_version) < 0)
                return -ENOMEM;

        *ret = n;
        n = OCI_PLATFORM_NULL;
        return 0;
}

int oci_platform_from_machine(const char *machine, OciPlatform *ret)
{
        OciPlatform raw = { .os = (char *) "linux" };
        const char *variant = NULL;
        char v[8];

        if (isempty(machine))
                return -EINVAL;

        /* armv5tel, armv6l, armv7l, armv8l (32-bit userland on a 64-bit core). */
        if (startswith(machine, "armv") && machine[4] >= '5' && machine[4] <= '8') {
                snprintf(v, sizeof(v), "v%c", machine[4]);
                raw.architecture = (char *) "arm";
                variant = v;
        } else if (streq(machine, "ppc64le") || streq(machine, "s390x") || streq(machine, "riscv64") ||
                   streq(machine, "mips64") || streq(machine, "loongarch64"))
                raw.architecture = (char *) machine;
        else if (streq(machine, "mips64el"))
                raw.architecture = (char *) "mips64le";
        else
                raw.architecture = (char *) machine;

        raw.variant = (char *) variant;
        return oci_platform_normalize(&raw, ret);
}

int oci_platform_parse(const char *s, OciPlatform *ret)
{
        _cleanup_free_ char *copy = NULL;
        OciPlatform raw = {};
        char *parts[4] = {};
        size_t n = 0;
        char *p;

        if (isempty(s))
                return -EINVAL;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;

        p = copy;
        for (;;) {
                char *slash = strchr(p, '/');

                if (n >= 3 || isempty(p) || (slash && slash == p))
                        return -EINVAL;
                parts[n++] = p;
                if (!slash)
                        break;
                *slash = 0;
                p = slash + 1;
        }

        if (n == 1)
                raw = (OciPlatform){ .os = (char *) "linux", .architecture = parts[0] };
        else
                raw = (OciPlatform){ .os = parts[0], .architecture = parts[1], .variant = parts[2] };

        return oci_platform_normalize(&raw, ret);
}

int oci_platform_host(OciPlatform *ret)
{
        const char *e = getenv("BERTH_PLATFORM");
        struct utsname u;

        if (!isempty(e)) {
                int r = oci_platform_parse(e, ret);
                if (r < 0)
                        log_debug("Cannot parse $BERTH_PLATFORM='%s', using uname instead.", e);
                else
                        return 0;
        }

        if (uname(&u) < 0)
                return negative_errno();
        return oci_platform_from_machine(u.machine, ret);
}

int oci_platform_to_string(const OciPlatform *p, char **ret)
{
        char *s;

        if (!p || isempty(p->architecture))
                return -EINVAL;
        if (asprintf(&s, "%s/%s%s%s", isempty(p->os) ? "unknown" : p->os, p->architecture,
                     isempty(p->variant) ? "" : "/", strempty(p->variant)) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* "v7" → 7, "v8.2" → 8 (minor levels count as their major), anything else → -1. */
static int variant_level(const char *v)
{
        int level = 0;

        if (isempty(v))
                return -1;
        if (v[0] != 'v' || v[1] < '0' || v[1] > '9')
                return -1;
        for (v++; *v >= '0' && *v <= '9'; v++) {
                /* "v99999999999" from a hostile index: no real variant has 4 digits (UBSan in
                 * tests/fuzz/fuzz-manifest.c found the overflow). */
                if (level > 999)
                        return -1;
                level = level * 10 + (*v - '0');
        }
        return (*v == 0 || *v == '.') ? level : -1;
}

int oci_platform_match(const OciPlatform *want, const OciPlatform *have)
{
        int w, h;

        if (!want || !have || isempty(have->architecture) || isempty(have->os))
                return -ENOENT;
        if (!streq(strempty(want->os), have->os))
                return -ENOENT;
        if (want->os_version && have->os_version && !streq(want->os_version, have->os_version))
                return -ENOENT;

        /* An arm64 host runs 32-bit arm images (as containerd allows), after all arm64 ones. */
        if (streq(want->architecture, "arm64") && streq(have->architecture, "arm")) {
                h = variant_level(have->variant);
                if (h < 5 || h > 8)
                        return -ENOENT;
                return 100 + (8 - h);
        }

        if (!streq(want->architecture, have->architecture))
                return -ENOENT;

        if (streq(have->architecture, "arm") || streq(have->architecture, "arm64")) {
                /* Normalised: both have variants. A host runs its own level and the ones below, best first;
                 * arm stops at v5. */
                w = variant_level(want->variant);
                h = variant_level(have->variant);
                if (w < 0 || h < 0) {
                        if (streq(strempty(want->variant), strempty(have->variant)))
                                return 0;
                        return -ENOENT;
                }
                if (h > w || (streq(have->architecture, "arm") && h < 5))
                        return -ENOENT;
                return w - h;
        }

        if (streq(have->architecture, "amd64")) {
                /* Baseline (no variant) first. A wanted level runs that level and the ones below; with no
                 * level wanted, the host's level is unknown, so higher levels are the last resort. */
                w = isempty(want->variant) ? 1 : variant_level(want->variant);
                h = isempty(have->variant) ? 1 : variant_level(have->variant);
                if (w < 0 || h < 0)
                        return -ENOENT;
                if (h <= w)
                        return w - h;
                if (isempty(want->variant))
                        return 10 + h;
                return -ENOENT;
        }

        /* Other architectures: the variant must agree when both give one. */
        if (!isempty(want->variant) && !isempty(have->variant) && !streq(want->variant, have->variant))
                return -ENOENT;
        return isempty(want->variant) == isempty(have->variant) ? 0 : 1;
}
