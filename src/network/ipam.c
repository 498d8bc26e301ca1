/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "network/ipam.h"
#include "shared/macro.h"

struct Ipam {
        Subnet subnet;
        uint32_t gateway;       /* never handed out (the first host too) */
        GHashTable *by_id;      /* id (owned) → address (GUINT_TO_POINTER) */
        GHashTable *by_address; /* address → id (borrowed from by_id) */
};

Ipam *ipam_new(const Subnet *subnet)
{
        Ipam *ipam = g_new0(Ipam, 1);

        ipam->subnet = *subnet;
        ipam->gateway = subnet_first_host(subnet);
        ipam->by_id = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        ipam->by_address = g_hash_table_new(g_direct_hash, g_direct_equal);
        return ipam;
}

Ipam *ipam_free(Ipam *ipam)
{
        if (!ipam)
                return NULL;
        g_hash_table_destroy(ipam->by_address);
        g_hash_table_destroy(ipam->by_id);
        g_free(ipam);
        return NULL;
}

static bool usable(const Ipam *ipam, uint32_t a)
{
        return a > subnet_first_host(&ipam->subnet) && a <= subnet_last_host(&ipam->subnet) &&
               a != ipam->gateway;
}

void ipam_set_gateway(Ipam *ipam, uint32_t gateway)
{
        ipam->gateway = gateway;
}

static void put(Ipam *ipam, const char *id, uint32_t a)
{
        char *key = g_strdup(id);

        g_hash_table_insert(ipam->by_id, key, GUINT_TO_POINTER(a));
        g_hash_table_insert(ipam->by_address, GUINT_TO_POINTER(a), key);
}

static bool id_is_valid(const char *id)
{
        return !isempty(id) && strlen(id) <= 64 && strspn(id, "0123456789abcdef") == strlen(id);
}

int ipam_parse(Ipam *ipam, const char *text, unsigned *ret_dropped)
{
        g_auto(GStrv) lines = g_strsplit(strempty(text), "\n", -1);
        unsigned dropped = 0;

        STRV_FOREACH (l, lines) {
                g_auto(GStrv) f = NULL;
                uint32_t a;

                /* Blank lines, and the spaces that pad a file written with a spare, are nothing. */
                if (isempty(g_strstrip(*l)))
                        continue;
                f = g_strsplit(*l, " ", 3);
                if (g_strv_length(f) != 2 || ipv4_parse(f[0], &a) < 0 || !usable(ipam, a) ||
                    !id_is_valid(f[1]) || g_hash_table_contains(ipam->by_id, f[1]) ||
                    g_hash_table_contains(ipam->by_address, GUINT_TO_POINTER(a))) {
                        dropped++;
                        continue;
                }
                put(ipam, f[1], a);
        }
        if (ret_dropped)
                *ret_dropped = dropped;
        return 0;
}

static gint compare_address(gconstpointer a, gconstpointer b)
{
        uint32_t x = GPOINTER_TO_UINT(a), y = GPOINTER_TO_UINT(b);

        return x < y ? -1 : x > y;
}

char *ipam_format(const Ipam *ipam)
{
        GString *s = g_string_new(NULL);
        GList *keys = g_list_sort(g_hash_table_get_keys(ipam->by_address), compare_address);

        for (GList *k = keys; k; k = k->next) {
                char buf[INET_ADDRSTRLEN];

                g_string_append_printf(s, "%s %s\n", ipv4_format(GPOINTER_TO_UINT(k->data), buf),
                                       (const char *) g_hash_table_lookup(ipam->by_address, k->data));
        }
        g_list_free(keys);
        return g_string_free(s, false);
}

int ipam_lookup(const Ipam *ipam, const char *id, uint32_t *ret)
{
        gpointer v;

        if (!g_hash_table_lookup_extended(ipam->by_id, id, NULL, &v))
                return -ENOENT;
        if (ret)
                *ret = GPOINTER_TO_UINT(v);
        return 0;
}

int ipam_allocate(Ipam *ipam, const char *id, uint32_t *ret)
{
        uint32_t last = subnet_last_host(&ipam->subnet);

        if (!id_is_valid(id))
                return -EINVAL;
        if (ipam_lookup(ipam, id, ret) >= 0)
                return 0;
        /* Lowest free first, as Docker and podman do: a /16 has room for 65533 containers, so a linear walk
         * costs little next to a container start, and addresses stay small and predictable. */
        for (uint32_t a = subnet_first_host(&ipam->subnet) + 1; a <= last; a++) {
                if (a == ipam->gateway || g_hash_table_contains(ipam->by_address, GUINT_TO_POINTER(a)))
                        continue;
                put(ipam, id, a);
                *ret = a;
                return 0;
        }
        return -EADDRNOTAVAIL;
}

int ipam_allocate_address(Ipam *ipam, const char *id, uint32_t address)
{
        const char *holder;
        uint32_t had;

        if (!id_is_valid(id) || !usable(ipam, address))
                return -EINVAL;
        if (ipam_lookup(ipam, id, &had) >= 0)
                return had == address ? 0 : -EEXIST;
        holder = g_hash_table_lookup(ipam->by_address, GUINT_TO_POINTER(address));
        if (holder)
                return -EADDRINUSE;
        put(ipam, id, address);
        return 0;
}

bool ipam_release(Ipam *ipam, const char *id)
{
        uint32_t a;

        if (ipam_lookup(ipam, id, &a) < 0)
                return false;
        g_hash_table_remove(ipam->by_address, GUINT_TO_POINTER(a));
        g_hash_table_remove(ipam->by_id, id);
        return true;
}

const char **ipam_ids(const Ipam *ipam)
{
        return (const char **) g_hash_table_get_keys_as_array(ipam->by_id, NULL);
}

unsigned ipam_size(const Ipam *ipam)
{
        return g_hash_table_size(ipam->by_id);
}
