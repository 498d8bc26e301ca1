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
} MachineCall;

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

static int machine_call_async(Container *c, const char *member, sd_bus_message_handler_t handler,
                              sd_bus_message *m)
{
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        MachineCall *call;
        int r;

        call = calloc(1, sizeof(*call));
        if (!call)
                return -ENOMEM;
        call->manager = c->manager;
        call->leader = c->state.pid;
        g_strlcpy(call->id, c->id, sizeof(call->id));
        r = sd_bus_call_async(c->manager->bus, &slot, m, handler, call, 0);
        if (r < 0) {
                free(call);
                return log_debug_errno(r, "Failed to call %s of systemd-machined for %s: %m", member,
                                       c->name);
        }
        /* The slot lives as long as the call; the bus frees it, and the call with it, once answered. */
        (void) sd_bus_slot_set_destroy_callback(slot, machine_call_free);
        return sd_bus_slot_set_floating(slot, 1);
}

static int on_registered(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        const MachineCall *call = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        Container *c = machine_call_container(call);

        if (e) {
                log_debug("Container %s not registered with systemd-machined: %s", call->id,
                          e->message ?: e->name);
                return 0;
        }
        if (c)
                c->machine_registered = true;
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
                r = machine_call_async(c, "RegisterMachine", on_registered, m);
        if (r < 0)
                log_debug_errno(r, "Failed to register container %s with systemd-machined: %m", c->name);
}

static int on_machine_by_pid(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        const MachineCall *call = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        Container *c = machine_call_container(call);

        if (!c)
                return 0;
        if (!e) {
                /* A machine for the leader's unit, which is this container's scope: the one registered
                 * before the restart. */
                c->machine_registered = true;
                return 0;
        }
        if (sd_bus_error_has_name(e, "org.freedesktop.machine1.NoMachineForPID"))
                container_register_machine(c);
        else
                log_debug("Not looking up container %s in systemd-machined: %s", c->name,
                          e->message ?: e->name);
        return 0;
}

static void container_adopt_machine(Container *c)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(c->manager->bus, &m, MACHINED_NAME, MACHINED_PATH,
                                           MACHINED_MANAGER, "GetMachineByPID");
        if (r >= 0)
                r = sd_bus_message_append(m, "u", (uint32_t) c->state.pid);
        if (r >= 0)
                r = machine_call_async(c, "GetMachineByPID", on_machine_by_pid, m);
        if (r < 0)
                log_debug_errno(r, "Failed to look up container %s in systemd-machined: %m", c->name);
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

static int on_unregistered(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        const MachineCall *call = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        /* NoSuchMachine when machined saw the scope go first. */
        if (e)
                log_debug("Container %s not unregistered from systemd-machined: %s", call->id,
                          e->message ?: e->name);
        return 0;
}

void container_unregister_machine(Container *c)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        char name[MACHINE_NAME_MAX + 1];
        int r;

        if (!c->machine_registered)
                return;
        c->machine_registered = false;
        if (!c->manager->bus || container_machine_name(container_run_name(c), name) < 0)
                return;
        r = sd_bus_message_new_method_call(c->manager->bus, &m, MACHINED_NAME, MACHINED_PATH,
                                           MACHINED_MANAGER, "UnregisterMachine");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = machine_call_async(c, "UnregisterMachine", on_unregistered, m);
        if (r < 0)
                log_debug_errno(r, "Failed to unregister container %s from systemd-machined: %m", c->name);
}
