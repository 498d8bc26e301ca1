/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>

#include "oci/registry-json.h"
#include "registry/registry-config.h"
#include "shared/keyfile.h"
#include "shared/log.h"

#define AUTH_FILE_MAX ((size_t) 1024U * 1024U)

typedef struct RegistryEntry {
        char **mirrors;
        char *ca_file;
        char *search_url;
        int insecure; /* -1: not set */
} RegistryEntry;

struct RegistryConfig {
        char *default_domain;
        char **insecure;
        unsigned max_concurrent_downloads;
        unsigned max_attempts;
        uint64_t retry_delay_usec;
        char *auth_file;

        GHashTable *registries; /* normalised domain → RegistryEntry */

        RegistryJsonAuth *auths;
        size_t n_auths;
};

static void registry_entry_free(void *p)
{
        RegistryEntry *e = p;

        if (!e)
                return;
        g_strfreev(e->mirrors);
        g_free(e->ca_file);
        g_free(e->search_url);
        free(e);
}

int registry_config_new(RegistryConfig **ret)
{
        RegistryConfig *c;

        if (!ret)
                return -EINVAL;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->default_domain = g_strdup(REGISTRY_DOCKER_IO);
        c->max_concurrent_downloads = 3;
        c->max_attempts = 4;
        c->retry_delay_usec = USEC_PER_SEC;
        c->registries = g_hash_table_new_full(g_str_hash, g_str_equal, free, registry_entry_free);
        *ret = c;
        return 0;
}

RegistryConfig *registry_config_free(RegistryConfig *c)
{
        if (!c)
                return NULL;
        g_free(c->default_domain);
        g_strfreev(c->insecure);
        g_free(c->auth_file);
        if (c->registries)
                g_hash_table_unref(c->registries);
        registry_json_auths_free(c->auths, c->n_auths);
        return mfree(c);
}

int registry_normalize_domain(const char *s, char **ret)
{
        const char *p, *e;
        char *d;

        if (isempty(s) || !ret)
                return -EINVAL;

        p = s;
        if (g_ascii_strncasecmp(p, "https://", 8) == 0)
                p += 8;
        else if (g_ascii_strncasecmp(p, "http://", 7) == 0)
                p += 7;
        e = strchr(p, '/');
        if (!e)
                e = p + strlen(p);
        if (e == p)
                return -EINVAL;

        d = g_ascii_strdown(p, e - p);
        if (streq(d, "index.docker.io") || streq(d, "registry-1.docker.io") ||
            streq(d, "registry.hub.docker.com")) {
                g_free(d);
                d = g_strdup(REGISTRY_DOCKER_IO);
        }
        *ret = strdup(d);
        g_free(d);
        return *ret ? 0 : -ENOMEM;
}

/* Splits "a;b;c" (GKeyFile lists), dropping empty items and whitespace. The raw value is split by hand:
 * GLib 2.74's g_key_file_get_string_list() sets a GError over another one (a warning and a leak) on an item
 * ending in a backslash (found by tests/fuzz/fuzz-registry-config.c), and hosts and URLs have no use for
 * its escapes. */
static char **key_file_get_list(GKeyFile *k, const char *group, const char *key)
{
        g_autofree char *raw = NULL;
        g_auto(GStrv) l = NULL;
        GPtrArray *a;

        raw = g_key_file_get_value(k, group, key, NULL);
        l = raw ? g_strsplit(raw, ";", -1) : NULL;
        a = g_ptr_array_new();
        for (char **i = l; i && *i; i++) {
                char *s = g_strstrip(g_strdup(*i));

                if (isempty(s)) {
                        g_free(s);
                        continue;
                }
                g_ptr_array_add(a, s);
        }
        g_ptr_array_add(a, NULL);
        return (char **) g_ptr_array_free(a, FALSE);
}

static int key_file_get_uint(GKeyFile *k, const char *group, const char *key, unsigned min, unsigned max,
                             unsigned *v)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *s = NULL;
        char *end;
        unsigned long u;

        s = g_key_file_get_string(k, group, key, &error);
        if (!s)
                return 0; /* not set */
        g_strstrip(s);

        errno = 0;
        u = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != 0 || u < min || u > max) {
                log_debug("Invalid value '%s' for %s= in [%s].", s, key, group);
                return -EINVAL;
        }
        *v = (unsigned) u;
        return 1;
}

static int parse_registry_section(GKeyFile *k, const char *group, RegistryConfig *c)
{
        g_autofree char *domain_raw = NULL, *ca = NULL, *search = NULL;
        _cleanup_free_ char *domain = NULL;
        RegistryEntry *e;
        int r;

        domain_raw = g_strstrip(g_strdup(group + strlen("Registry ")));
        r = registry_normalize_domain(domain_raw, &domain);
        if (r < 0) {
                log_debug("Invalid registry section [%s].", group);
                return -EINVAL;
        }

        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->insecure = -1;
        g_hash_table_replace(c->registries, TAKE_PTR(domain), e);

        e->mirrors = key_file_get_list(k, group, "Mirrors");
        for (char **m = e->mirrors; *m; m++) {
                size_t l;

                if (!g_str_has_prefix(*m, "https://") && !g_str_has_prefix(*m, "http://")) {
                        log_debug("Mirror '%s' in [%s] is not an http(s) URL.", *m, group);
                        return -EINVAL;
                }
                l = strlen(*m);
                while (l > 0 && (*m)[l - 1] == '/')
                        (*m)[--l] = 0;
        }

        ca = g_key_file_get_string(k, group, "CAFile", NULL);
        if (ca && !isempty(g_strstrip(ca))) {
                if (ca[0] != '/') {
                        log_debug("CAFile= in [%s] must be an absolute path.", group);
                        return -EINVAL;
                }
                e->ca_file = TAKE_PTR(ca);
        }

        search = g_key_file_get_string(k, group, "SearchURL", NULL);
        if (search && !isempty(g_strstrip(search)))
                e->search_url = TAKE_PTR(search);

        if (g_key_file_has_key(k, group, "Insecure", NULL)) {
                g_autoptr(GError) error = NULL;
                gboolean b = g_key_file_get_boolean(k, group, "Insecure", &error);

                if (error) {
                        log_debug("Invalid Insecure= in [%s]: %s", group, error->message);
                        return -EINVAL;
                }
                e->insecure = b;
        }
        return 0;
}

int registry_config_load(const char *path, RegistryConfig **ret)
{
        _cleanup_(registry_config_freep) RegistryConfig *c = NULL;
        g_autoptr(GKeyFile) k = NULL;
        g_auto(GStrv) groups = NULL;
        unsigned u;
        int r;

        if (!ret)
                return -EINVAL;
        if (!path)
                path = BERTH_CONFIG_FILE;

        r = registry_config_new(&c);
        if (r < 0)
                return r;

        r = keyfile_load(path, &k);
        if (r == -ENOENT) {
                *ret = TAKE_PTR(c);
                return 0;
        }
        if (r < 0)
                return r;

        if (g_key_file_has_group(k, "Registries")) {
                g_autofree char *d = NULL, *af = NULL;

                d = g_key_file_get_string(k, "Registries", "Default", NULL);
                if (d && !isempty(g_strstrip(d))) {
                        g_free(c->default_domain);
                        c->default_domain = g_ascii_strdown(d, -1);
                }

                c->insecure = key_file_get_list(k, "Registries", "Insecure");
                for (char **i = c->insecure; *i; i++) {
                        char *lower = g_ascii_strdown(*i, -1);
                        g_free(*i);
                        *i = lower;
                }

                r = key_file_get_uint(k, "Registries", "MaxConcurrentDownloads", 1, 64, &u);
                if (r < 0)
                        return r;
                if (r > 0)
                        c->max_concurrent_downloads = u;

                r = key_file_get_uint(k, "Registries", "MaxAttempts", 1, 20, &u);
                if (r < 0)
                        return r;
                if (r > 0)
                        c->max_attempts = u;

                r = key_file_get_uint(k, "Registries", "RetryDelayMSec", 0, 600000, &u);
                if (r < 0)
                        return r;
                if (r > 0)
                        c->retry_delay_usec = (uint64_t) u * USEC_PER_MSEC;

                af = g_key_file_get_string(k, "Registries", "AuthFile", NULL);
                if (af && !isempty(g_strstrip(af))) {
                        if (af[0] != '/')
                                return -EINVAL;
                        c->auth_file = TAKE_PTR(af);
                }
        }

        groups = g_key_file_get_groups(k, NULL);
        for (char **g = groups; *g; g++) {
                if (!g_str_has_prefix(*g, "Registry "))
                        continue;
                r = parse_registry_section(k, *g, c);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(c);
        return 0;
}

static int read_fd_all(int fd, size_t max, char **ret, size_t *ret_size)
{
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;

        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + n, max + 1 - n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += k;
                if (n > max) {
                        explicit_bzero(buf, n);
                        return -EFBIG;
                }
        }
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

static int read_auth_file(const char *path, RegistryJsonAuth **ret, size_t *ret_n)
{
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *data = NULL;
        RegistryJsonAuth *auths = NULL;
        size_t size = 0, n = 0;
        struct stat st;
        int r;

        *ret = NULL;
        *ret_n = 0;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return log_debug_errno(errno, "Failed to open '%s': %m", path);
        }
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0 || (st.st_uid != 0 && st.st_uid != geteuid()))
                return log_debug_errno(EPERM,
                                       "'%s' is accessible to others (mode %04o, owner %u), ignoring it.",
                                       path, (unsigned) (st.st_mode & 07777), (unsigned) st.st_uid);

        r = read_fd_all(fd, AUTH_FILE_MAX, &data, &size);
        if (r < 0)
                return r;

        r = registry_json_parse_auths(data, size, &auths, &n);
        explicit_bzero(data, size);
        if (r < 0)
                return log_debug_errno(r, "Failed to parse '%s': %m", path);

        /* Normalise the server keys once, so lookups are plain compares. */
        for (size_t i = 0; i < n; i++) {
                char *d = NULL;

                r = registry_normalize_domain(auths[i].server, &d);
                if (r == -ENOMEM) {
                        registry_json_auths_free(auths, n);
                        return r;
                }
                if (r < 0)
                        continue;
                free(auths[i].server);
                auths[i].server = d;
        }

        *ret = auths;
        *ret_n = n;
        return 0;
}

int registry_config_load_auth(RegistryConfig *c, const char *path)
{
        int r;

        if (!c)
                return -EINVAL;
        if (!path)
                path = c->auth_file ?: BERTH_AUTH_FILE;

        registry_json_auths_free(c->auths, c->n_auths);
        c->auths = NULL;
        c->n_auths = 0;

        r = read_auth_file(path, &c->auths, &c->n_auths);
        if (r < 0)
                return r;
        return (int) MIN(c->n_auths, (size_t) INT32_MAX);
}

int registry_config_add_auth(RegistryConfig *c, const char *path)
{
        RegistryJsonAuth *auths = NULL, *all;
        size_t n = 0;
        int r;

        if (!c || !path)
                return -EINVAL;
        r = read_auth_file(path, &auths, &n);
        if (r < 0 || n == 0)
                return r;

        /* In front: the first match wins. */
        all = reallocarray(auths, n + c->n_auths, sizeof(RegistryJsonAuth));
        if (!all) {
                registry_json_auths_free(auths, n);
                return -ENOMEM;
        }
        if (c->n_auths > 0)
                memcpy(all + n, c->auths, c->n_auths * sizeof(RegistryJsonAuth));
        free(c->auths);
        c->auths = all;
        c->n_auths += n;
        return (int) MIN(n, (size_t) INT32_MAX);
}

const char *registry_config_get_default_domain(const RegistryConfig *c)
{
        return c ? c->default_domain : REGISTRY_DOCKER_IO;
}

unsigned registry_config_get_max_concurrent_downloads(const RegistryConfig *c)
{
        return c ? c->max_concurrent_downloads : 3;
}

unsigned registry_config_get_max_attempts(const RegistryConfig *c)
{
        return c ? c->max_attempts : 4;
}

uint64_t registry_config_get_retry_delay_usec(const RegistryConfig *c)
{
        return c ? c->retry_delay_usec : USEC_PER_SEC;
}

void registry_config_set_retry(RegistryConfig *c, unsigned max_attempts, uint64_t delay_usec)
{
        if (!c)
                return;
        c->max_attempts = MAX(max_attempts, 1U);
        c->retry_delay_usec = delay_usec;
}

static RegistryEntry *lookup_entry(const RegistryConfig *c, const char *domain)
{
        _cleanup_free_ char *d = NULL;

        if (!c || registry_normalize_domain(domain, &d) < 0)
                return NULL;
        return g_hash_table_lookup(c->registries, d);
}

/* "host:port" → "host"; "[::1]:5000" → "[::1]". */
static char *domain_host(const char *domain)
{
        const char *colon;

        if (domain[0] == '[') {
                const char *e = strchr(domain, ']');
                return e ? strndup(domain, e - domain + 1) : strdup(domain);
        }
        colon = strrchr(domain, ':');
        return colon ? strndup(domain, colon - domain) : strdup(domain);
}

/* Loopback by address, never by the look of a name: "127.example.com" is somebody's host on the internet.
 * An IPv4 literal in 127.0.0.0/8, the IPv6 literal ::1 (or ::ffff:127.x.y.z), and the name "localhost",
 * which resolves to loopback by definition (RFC 6761) and which Docker treats so too. */
static bool host_is_loopback(const char *host)
{
        _cleanup_free_ char *v6 = NULL;
        struct in6_addr a6;
        struct in_addr a4;
        size_t n = strlen(host);

        if (streq(host, "localhost"))
                return true;
        if (inet_pton(AF_INET, host, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        if (n < 2 || host[0] != '[' || host[n - 1] != ']')
                return false;
        v6 = strndup(host + 1, n - 2);
        if (!v6 || inet_pton(AF_INET6, v6, &a6) != 1)
                return false;
        if (IN6_IS_ADDR_LOOPBACK(&a6))
                return true;
        return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

bool registry_config_is_insecure(const RegistryConfig *c, const char *domain)
{
        _cleanup_free_ char *d = NULL, *host = NULL;
        RegistryEntry *e;

        if (registry_normalize_domain(domain, &d) < 0)
                return false;

        e = lookup_entry(c, d);
        if (e && e->insecure >= 0)
                return e->insecure;

        host = domain_host(d);
        if (!host)
                return false;

        if (c && c->insecure)
                for (char **i = c->insecure; *i; i++)
                        if (streq(*i, d) || streq(*i, host))
                                return true;

        return host_is_loopback(host);
}

int registry_config_get_endpoints(const RegistryConfig *c, const char *domain, char ***ret)
{
        _cleanup_free_ char *d = NULL;
        g_autoptr(GPtrArray) a = NULL;
        RegistryEntry *e;
        int r;

        if (!ret)
                return -EINVAL;
        r = registry_normalize_domain(domain, &d);
        if (r < 0)
                return r;

        a = g_ptr_array_new_with_free_func(g_free);
        e = lookup_entry(c, d);
        if (e)
                for (char **m = e->mirrors; *m; m++)
                        g_ptr_array_add(a, g_strdup(*m));

        if (streq(d, REGISTRY_DOCKER_IO))
                g_ptr_array_add(a, g_strdup("https://registry-1.docker.io"));
        else {
                g_ptr_array_add(a, g_strconcat("https://", d, NULL));
                if (registry_config_is_insecure(c, d))
                        g_ptr_array_add(a, g_strconcat("http://", d, NULL));
        }

        g_ptr_array_add(a, NULL);
        *ret = (char **) g_ptr_array_free(g_steal_pointer(&a), FALSE);
        return 0;
}

const char *registry_config_get_ca_file(const RegistryConfig *c, const char *domain)
{
        RegistryEntry *e = lookup_entry(c, domain);
        return e ? e->ca_file : NULL;
}

const char *registry_config_get_search_url(const RegistryConfig *c, const char *domain)
{
        _cleanup_free_ char *d = NULL;
        RegistryEntry *e;

        if (registry_normalize_domain(domain, &d) < 0)
                return NULL;
        e = lookup_entry(c, d);
        if (e && e->search_url)
                return e->search_url;
        if (streq(d, REGISTRY_DOCKER_IO))
                return "https://index.docker.io/v1/search";
        return NULL;
}

int registry_config_get_credentials(const RegistryConfig *c, const char *host, const char **ret_username,
                                    const char **ret_password)
{
        _cleanup_free_ char *d = NULL;
        int r;

        if (!c || !host)
                return -EINVAL;
        r = registry_normalize_domain(host, &d);
        if (r < 0)
                return r;

        for (size_t i = 0; i < c->n_auths; i++)
                if (c->auths[i].server && streq(c->auths[i].server, d)) {
                        if (ret_username)
                                *ret_username = c->auths[i].username;
                        if (ret_password)
                                *ret_password = c->auths[i].password;
                        return 0;
                }
        return -ENOENT;
}
