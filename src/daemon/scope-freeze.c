/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

#include "daemon/scope.h"
#include "shared/fs-util.h"
#include "shared/log.h"

/* Pause and unpause: systemd's freezer (cgroup.freeze on v2), with the scope's cgroup watched until it says
 * the change is done.
 *
 * systemd 252 answers FreezeUnit as soon as it reads the scope's cgroup.events after its write to
 * cgroup.freeze. A task that forks while the others freeze makes the cgroup frozen, not frozen, then frozen
 * again; a read in the middle makes systemd answer at once, take the unit for running, and ignore the
 * kernel's later notification as a change it did not ask for. Its FreezerState then stays "running" while
 * every process is stopped. So berthd answers Pause only once the cgroup says "frozen 1" and systemd's
 * FreezerState agrees, asking systemd again while it does not (asked again, systemd compares with the
 * kernel's state first and takes note of it at once). While the scope stays frozen the cgroup is still
 * watched and systemd corrected after each late change, until the next freeze or thaw of the unit, or until
 * the cgroup is gone. */

/* How long a change may take to settle after systemd's answer before Pause gives up. */
#define FREEZE_SETTLE_USEC (30 * USEC_PER_SEC)
/* How often systemd is asked again after one change of the cgroup. */
#define FREEZE_MAX_CORRECTIONS 10

typedef struct FreezeCall {
        unsigned n_ref;
        sd_bus *bus;
        char *unit;
        char *events_path; /* the scope's cgroup.events; NULL: systemd's answer is taken as it is */
        bool freeze;
        scope_callback_t cb; /* until called */
        void *userdata;
        sd_event_source *inotify, *timeout;
        bool watching; /* the cgroup (holds a reference) */
        bool checking; /* a question to systemd in flight */
        unsigned corrections;
} FreezeCall;

static void freeze_call_unref(void *p)
{
        FreezeCall *f = p;

        if (!f || --f->n_ref > 0)
                return;
        sd_event_source_disable_unref(f->inotify);
        sd_event_source_disable_unref(f->timeout);
        sd_bus_unref(f->bus);
        free(f->events_path);
        free(f->unit);
        free(f);
}

static void freeze_answer(FreezeCall *f, const BerthError *e)
{
        scope_callback_t cb = TAKE_PTR(f->cb);

        f->timeout = sd_event_source_disable_unref(f->timeout);
        if (cb)
                cb(f->userdata, e);
}

/* The watching call of each unit (not owned): a newer call for the same unit ends the older one's watch. */
static GHashTable *watching_by_unit;

static void freeze_stop_watching(FreezeCall *f)
{
        if (!f->watching)
                return;
        f->watching = false;
        if (watching_by_unit && g_hash_table_lookup(watching_by_unit, f->unit) == f)
                g_hash_table_remove(watching_by_unit, f->unit);
        f->inotify = sd_event_source_disable_unref(f->inotify);
        f->timeout = sd_event_source_disable_unref(f->timeout);
        freeze_call_unref(f);
}

/* 1 when the cgroup says frozen, 0 when not, negative errno (-ENOENT: the scope is gone). */
static int cgroup_frozen(FreezeCall *f)
{
        _cleanup_free_ char *events = NULL;
        const char *frozen;
        int r;

        r = read_file_at(AT_FDCWD, f->events_path, 4096, &events, NULL);
        if (r < 0)
                return r;
        frozen = strstr(events, "frozen ");
        if (!frozen || (frozen != events && frozen[-1] != '\n'))
                return -EBADMSG;
        return frozen[strlen("frozen ")] == '1';
}

/* Sends a call whose floating slot holds a reference on f until it is answered. */
static int freeze_ask(FreezeCall *f, const char *path, const char *interface, const char *member,
                      sd_bus_message_handler_t handler, const char *types, ...)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(f->bus, &m, "org.freedesktop.systemd1", path, interface, member);
        if (r < 0)
                return r;
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        if (r < 0)
                return r;
        r = sd_bus_call_async(f->bus, &slot, m, handler, f, 0);
        if (r < 0)
                return r;
        f->n_ref++;
        (void) sd_bus_slot_set_destroy_callback(slot, freeze_call_unref);
        return sd_bus_slot_set_floating(slot, 1);
}

static void freeze_cgroup_changed(FreezeCall *f);

static int on_corrected(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        FreezeCall *f = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        f->checking = false;
        if (e)
                log_debug("systemd did not take note of %s being %s: %s", f->unit,
                          f->freeze ? "frozen" : "thawed", e->message ?: e->name);
        if (f->watching)
                freeze_cgroup_changed(f);
        return 0;
}

static int on_freezer_state(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        FreezeCall *f = userdata;
        const char *state = NULL;
        int r;

        f->checking = false;
        if (!f->watching)
                return 0;
        if (!sd_bus_message_is_method_error(reply, NULL))
                (void) sd_bus_message_read(reply, "v", "s", &state);
        if (!state || streq(state, f->freeze ? "frozen" : "running") ||
            f->corrections >= FREEZE_MAX_CORRECTIONS) {
                /* Settled: Pause or Unpause may answer. A frozen scope stays watched. */
                freeze_answer(f, NULL);
                if (!f->freeze)
                        freeze_stop_watching(f);
                return 0;
        }
        f->corrections++;
        r = freeze_ask(f, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                       f->freeze ? "FreezeUnit" : "ThawUnit", on_corrected, "s", f->unit);
        if (r < 0) {
                log_debug_errno(r, "Cannot ask systemd about %s: %m", f->unit);
                freeze_answer(f, NULL);
                freeze_stop_watching(f);
                return 0;
        }
        f->checking = true;
        return 0;
}

static void freeze_cgroup_changed(FreezeCall *f)
{
        _cleanup_berth_error_ BerthError err = BERTH_ERROR_INIT;
        _cleanup_free_ char *path = NULL;
        int r;

        if (f->checking)
                return; /* on_corrected() looks again */
        r = cgroup_frozen(f);
        if (r < 0) {
                if (f->cb) {
                        berth_error_set(&err, r, "Cannot read the freezer state of %s: %s", f->unit,
                                        strerror(-r));
                        freeze_answer(f, &err);
                }
                freeze_stop_watching(f);
                return;
        }
        if (r != f->freeze) {
                /* Not there yet; or, once a Pause has answered, thawed by an Unpause: its own call watches.
                 */
                if (!f->cb)
                        freeze_stop_watching(f);
                return;
        }
        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", f->unit, &path);
        if (r >= 0)
                r = freeze_ask(f, path, "org.freedesktop.DBus.Properties", "Get", on_freezer_state, "ss",
                               "org.freedesktop.systemd1.Unit", "FreezerState");
        if (r < 0) {
                log_debug_errno(r, "Cannot ask systemd about %s: %m", f->unit);
                freeze_answer(f, NULL);
                freeze_stop_watching(f);
                return;
        }
        f->checking = true;
}

static int on_cgroup_events(sd_event_source *s, const struct inotify_event *event, void *userdata)
{
        FreezeCall *f = userdata;

        f->corrections = 0;
        freeze_cgroup_changed(f);
        return 0;
}

static int on_settle_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        FreezeCall *f = userdata;
        _cleanup_berth_error_ BerthError err = BERTH_ERROR_INIT;

        berth_error_set(&err, -ETIMEDOUT, "%s was not %s within %u s", f->unit,
                        f->freeze ? "frozen" : "thawed", (unsigned) (FREEZE_SETTLE_USEC / USEC_PER_SEC));
        freeze_answer(f, &err);
        freeze_stop_watching(f);
        return 0;
}

static int freeze_watch(FreezeCall *f)
{
        sd_event *event = sd_bus_get_event(f->bus);
        int r;

        r = sd_event_add_inotify(event, &f->inotify, f->events_path, IN_MODIFY, on_cgroup_events, f);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(event, &f->timeout, CLOCK_MONOTONIC, FREEZE_SETTLE_USEC, 0,
                                       on_settle_timeout, f);
        if (r < 0)
                return r;
        if (!watching_by_unit)
                watching_by_unit = g_hash_table_new(g_str_hash, g_str_equal);
        g_hash_table_insert(watching_by_unit, f->unit, f);
        f->watching = true;
        f->n_ref++;
        /* Looked at after the watch is set, so that no change falls between the two. */
        freeze_cgroup_changed(f);
        return 0;
}

static int on_freeze_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        FreezeCall *f = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        _cleanup_berth_error_ BerthError err = BERTH_ERROR_INIT;
        int r;

        if (e) {
                berth_error_set(&err, -sd_bus_error_get_errno(e) ?: -EIO, "systemd could not %s %s: %s",
                                f->freeze ? "freeze" : "thaw", f->unit, e->message ?: e->name);
                freeze_answer(f, &err);
                return 0;
        }
        if (f->events_path) {
                r = freeze_watch(f);
                if (r >= 0)
                        return 0;
                f->inotify = sd_event_source_disable_unref(f->inotify);
                log_warning_errno(r, "Cannot watch the freezer state of %s, taking systemd's answer: %m",
                                  f->unit);
        }
        freeze_answer(f, NULL);
        return 0;
}

int scope_freeze(sd_bus *bus, const char *unit, const char *cgroup, bool freeze, scope_callback_t cb,
                 void *userdata)
{
        FreezeCall *f, *older;
        int r;

        older = watching_by_unit ? g_hash_table_lookup(watching_by_unit, unit) : NULL;
        if (older)
                freeze_stop_watching(older);
        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        *f = (FreezeCall){
                .n_ref = 1,
                .bus = sd_bus_ref(bus),
                .unit = strdup(unit),
                .events_path = cgroup ? g_strdup_printf("/sys/fs/cgroup%s/cgroup.events", cgroup) : NULL,
                .freeze = freeze,
                .cb = cb,
                .userdata = userdata,
        };
        if (!f->unit) {
                freeze_call_unref(f);
                return -ENOMEM;
        }
        r = freeze_ask(f, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                       freeze ? "FreezeUnit" : "ThawUnit", on_freeze_reply, "s", unit);
        freeze_call_unref(f); /* the call's slot holds it now, or nothing does */
        return r;
}
