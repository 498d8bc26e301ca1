/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "network/aardvark.h"
#include "network/subnet.h"
#include "network/subnet6.h"
#include "shared/macro.h"

static bool field_is_valid(const char *s)
{
        return !isempty(s) && !strpbrk(s, ", \n\t");
}

static bool append_list(GString *s, char **l)
{
        STRV_FOREACH (i, l) {
                if (!field_is_valid(*i))
                        return false;
                if (i != l)
                        g_string_append_c(s, ',');
                g_string_append(s, *i);
        }
        return true;
}

char *aardvark_config_generate(uint32_t gateway, const AardvarkEntry *entries, size_t n)
{
        g_autoptr(GString) s = g_string_new(NULL);
        char a[INET_ADDRSTRLEN];

        g_string_append_printf(s, "%s\n", ipv4_format(gateway, a));
        for (size_t i = 0; i < n; i++) {
                const AardvarkEntry *e = &entries[i];

                if (!field_is_valid(e->id) || !e->names || !e->names[0])
                        return NULL;
                g_string_append_printf(s, "%s %s ", e->id, ipv4_format(e->address, a));
                if (e->address6) {
                        char a6[INET6_ADDRSTRLEN];

                        g_string_append(s, ipv6_format(e->address6, a6));
                }
                g_string_append_c(s, ' ');
                if (!append_list(s, e->names))
                        return NULL;
                if (e->dns_servers && e->dns_servers[0]) {
                        g_string_append_c(s, ' ');
                        if (!append_list(s, e->dns_servers))
                                return NULL;
                }
                g_string_append_c(s, '\n');
        }
        return g_string_free(g_steal_pointer(&s), false);
}

const char *aardvark_dns_path(void)
{
        static const char *const paths[] = { "/usr/lib/podman/aardvark-dns",
                                             "/usr/libexec/podman/aardvark-dns", NULL };

        for (const char *const *p = paths; *p; p++)
                if (access(*p, X_OK) == 0)
                        return *p;
        return NULL;
}
