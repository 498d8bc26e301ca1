/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/login.h"
#include "oci/registry-json.h"
#include "registry/reference.h"
#include "registry/registry-config.h"
#include "shared/fs-util.h"
#include "shared/log.h"

#define AUTH_FILE_MAX ((size_t) 1024U * 1024U)

int manager_store_credentials(Manager *m, const char *domain, const char *username, const char *password)
{
        _cleanup_free_ char *old = NULL, *data = NULL;
        size_t old_size = 0, size = 0;
        int had, r;

        r = read_file_at(AT_FDCWD, m->login_auth_file, AUTH_FILE_MAX, &old, &old_size);
        if (r < 0 && r != -ENOENT)
                return r;
        had = registry_json_auths_set(old, r < 0 ? 0 : old_size, domain, username, password, &data, &size);
        if (old)
                explicit_bzero(old, old_size);
        if (had < 0)
                return had;
        if (!username && !had)
                return 0; /* nothing to remove: leave the file as it is */

        r = write_file_atomic_at(AT_FDCWD, m->login_auth_file, data, size, 0600);
        explicit_bzero(data, size);
        if (r < 0)
                return r;
        r = manager_reload_credentials(m);
        if (r < 0)
                return r;
        return had;
}

/* DNS's limits (RFC 1035), which the reference grammar does not set: labels of at most 63 bytes, 253 in all;
 * and a port that is one. */
static bool host_fits_dns(const char *domain)
{
        size_t n = strcspn(domain, ":");

        if (n > 253)
                return false;
        if (domain[n] == ':') {
                char *end;
                unsigned long port = strtoul(domain + n + 1, &end, 10);

                if (*end || port == 0 || port > 65535 || strlen(domain + n + 1) > 5)
                        return false;
        }
        for (const char *p = domain; p < domain + n;) {
                size_t label = strcspn(p, ".:");

                if (label > 63)
                        return false;
                p += label + 1;
        }
        return true;
}

int login_registry_domain(const char *registry, char **ret)
{
        _cleanup_free_ char *domain = NULL;
        const char *path = registry;
        int r;

        if (g_ascii_strncasecmp(path, "https://", 8) == 0)
                path += 8;
        else if (g_ascii_strncasecmp(path, "http://", 7) == 0)
                path += 7;
        path = strchr(path, '/');
        r = registry_normalize_domain(registry, &domain);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || isempty(domain) || !reference_domain_is_valid(domain) || !host_fits_dns(domain) ||
            (path && (strstr(path, "//") || strstr(path, "/.") ||
                      strspn(path, "abcdefghijklmnopqrstuvwxyz0123456789._-/") != strlen(path))))
                return -EINVAL;
        *ret = TAKE_PTR(domain);
        return 0;
}

/* A credential: not empty, not too long for a registry to take, and no control characters. */
static bool credential_is_valid(const char *s, size_t max)
{
        size_t n = strnlen(s, max + 1);

        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

bool login_credentials_are_valid(const char *username, const char *password)
{
        return credential_is_valid(username, 256) && !strchr(username, ':') &&
               credential_is_valid(password, 65536);
}
