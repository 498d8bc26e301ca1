/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/machine.h"
#include "shared/log.h"

/* Registration with systemd-machined, best effort throughout: every call is asynchronous, every failure is
 * logged at debug level and changes nothing about the container. Where machined is not installed the bus
 * answers ServiceUnknown at once; where it is, the first call activates it.
 *
 * machined attaches the machine to the unit the leader's cgroup belongs to, berth-<name>.scope, and forgets
 * it when that unit goes. berth drops it itself as well when the container ends, so that no stale machine is
 * listed after StopContainer has returned; but only a machine it knows to be its own
 * (c->machine_registered), never another one that happens to carry the same name. The flag is not persisted:
 * after a daemon restart, manager_adopt_machines() asks machined which machine, if any, holds the leader,
 * and registers one if none does (machined may have been absent when the container started). */

#define MACHINED_NAME    "org.freedesktop.machine1"
#define MACHINED_PATH    "/org/freedesktop/machine1"
#define MACHINED_MANAGER "org.freedesktop.machine1.Manager"

/* What a reply needs to find its container again: it may have been removed while the call was on the bus. */
typedef struct MachineCall {
        Manager *manager;
        char id[65];
        pid_t leader;
        char name[MACHINE_NAME_MAX + 1]; /* the machine's */
} MachineCall;

/* A scope must not be started under a machine's name while machined may still hold a machine of that name
 * from an earlier run. machined collects a machine whose unit has gone by sending StopUnit for the unit's
 * *name*; landing after the next run's scope of the same name has started, that stop would end the new
 * container. Once machined has answered UnregisterMachine, it never stops that machine's unit (its
 * finalize sends nothing to systemd); so berthd counts, per name (m->machine_calls), its calls in flight
 * whose answer may leave it such a machine to drop (RegisterMachine, the adoption's GetMachineByPID) or
 * drops one (UnregisterMachine), and a start waits for the count to reach 0 (container_start_scope()). A
 * machine whose container ended before the answer came is unregistered then. */
bool manager_machine_busy(Manager *m, const char *name)
{
        char machine[MACHINE_NAME_MAX + 1];

        return container_machine_name(name, machine) >= 0 &&
               g_hash_table_contains(m->machine_calls, machine);
}

static void machine_calls_begin(Manager *m, const char *name)
{
        gpointer n = g_hash_table_lookup(m->machine_calls, name);

        g_hash_table_replace(m->machine_calls, g_strdup(name), GUINT_TO_POINTER(GPOINTER_TO_UINT(n) + 1));
}

static void machine_calls_end(Manager *m, const char *name)
{
        unsigned n = GPOINTER_TO_UINT(g_hash_table_lookup(m->machine_calls, name));

        if (n > 1) {
                g_hash_table_replace(m->machine_calls, g_strdup(name), GUINT_TO_POINTER(n - 1));
                return;
        }
        g_hash_table_remove(m->machine_calls, name);
        containers_machine_settled(m, name);
}

static void machine_call_free(void *p)
{
        free(p);
}

/* The container this call was made for, if it still exists and still runs the same leader. */
static Container *machine_call_container(const MachineCall *call)
{
        Container *c = g_hash_table_lookup(call->manager->containers, call->id);

        return c && c->state.pid == call->leader ? c : NULL;
}

int container_machine_name(const char *name, char ret[static MACHINE_NAME_MAX + 1])
{
        size_t n = strlen(name);

        /* machined takes hostnames only: letters, digits, '-' and '.', no leading, trailing or double dot.
         */
        if (n == 0 || n > MACHINE_NAME_MAX || name[0] == '.' || name[n - 1] == '.' || strstr(name, ".."))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (!g_ascii_isalnum(name[i]) && name[i] != '-' && name[i] != '.' && name[i] != '_')
                        return -EINVAL;
                /* Docker-style generated names are adjective_noun. */
                ret[i] = name[i] == '_' ? '-' : name[i];
        }
        ret[n] = 0;
        return 0;
}

static int machine_call_async(Manager *manager, const char *id, pid_t leader, const char *name,
                              const char *member, sd_bus_message_handler_t handler, sd_bus_message *m)
{
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        MachineCall *call;
        int r;

        call = calloc(1, sizeof(*call));
        if (!call)
                return -ENOMEM;
        call->manager = manager;
        call->leader = leader;
        g_strlcpy(call->id, id, sizeof(call->id));
        g_strlcpy(call->name, name, sizeof(call->name));
        /* sd-bus's default timeout (25 s) bounds a start's wait for a machined that does not answer. */
        r = sd_bus_call_async(manager->bus, &slot, m, handler, call, 0);
        if (r < 0) {
                free(call);
                return log_debug_errno(r, "Failed to call %s of systemd-machined for %s: %m", member, name);
        }
        /* The slot lives as long as the call; the bus frees it, and the call with it, once answered. */
        (void) sd_bus_slot_set_destroy_callback(slot, machine_call_free);
        return sd_bus_slot_set_floating(slot, 1);
}

static int on_unregistered(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        const MachineCall *call = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        /* NoSuchMachine when machined saw the scope go first. */
        if (e)
                log_debug("Container %s not unregistered from systemd-machined: %s", call->id,
                          e->message ?: e->name);
        machine_calls_end(call->manager, call->name);
        return 0;
}

static void machine_unregister(Manager *manager, const char *id, const char *name)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(manager->bus, &m, MACHINED_NAME, MACHINED_PATH, MACHINED_MANAGER,
                                           "UnregisterMachine");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = machine_call_async(manager, id, 0, name, "UnregisterMachine", on_unregistered, m);
        if (r < 0) {
                log_debug_errno(r, "Failed to unregister machine %s from systemd-machined: %m", name);
                return;
        }
        machine_calls_begin(manager, name);
}

static int on_registered(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        const MachineCall *call = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        Container *c = machine_call_container(call);

        if (e)
                log_debug("Container %s not registered with systemd-machined: %s", call->id,
                          e->message ?: e->name);
        else if (c)
                c->machine_registered = true;
        else
                /* It ended while the call was on the bus: drop the machine now, before its name is free. */
                machine_unregister(call->manager, call->id, call->name);
        machine_calls_end(call->manager, call->name);
        return 0;
}

void container_register_machine(Container *c)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        char name[MACHINE_NAME_MAX + 1];
        uint8_t id[16];
        int r;

        if (!c->manager->bus || c->state.pid <= 0)
                return;
        if (container_machine_name(container_run_name(c), name) < 0) {
                log_debug("Container name %s is not a valid machine name, not registering it.", c->name);
                return;
        }
        /* The machine id is the first 128 bits of the container id. */
        for (size_t i = 0; i < sizeof(id); i++)
                sscanf(c->id + 2 * i, "%2hhx", &id[i]);
        r = sd_bus_message_new_method_call(c->manager->bus, &m, MACHINED_NAME, MACHINED_PATH,
                                           MACHINED_MANAGER, "RegisterMachine");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', id, sizeof(id));
        /* No root directory: the container's root is mounted in its own mount namespace only. The unit is
         * the one the leader is in, which machined finds itself. */
        if (r >= 0)
                r = sd_bus_message_append(m, "ssus", "berth", "container", (uint32_t) c->state.pid, "");
        if (r >= 0)
                r = machine_call_async(c->manager, c->id, c->state.pid, name, "RegisterMachine",
                                       on_registered, m);
        if (r < 0) {
                log_debug_errno(r, "Failed to register container %s with systemd-machined: %m", c->name);
                return;
        }
        machine_calls_begin(c->manager, name);
}

/* Whether machined's answer names the machine berthd registers under call->name. */
static bool machine_path_is_ours(sd_bus_message *reply, const MachineCall *call)
{
        _cleanup_free_ char *ours = NULL;
        const char *path;

        return sd_bus_message_read(reply, "o", &path) >= 0 &&
               sd_bus_path_encode("/org/freedesktop/machine1/machine", call->name, &ours) >= 0 &&
               streq(path, ours);
}

static int on_machine_by_pid(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        const MachineCall *call = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        Container *c = machine_call_container(call);

        if (!e && c)
                /* A machine for the leader's unit, which is this container's scope: the one registered
                 * before the restart. */
                c->machine_registered = true;
        else if (!e && machine_path_is_ours(reply, call))
                /* The container ended while the question was on the bus: its machine goes now, before its
                 * name is free for the next run (machine_calls_begin()). */
                machine_unregister(call->manager, call->id, call->name);
        else if (c && sd_bus_error_has_name(e, "org.freedesktop.machine1.NoMachineForPID"))
                container_register_machine(c);
        else if (e)
                log_debug("Not looking up container %s in systemd-machined: %s", call->id,
                          e->message ?: e->name);
        machine_calls_end(call->manager, call->name);
        return 0;
}

static void container_adopt_machine(Container *c)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        char name[MACHINE_NAME_MAX + 1];
        int r;

        if (container_machine_name(container_run_name(c), name) < 0)
                return; /* none was registered, none can be */
        r = sd_bus_message_new_method_call(c->manager->bus, &m, MACHINED_NAME, MACHINED_PATH,
                                           MACHINED_MANAGER, "GetMachineByPID");
        if (r >= 0)
                r = sd_bus_message_append(m, "u", (uint32_t) c->state.pid);
        if (r >= 0)
                r = machine_call_async(c->manager, c->id, c->state.pid, name, "GetMachineByPID",
                                       on_machine_by_pid, m);
        if (r < 0) {
                log_debug_errno(r, "Failed to look up container %s in systemd-machined: %m", c->name);
                return;
        }
        machine_calls_begin(c->manager, name);
}

void manager_adopt_machines(Manager *m)
{
        GHashTableIter iter;
        gpointer value;

        if (!m->bus)
                return;
        g_hash_table_iter_init(&iter, m->containers);
        while (g_hash_table_iter_next(&iter, NULL, &value)) {
                Container *c = value;

                if (c->monitor_source && c->state.status == CONTAINER_RUNNING && c->state.pid > 0)
                        container_adopt_machine(c);
        }
}

void container_unregister_machine(Container *c)
{
        char name[MACHINE_NAME_MAX + 1];

        if (!c->machine_registered)
                return;
        c->machine_registered = false;
        if (c->manager->bus && container_machine_name(container_run_name(c), name) >= 0)
                machine_unregister(c->manager, c->id, name);
}
