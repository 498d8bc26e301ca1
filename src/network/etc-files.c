/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <string.h>

#include "network/etc-files.h"
#include "shared/fs-util.h"
#include "shared/macro.h"

#define RESOLV_CONF_MAX (64 * 1024)

static bool address_is_valid(const char *s)
{
        unsigned char buf[sizeof(struct in6_addr)];

        return !isempty(s) && (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

static bool hostname_is_valid(const char *s)
{
        size_t n = strlen(strempty(s));

        if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-' || s[n - 1] == '.')
                return false;
        for (const char *p = s; *p; p++)
                if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.' && *p != '_')
                        return false;
        return strstr(s, "..") == NULL;
}

bool dns_server_is_valid(const char *s)
{
        return address_is_valid(s);
}

bool dns_search_is_valid(const char *s)
{
        return streq_ptr(s, ".") || hostname_is_valid(s);
}

int add_host_parse(const char *s, char **ret_name, char **ret_address)
{
        const char *colon = s ? strchr(s, ':') : NULL;
        _cleanup_free_ char *name = NULL;

        if (!colon)
                return -EINVAL;
        name = g_strndup(s, colon - s);
        if (!hostname_is_valid(name) || !address_is_valid(colon + 1))
                return -EINVAL;
        if (ret_address)
                *ret_address = g_strdup(colon + 1);
        if (ret_name)
                *ret_name = TAKE_PTR(name);
        return 0;
}

char *etc_hosts_generate(const char *hostname, const char *address, char **add_hosts)
{
        GString *s = g_string_new("127.0.0.1\tlocalhost\n"
                                  "::1\tlocalhost ip6-localhost ip6-loopback\n");

        g_string_append_printf(s, "%s\t%s\n", address ?: "127.0.1.1", hostname);
        STRV_FOREACH (h, add_hosts) {
                _cleanup_free_ char *name = NULL, *addr = NULL;

                if (add_host_parse(*h, &name, &addr) >= 0)
                        g_string_append_printf(s, "%s\t%s\n", addr, name);
        }
        return g_string_free(s, false);
}

static bool is_loopback(const char *a)
{
        return g_str_has_prefix(a, "127.") || streq(a, "::1");
}

typedef struct Resolv {
        GPtrArray *nameservers, *search, *options;
} Resolv;

static void resolv_parse(const char *text, Resolv *r)
{
        g_auto(GStrv) lines = g_strsplit(strempty(text), "\n", -1);

        STRV_FOREACH (l, lines) {
                g_auto(GStrv) f = g_strsplit_set(g_strstrip(*l), " \t", -1);
                guint n = 0;

                /* g_strsplit_set() leaves empty fields between runs of blanks: squeeze them out. */
                for (guint i = 0; f[i]; i++)
                        if (*f[i])
                                f[n++] = f[i];
                        else
                                g_free(f[i]);
                f[n] = NULL;
                if (n < 2 || f[0][0] == '#' || f[0][0] == ';')
                        continue;
                if (streq(f[0], "nameserver") && address_is_valid(f[1]))
                        g_ptr_array_add(r->nameservers, g_strdup(f[1]));
                else if (streq(f[0], "search") || streq(f[0], "domain")) {
                        /* The last search or domain line wins, as in resolv.conf(5). */
                        g_ptr_array_set_size(r->search, 0);
                        for (guint i = 1; i < n; i++)
                                g_ptr_array_add(r->search, g_strdup(f[i]));
                } else if (streq(f[0], "options"))
                        for (guint i = 1; i < n; i++)
                                g_ptr_array_add(r->options, g_strdup(f[i]));
        }
}

static void resolv_init(Resolv *r)
{
        r->nameservers = g_ptr_array_new_with_free_func(g_free);
        r->search = g_ptr_array_new_with_free_func(g_free);
        r->options = g_ptr_array_new_with_free_func(g_free);
}

static void resolv_done(Resolv *r)
{
        g_ptr_array_unref(r->nameservers);
        g_ptr_array_unref(r->search);
        g_ptr_array_unref(r->options);
}

char *resolv_conf_generate(const char *host, const char *resolved, bool loopback_ok, char **dns,
                           char **dns_search)
{
        _cleanup_(resolv_done) Resolv r = {};
        GString *s = g_string_new(NULL);

        resolv_init(&r);
        resolv_parse(host, &r);
        if (resolved && r.nameservers->len == 1 && streq(r.nameservers->pdata[0], "127.0.0.53")) {
                /* systemd-resolved's stub listens on the host's loopback only: hand the container the
                 * servers resolved itself uses (Docker does the same). */
                resolv_done(&r);
                resolv_init(&r);
                resolv_parse(resolved, &r);
        }
        if (dns && dns[0]) {
                g_ptr_array_set_size(r.nameservers, 0);
                STRV_FOREACH (d, dns)
                        g_ptr_array_add(r.nameservers, g_strdup(*d));
        } else if (!loopback_ok) {
                for (guint i = r.nameservers->len; i > 0; i--)
                        if (is_loopback(r.nameservers->pdata[i - 1]))
                                g_ptr_array_remove_index(r.nameservers, i - 1);
                if (r.nameservers->len == 0) {
                        g_ptr_array_add(r.nameservers, g_strdup("8.8.8.8"));
                        g_ptr_array_add(r.nameservers, g_strdup("8.8.4.4"));
                }
        }
        if (dns_search && dns_search[0]) {
                g_ptr_array_set_size(r.search, 0);
                STRV_FOREACH (d, dns_search)
                        if (!streq(*d, "."))
                                g_ptr_array_add(r.search, g_strdup(*d));
        }

        for (guint i = 0; i < r.nameservers->len; i++)
                g_string_append_printf(s, "nameserver %s\n", (const char *) r.nameservers->pdata[i]);
        if (r.search->len > 0) {
                g_string_append(s, "search");
                for (guint i = 0; i < r.search->len; i++)
                        g_string_append_printf(s, " %s", (const char *) r.search->pdata[i]);
                g_string_append_c(s, '\n');
        }
        if (r.options->len > 0) {
                g_string_append(s, "options");
                for (guint i = 0; i < r.options->len; i++)
                        g_string_append_printf(s, " %s", (const char *) r.options->pdata[i]);
                g_string_append_c(s, '\n');
        }
        return g_string_free(s, false);
}

int resolv_conf_for_container(bool loopback_ok, char **dns, char **dns_search, char **ret)
{
        _cleanup_free_ char *host = NULL, *resolved = NULL;
        size_t size;

        /* A host without /etc/resolv.conf resolves nothing; the container then gets the fallback. */
        if (read_file_at(AT_FDCWD, "/etc/resolv.conf", RESOLV_CONF_MAX, &host, &size) < 0)
                host = mfree(host);
        if (read_file_at(AT_FDCWD, "/run/systemd/resolve/resolv.conf", RESOLV_CONF_MAX, &resolved, &size) <
            0)
                resolved = mfree(resolved);
        *ret = resolv_conf_generate(host, resolved, loopback_ok, dns, dns_search);
        return 0;
}
