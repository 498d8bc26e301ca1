/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/container-cni.h"
#include "daemon/container.h"
#include "daemon/network-dns.h"
#include "daemon/network.h"
#include "network/aardvark.h"
#include "network/bridge.h"
#include "shared/fs-util.h"
#include "shared/log.h"
#include "shared/signal-util.h"

#define AARDVARK_PID_FILE "aardvark.pid"
/* Port 53 on each gateway: what the containers' resolv.conf names. */
#define AARDVARK_PORT "53"

bool manager_dns_available(void)
{
        return aardvark_dns_path() != NULL;
}

/* The names of c on network: its name, its aliases there, its short id (as Docker's embedded DNS). */
static char **entry_names(const Container *c, const char *network)
{
        g_auto(GStrv) aliases = container_config_network_aliases(&c->config, network);
        g_autoptr(GPtrArray) l = g_ptr_array_new();

        g_ptr_array_add(l, g_strdup(c->name));
        STRV_FOREACH (a, aliases)
                g_ptr_array_add(l, g_strdup(*a));
        g_ptr_array_add(l, g_strndup(c->id, 12));
        g_ptr_array_add(l, NULL);
        return (char **) g_ptr_array_steal(l, NULL);
}

/* Writes path, aardvark-dns's config of network: entries served on gateway. With no entries, no gateway (0),
 * or a name aardvark-dns cannot take, removes it instead, so that no stale names are served. true when
 * written. */
static bool write_config(const char *path, const char *network, uint32_t gateway, const GArray *entries)
{
        _cleanup_free_ char *text = NULL;
        int r;

        if (entries->len > 0 && gateway != 0) {
                text = aardvark_config_generate(gateway, (const AardvarkEntry *) entries->data,
                                                entries->len);
                if (!text)
                        log_warning(
                                "Network %s: a name does not fit aardvark-dns's format: no names served.",
                                network);
        }
        if (!text) {
                if (unlink(path) < 0 && errno != ENOENT)
                        log_warning_errno(-errno, "Failed to remove '%s', ignoring: %m", path);
                return false;
        }
        r = write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644);
        if (r < 0) {
                log_warning_errno(r, "Failed to write '%s', ignoring: %m", path);
                return false;
        }
        return true;
}

/* Writes dir/<network> for the containers running on it; unlinks it when there are none. true when written.
 */
static bool write_network(Manager *m, const char *dir, const UserNetwork *n)
{
        BridgeNetwork *b = g_hash_table_lookup(m->network_bridges, n->name);
        g_autofree const char **ids = b ? bridge_network_ids(b) : NULL;
        g_autoptr(GArray) entries = g_array_new(false, true, sizeof(AardvarkEntry));
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func((GDestroyNotify) g_strfreev);
        g_autoptr(GPtrArray) addresses6 = g_ptr_array_new_with_free_func(g_free);
        _cleanup_free_ char *path = g_strdup_printf("%s/%s", dir, n->name);

        for (const char **id = ids; id && *id; id++) {
                Container *c = g_hash_table_lookup(m->containers, *id);
                AardvarkEntry e = { .id = *id };
                struct in6_addr *a6 = g_new(struct in6_addr, 1);

                g_ptr_array_add(addresses6, a6);
                if (!c || bridge_network_address(b, *id, &e.address) < 0)
                        continue;
                if (bridge_network_address6(b, *id, a6) >= 0)
                        e.address6 = a6;
                e.names = entry_names(c, n->name);
                g_ptr_array_add(names, e.names);
                e.dns_servers = c->config.dns;
                g_array_append_val(entries, e);
        }
        return write_config(path, n->name, b ? bridge_network_gateway(b) : 0, entries);
}

/* A CNI network (container-cni.c): its running containers' addresses from the recorded ADD results, served
 * on the results' gateway when that is an address of the host's (a bridge plugin with isGateway); a
 * network whose plugins put no gateway on the host (macvlan, say) gets no names. */
static bool write_cni_network(Manager *m, const char *dir, const UserNetwork *n)
{
        g_autoptr(GArray) entries = g_array_new(false, true, sizeof(AardvarkEntry));
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func((GDestroyNotify) g_strfreev);
        _cleanup_free_ char *path = g_strdup_printf("%s/%s", dir, n->name);
        uint32_t gateway = 0;
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, m->containers);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                Container *c = v;
                AardvarkEntry e = { .id = c->id };
                g_auto(GStrv) networks = NULL;
                uint32_t gw;

                if (!container_has_cni_networks(c))
                        continue;
                networks = container_config_networks(&c->config);
                if (!g_strv_contains((const char *const *) networks, n->name) ||
                    container_cni_address(c, n->name, &e.address, &gw) < 0 ||
                    (gateway != 0 && gw != gateway))
                        continue;
                gateway = gw;
                e.names = entry_names(c, n->name);
                g_ptr_array_add(names, e.names);
                e.dns_servers = c->config.dns;
                g_array_append_val(entries, e);
        }
        return write_config(path, n->name, gateway != 0 && host_has_ipv4(gateway) ? gateway : 0, entries);
}

/* Files of networks that are gone (removed while berthd was down, or just now). */
static void remove_stale(Manager *m, const char *dir)
{
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *f;

        while (d && (f = g_dir_read_name(d))) {
                _cleanup_free_ char *path = NULL;

                if (streq(f, AARDVARK_PID_FILE) || g_hash_table_contains(m->networks, f))
                        continue;
                path = g_strdup_printf("%s/%s", dir, f);
                (void) unlink(path);
        }
}

/* The running aardvark-dns of dir's pid file, 0 when there is none (a stale file, a recycled pid). */
static pid_t running_aardvark(const char *dir)
{
        _cleanup_free_ char *path = g_strdup_printf("%s/" AARDVARK_PID_FILE, dir), *text = NULL,
                            *comm = NULL, *comm_path = NULL;
        size_t size;
        gint64 pid;

        if (read_file_at(AT_FDCWD, path, 64, &text, &size) < 0)
                return 0;
        pid = g_ascii_strtoll(text, NULL, 10);
        if (pid <= 1 || pid > INT32_MAX)
                return 0;
        comm_path = g_strdup_printf("/proc/%" G_GINT64_FORMAT "/comm", pid);
        if (read_file_at(AT_FDCWD, comm_path, 64, &comm, &size) < 0 ||
            !g_str_has_prefix(comm, "aardvark-dns"))
                return 0;
        return (pid_t) pid;
}

/* aardvark-dns catches SIGHUP only once its server loop runs, a moment after it wrote its pid file; a SIGHUP
 * before that would end it. So wait (briefly: that moment is short) until /proc says it catches SIGHUP. */
static bool catches_sighup(pid_t pid)
{
        _cleanup_free_ char *path = g_strdup_printf("/proc/%d/status", (int) pid), *text = NULL;
        size_t size;
        const char *line;

        if (read_file_at(AT_FDCWD, path, 64 * 1024, &text, &size) < 0)
                return false;
        line = strstr(text, "\nSigCgt:");
        return line && (g_ascii_strtoull(line + strlen("\nSigCgt:"), NULL, 16) & (1ULL << (SIGHUP - 1)));
}

/* aardvark-dns forks, writes its pid file and only then lets its parent exit; the wait is that short. */
static int start_aardvark(const char *binary, const char *dir)
{
        int status;
        pid_t pid;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                reset_signals();
                execl(binary, "aardvark-dns", "--config", dir, "-p", AARDVARK_PORT, "run", (char *) NULL);
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return -EPROTO;
        return 0;
}

void manager_dns_update(Manager *m)
{
        const char *binary = aardvark_dns_path();
        _cleanup_free_ char *dir = NULL;
        GHashTableIter it;
        gpointer v;
        bool any = false;
        pid_t pid;
        int r;

        if (!binary)
                return;
        dir = g_strdup_printf("%s/dns", m->runtime_dir);
        r = mkdir_p_at(AT_FDCWD, dir, 0755);
        if (r < 0) {
                log_warning_errno(r, "Failed to create '%s', names on user networks are not served: %m",
                                  dir);
                return;
        }
        g_hash_table_iter_init(&it, m->networks);
        while (g_hash_table_iter_next(&it, NULL, &v))
                if (user_network_is_cni(v) ? write_cni_network(m, dir, v) : write_network(m, dir, v))
                        any = true;
        remove_stale(m, dir);

        pid = running_aardvark(dir);
        for (unsigned i = 0; pid > 0 && !catches_sighup(pid) && i < 1000; i++)
                (void) usleep(1000);
        if (pid > 0) {
                /* It reads every file again; with none left, it exits. */
                if (kill(pid, SIGHUP) < 0)
                        log_warning_errno(-errno, "Failed to signal aardvark-dns (%d), ignoring: %m",
                                          (int) pid);
                return;
        }
        if (!any)
                return;
        r = start_aardvark(binary, dir);
        if (r < 0)
                log_warning_errno(r, "Failed to start %s for names on user networks, ignoring: %m", binary);
        else
                log_info("Started aardvark-dns for names on user networks (%s).", dir);
}
