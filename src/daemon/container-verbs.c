/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "daemon/container-dbus.h"
#include "daemon/container-monitor.h"
#include "daemon/container-verbs.h"
#include "daemon/container.h"
#include "daemon/scope.h"
#include "network/rtnl.h"
#include "shared/berth-unit.h"
#include "shared/log.h"

/* The verbs that act on a running container's whole scope or chain the others: pause and unpause through
 * systemd's freezer, restart (a stop, then a start when the monitor is gone), wait. */

typedef struct PauseCall {
        Manager *manager;
        char *id;
        bool freeze;
        sd_bus_message *call;
} PauseCall;

static void on_freeze_done(void *userdata, const BerthError *e)
{
        PauseCall *p = userdata;
        Container *c;

        /* The container may have gone meanwhile; it is found again by id. */
        if (!e && manager_find_container(p->manager, p->id, NULL, &c) >= 0 && c->monitor_source) {
                c->paused = p->freeze;
                container_emit_changed(c);
                log_info("Container %s %s.", c->name, p->freeze ? "paused" : "unpaused");
        }
        if (p->call)
                container_send_pause_reply(p->call, e);
        sd_bus_message_unref(p->call);
        free(p->id);
        free(p);
}

int container_pause(Container *c, bool freeze, sd_bus_message *reply_to)
{
        _cleanup_free_ char *unit = NULL, *cgroup = NULL;
        PauseCall *p;
        int r;

        if (!c->monitor_source || c->starting || c->state.status != CONTAINER_RUNNING)
                return -ESRCH;
        if (c->paused == freeze)
                return freeze ? -EALREADY : -ENOTCONN;
        unit = container_scope_unit(c);
        p = calloc(1, sizeof(*p));
        if (!unit || !p) {
                free(p);
                return -ENOMEM;
        }
        *p = (PauseCall){ .manager = c->manager,
                          .id = strdup(c->id),
                          .freeze = freeze,
                          .call = sd_bus_message_ref(reply_to) };
        r = container_scope_cgroup(c, &cgroup);
        if (r < 0)
                log_debug_errno(
                        r,
                        "Cannot find the cgroup of container %s, taking systemd's word on its freezer: %m",
                        c->name);
        r = scope_freeze(c->manager->bus, unit, cgroup, freeze, on_freeze_done, p);
        if (r < 0) {
                sd_bus_message_unref(p->call);
                free(p->id);
                free(p);
        }
        return r;
}

void container_thaw_for_signal(Container *c)
{
        _cleanup_free_ char *unit = NULL;

        /* A frozen init cannot act on its stop signal (nor die of SIGKILL) until thawed. */
        if (!c->paused)
                return;
        unit = container_scope_unit(c);
        if (unit && scope_freeze(c->manager->bus, unit, NULL, false, NULL, NULL) >= 0)
                c->paused = false;
}

int container_restart(Container *c, uint64_t timeout_usec, sd_bus_message *reply_to)
{
        if (!c->monitor_source)
                return container_start(c, reply_to);
        if (c->removing)
                return -ESHUTDOWN;
        if (reply_to)
                g_ptr_array_add(c->restart_waiters, sd_bus_message_ref(reply_to));
        return container_stop(c, timeout_usec, NULL) < 0 ? -EIO : 1;
}

void container_restart_pending(Container *c)
{
        g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(bus_message_unref_destroy);

        while (c->restart_waiters->len > 0)
                g_ptr_array_add(list, g_ptr_array_steal_index(c->restart_waiters, 0));
        if (list->len == 0)
                return;
        log_info("Restarting container %s.", c->name);
        /* The first call starts it; the others join its start waiters. A failure answers them all. */
        for (guint i = 0; i < list->len; i++)
                (void) container_start(c, list->pdata[i]);
}

int container_wait(Container *c, sd_bus_message *reply_to)
{
        if (!c->monitor_source) {
                container_send_exit_reply(reply_to, c->state.exit_code, NULL);
                return 1;
        }
        g_ptr_array_add(c->exit_waiters, sd_bus_message_ref(reply_to));
        return 1;
}

static void on_properties_set(void *userdata, const BerthError *e)
{
        sd_bus_message *call = userdata;

        container_send_pause_reply(call, e);
        sd_bus_message_unref(call);
}

int container_update(Container *c, const char *update, sd_bus_message *reply_to)
{
        _cleanup_free_ char *merged = NULL, *unit = NULL;
        char *old;
        int r;

        /* Nothing to set (an Update with options only): systemd is not asked, since with a container that is
         * exiting its scope may be gone already. */
        if (streq(update, "[]")) {
                container_send_pause_reply(reply_to, NULL);
                return 1;
        }
        r = scope_properties_merge(c->properties_json, update, &merged);
        if (r < 0)
                return r;
        old = c->properties_json;
        c->properties_json = merged;
        r = container_save_record(c);
        if (r < 0) {
                c->properties_json = old;
                return r;
        }
        merged = old; /* freed */
        log_info("Container %s updated: %s.", c->name, update);
        if (!c->monitor_source || c->starting) {
                /* A start under way took the old ones: the next one takes these. */
                container_send_pause_reply(reply_to, NULL);
                return 1;
        }
        unit = container_scope_unit(c);
        if (!unit)
                return -ENOMEM;
        r = scope_set_properties(c->manager->bus, unit, update, on_properties_set,
                                 sd_bus_message_ref(reply_to));
        if (r < 0)
                sd_bus_message_unref(reply_to);
        return r < 0 ? r : 1;
}

int container_set_remove_on_exit(Container *c, bool on)
{
        bool old = c->config.remove_on_exit;
        int r;

        if (on && !isempty(c->config.restart) && !streq(c->config.restart, "no"))
                return -EINVAL;
        c->config.remove_on_exit = on;
        r = container_save_record(c);
        if (r < 0) {
                c->config.remove_on_exit = old;
                return r;
        }
        c->remove_on_exit = on || c->removing;
        if (on && !c->monitor_source && !c->starting && c->state.status == CONTAINER_EXITED) {
                (void) container_remove_on_exit(c);
                return 1;
        }
        return 0;
}

static void on_processes(void *userdata, const BerthError *e, const ScopeProcess *p, size_t n)
{
        sd_bus_message *call = userdata;
        g_autoptr(GPtrArray) commands = g_ptr_array_new();
        g_autoptr(GArray) pids = g_array_new(false, false, sizeof(uint32_t));

        /* berth-monitor sits in the scope's "supervisor" child cgroup: it is berth's, not the container's.
         */
        for (size_t i = 0; !e && i < n; i++) {
                uint32_t pid = (uint32_t) p[i].pid;

                if (g_str_has_suffix(p[i].cgroup, "/supervisor"))
                        continue;
                g_array_append_val(pids, pid);
                g_ptr_array_add(commands, (gpointer) p[i].cmdline);
        }
        container_send_top_reply(call, e, (const uint32_t *) pids->data,
                                 (const char *const *) commands->pdata, pids->len);
        sd_bus_message_unref(call);
}

int container_top(Container *c, sd_bus_message *reply_to)
{
        _cleanup_free_ char *unit = NULL;
        int r;

        if (!c->monitor_source || c->starting || c->state.status != CONTAINER_RUNNING)
                return -ESRCH;
        unit = container_scope_unit(c);
        if (!unit)
                return -ENOMEM;
        r = scope_get_processes(c->manager->bus, unit, on_processes, sd_bus_message_ref(reply_to));
        if (r < 0)
                sd_bus_message_unref(reply_to);
        return r < 0 ? r : 1;
}

typedef struct StatsCall {
        sd_bus_message *call;
        uint64_t net_rx, net_tx;
} StatsCall;

static void on_stats(void *userdata, sd_bus_message *systemd_reply)
{
        StatsCall *s = userdata;

        container_send_stats_reply(s->call, systemd_reply, s->net_rx, s->net_tx);
        sd_bus_message_unref(s->call);
        free(s);
}

/* The bytes its network namespace's links (loopback aside) received and sent, as docker stats's NET I/O:
 * asked through rtnetlink inside the namespace, entered through the init's pidfd (so never another
 * process's). UINT64_MAX when it has none of its own (host network) or it cannot be asked. */
static void container_net_io(Container *c, uint64_t *ret_rx, uint64_t *ret_tx)
{
        _cleanup_(rtnl_closep) Rtnl *nl = NULL;
        int r;

        *ret_rx = *ret_tx = UINT64_MAX;
        if (streq_ptr(c->config.network, "host") || c->init_pidfd < 0)
                return;
        r = rtnl_open(c->init_pidfd, &nl);
        if (r >= 0)
                r = rtnl_link_stats_sum(nl, ret_rx, ret_tx);
        if (r < 0)
                log_debug_errno(r, "Cannot read the network counters of %s: %m", c->name);
}

int container_get_stats(Container *c, sd_bus_message *reply_to)
{
        _cleanup_free_ char *unit = NULL;
        StatsCall *s;
        int r;

        if (!c->monitor_source || c->starting || c->state.status != CONTAINER_RUNNING)
                return -ESRCH;
        unit = container_scope_unit(c);
        s = calloc(1, sizeof(*s));
        if (!unit || !s) {
                free(s);
                return -ENOMEM;
        }
        s->call = sd_bus_message_ref(reply_to);
        container_net_io(c, &s->net_rx, &s->net_tx);
        r = scope_get_stats(c->manager->bus, unit, on_stats, s);
        if (r < 0) {
                sd_bus_message_unref(s->call);
                free(s);
        }
        return r < 0 ? r : 1;
}

int container_rename(Container *c, const char *new_name)
{
        _cleanup_free_ char *old = NULL;
        char *name;
        int r;

        /* A start in flight names its scope from c->name at several steps. */
        if (c->starting)
                return -EBUSY;
        name = strdup(new_name);
        if (!name)
                return -ENOMEM;
        old = c->name;
        c->name = name;
        r = container_save_record(c);
        if (r < 0) {
                c->name = TAKE_PTR(old);
                free(name);
                return r;
        }
        /* A running container's scope, machine and monitor keep the name they started with (a unit cannot be
         * renamed) until it stops: c->run_name says which it is. */
        if (c->monitor_source && !c->run_name)
                c->run_name = strdup(old);
        else if (c->run_name && streq(c->run_name, name))
                c->run_name = mfree(c->run_name);
        /* Its object path is its name: to bus clients the old object goes and a new one comes. */
        c->name = old;
        container_send_signal(c, false);
        c->name = name;
        container_send_signal(c, true);
        log_info("Container %.12s renamed from %s to %s%s%s%s.", c->id, old, name,
                 c->run_name ? " (its scope stays " : "", c->run_name ? c->run_name : "",
                 c->run_name ? " until it stops)" : "");
        return 0;
}
