/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "berthctl-container.h"
#include "berthctl-exit-watch.h"
#include "berthctl.h"
#include "shared/berth-errors.h"

void exit_watch_done(ExitWatch *w)
{
        w->update_slot = sd_bus_slot_unref(w->update_slot);
        w->wait_slot = sd_bus_slot_unref(w->wait_slot);
}

static bool no_such_container(sd_bus_message *reply)
{
        return sd_bus_error_has_name(sd_bus_message_get_error(reply), BERTH_ERROR_NO_SUCH_CONTAINER);
}

static int on_update_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        ExitWatch *w = userdata;

        w->update_slot = sd_bus_slot_unref(w->update_slot);
        /* Removed already (an Update after the exit removes at once): as good as the answer. */
        w->update_ok = !sd_bus_message_is_method_error(reply, NULL) || no_such_container(reply);
        return 0;
}

static int on_wait_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        ExitWatch *w = userdata;
        int32_t code;

        w->wait_slot = sd_bus_slot_unref(w->wait_slot);
        if (!sd_bus_message_is_method_error(reply, NULL) && sd_bus_message_read(reply, "i", &code) > 0) {
                w->exited = true;
                w->exit_code = code;
        } else
                w->gone = no_such_container(reply);
        return 0;
}

int exit_watch_send(ExitWatch *w, const char *id, bool remove)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *update = NULL, *wait = NULL;
        sd_bus *bus;
        int r;

        r = bus_get(&bus);
        if (r >= 0)
                r = manager_new_call("WaitContainer", &wait);
        if (r >= 0)
                r = sd_bus_message_append(wait, "sa{sv}", id, 0);
        if (r >= 0 && remove) {
                r = manager_new_call("UpdateContainer", &update);
                if (r >= 0)
                        r = sd_bus_message_append(update, "sa(sv)a{sv}", id, 0, 1, "remove_on_exit", "b", 1);
        }
        if (r < 0)
                return r;
        /* The Wait first, so that it always gets the exit code: berthd removes a container at once when the
         * Update comes after its exit, and a Wait handled after that would find no container. Whichever
         * way the exit falls, the container is gone once both are answered. */
        r = sd_bus_call_async(bus, &w->wait_slot, wait, on_wait_reply, w, UINT64_MAX - 1);
        if (r >= 0 && update)
                r = sd_bus_call_async(bus, &w->update_slot, update, on_update_reply, w, UINT64_MAX - 1);
        if (r < 0)
                exit_watch_done(w);
        return r;
}

bool exit_watch_poll(ExitWatch *w, uint64_t deadline, bool wait_too)
{
        sd_bus *bus;
        int r;

        if (bus_get(&bus) < 0)
                return false;
        while (w->update_slot || (wait_too && w->wait_slot)) {
                uint64_t now = monotonic_usec();

                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return false;
                if (r > 0)
                        continue;
                if (now >= deadline || sd_bus_wait(bus, deadline - now) < 0)
                        return false;
        }
        return true;
}
