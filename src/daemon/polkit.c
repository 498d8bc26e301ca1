/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

#include "daemon/polkit.h"
#include "shared/log.h"
#include "shared/macro.h"

/* How an asynchronous polkit check works, and why the handler runs twice.
 *
 * berthd has one thread and must never block the bus on polkitd, which may be waiting for a password typed
 * into an agent for minutes. So a method handler that needs authorisation:
 *
 *   1. calls bus_verify_polkit_async(). The sender is root: allowed at once (returns 1), no round trip.
 *   2. Otherwise we send CheckAuthorization to org.freedesktop.PolicyKit1 without waiting, remember the
 *      query in the registry under the method call message, and return 0. The handler returns 1 ("handled,
 *      reply later") without touching any state.
 *   3. When polkitd answers, the callback stores the verdict in the query, rewinds the original call message
 *      and puts it back into the bus's read queue with sd_bus_enqueue_for_read().
 *   4. sd-bus dispatches the same message again: the handler runs from the top, validates its arguments
 *      once more, and calls bus_verify_polkit_async() which now finds the stored verdict and returns 1 or an
 *      error. Only then does the handler change state and reply. The query is dropped right after that
 *      dispatch (see AsyncPolkitQuery for calls that need several actions).
 *
 * This is why handlers must check arguments first, polkit second and mutate last. If polkitd is not on the
 * bus, the check denies (root never gets here). The caller's ALLOW_INTERACTIVE_AUTHORIZATION header flag is
 * passed on to polkit; without it a "challenge" verdict becomes InteractiveAuthorizationRequired, so clients
 * know to retry interactively (busctl --allow-interactive-authorization=yes, berthctl does by default). */

/* One method call's authorisation state. A call may need more than one action (CreateContainer with
 * "privileged" needs manage-containers and manage-containers-privileged): each dispatch of the handler asks
 * for its actions in order; those already granted answer 1 from `granted`, the first one not yet asked
 * starts a query and the handler returns, so a call asking for N actions is dispatched N + 1 times. The
 * query lives until just after the re-dispatch that follows its last answer (an idle-priority defer event,
 * which runs after sd-bus has processed the re-enqueued message), so nothing is left behind when a handler
 * stops asking (an argument that went bad, a denial). */
typedef struct AsyncPolkitQuery {
        GHashTable **registry;
        sd_bus_message *request;
        sd_bus_slot *slot;    /* the CheckAuthorization in flight, if any */
        char *pending_action; /* its action */
        GPtrArray *granted;   /* actions polkit allowed for this call */
        char *denied_action;  /* the action polkit refused, with error */
        sd_bus_error error;
        sd_event_source *defer; /* frees the query after the re-dispatch */
} AsyncPolkitQuery;

static void async_polkit_query_free(AsyncPolkitQuery *q)
{
        if (!q)
                return;
        sd_bus_slot_unref(q->slot);
        sd_event_source_disable_unref(q->defer);
        sd_bus_message_unref(q->request);
        sd_bus_error_free(&q->error);
        if (q->granted)
                g_ptr_array_free(q->granted, true);
        free(q->pending_action);
        free(q->denied_action);
        free(q);
}

static void async_polkit_query_destroy(gpointer p)
{
        async_polkit_query_free(p);
}

static bool async_polkit_query_granted(AsyncPolkitQuery *q, const char *action)
{
        for (guint i = 0; q->granted && i < q->granted->len; i++)
                if (streq(g_ptr_array_index(q->granted, i), action))
                        return true;
        return false;
}

static int async_polkit_defer(sd_event_source *s, void *userdata)
{
        AsyncPolkitQuery *q = userdata;

        q->defer = sd_event_source_disable_unref(q->defer);
        if (q->slot)
                return 0; /* the handler asked for another action; that answer schedules us again */
        g_hash_table_remove(*q->registry, q->request);
        return 0;
}

static int polkit_reply_to_verdict(sd_bus_message *reply, bool interactive, sd_bus_error *ret_error)
{
        const sd_bus_error *e;
        int authorized, challenge, r;

        e = sd_bus_message_get_error(reply);
        if (e) {
                /* polkitd not running counts as a denial, anything else too: fail closed. */
                log_debug("polkit query failed: %s: %s", e->name, strna(e->message));
                return sd_bus_error_setf(ret_error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Authorisation service unavailable (%s), access denied.", e->name);
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0)
                return sd_bus_error_setf(ret_error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Malformed reply from the authorisation service, access denied.");
        if (authorized)
                return 1;
        if (challenge && !interactive)
                return sd_bus_error_setf(ret_error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                         "Interactive authentication required.");
        return sd_bus_error_setf(ret_error, SD_BUS_ERROR_ACCESS_DENIED, "Access denied.");
}

static int async_polkit_callback(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        AsyncPolkitQuery *q = userdata;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_event *event = sd_bus_get_event(sd_bus_message_get_bus(q->request));
        int r;

        q->slot = sd_bus_slot_unref(q->slot);
        r = polkit_reply_to_verdict(
                reply, sd_bus_message_get_allow_interactive_authorization(q->request) > 0, &error);
        if (r > 0) {
                if (!q->granted)
                        q->granted = g_ptr_array_new_with_free_func(free);
                g_ptr_array_add(q->granted, TAKE_PTR(q->pending_action));
        } else {
                free(q->denied_action);
                q->denied_action = TAKE_PTR(q->pending_action);
                sd_bus_error_free(&q->error);
                q->error = error;
        }
        q->pending_action = mfree(q->pending_action);

        /* Dispatch the original call again; the handler will find our verdict. */
        r = sd_bus_message_rewind(q->request, true);
        if (r >= 0)
                r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(q->request), q->request);
        if (r < 0)
                log_error_errno(r, "Failed to re-enqueue authorised method call, dropping it: %m");
        if (!q->defer && event) {
                r = sd_event_add_defer(event, &q->defer, async_polkit_defer, q);
                if (r >= 0)
                        r = sd_event_source_set_priority(q->defer, SD_EVENT_PRIORITY_IDLE);
                if (r < 0)
                        log_warning_errno(r, "Cannot schedule the polkit query's release, ignoring: %m");
        }
        return 1;
}

/* dbus-daemon attaches no credentials to messages: sd-bus asks it (GetConnectionUnixUser), a blocking round
 * trip in our loop for each call, seven for one `run --rm`. A connection's uid is fixed when it connects and
 * dbus-daemon never gives a unique name (":1.56") to another connection, so the answer is kept per unique
 * name; the table is emptied when it gets large, which costs a round trip, never a wrong answer. */
#define SENDER_UID_CACHE_MAX 256

int bus_sender_euid(sd_bus_message *call, uid_t *ret)
{
        static GHashTable *cache = NULL;
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const char *sender = sd_bus_message_get_sender(call);
        gpointer found;
        uid_t uid;
        int r;

        if (sender && sender[0] == ':' && cache &&
            g_hash_table_lookup_extended(cache, sender, NULL, &found)) {
                *ret = (uid_t) GPOINTER_TO_UINT(found);
                return 0;
        }
        r = sd_bus_query_sender_creds(call, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return r;
        if (sender && sender[0] == ':') {
                if (!cache)
                        cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
                if (g_hash_table_size(cache) >= SENDER_UID_CACHE_MAX)
                        g_hash_table_remove_all(cache);
                g_hash_table_insert(cache, g_strdup(sender), GUINT_TO_POINTER(uid));
        }
        *ret = uid;
        return 0;
}

static int sender_is_root(sd_bus_message *call)
{
        uid_t uid;
        int r;

        r = bus_sender_euid(call, &uid);
        if (r < 0)
                return r;
        return uid == 0;
}

int bus_verify_polkit_async(sd_bus_message *call, const char *action, const char *const *details,
                            GHashTable **registry, sd_bus_error *ret_error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *pk = NULL;
        AsyncPolkitQuery *q;
        int interactive, r;

        /* Root passes without a round trip, as before any query. */
        r = sender_is_root(call);
        if (r < 0)
                return r;
        if (r > 0)
                return 1;

        q = *registry ? g_hash_table_lookup(*registry, call) : NULL;
        if (q) {
                if (async_polkit_query_granted(q, action))
                        return 1;
                if (q->denied_action && streq(q->denied_action, action))
                        return sd_bus_error_copy(ret_error, &q->error);
                if (q->slot)
                        return -EBUSY; /* dispatched again before polkit answered: cannot happen */
                /* A further action for the same call: ask below, in the same query. */
        }

        interactive = sd_bus_message_get_allow_interactive_authorization(call);
        if (interactive < 0)
                return interactive;

        r = sd_bus_message_new_method_call(sd_bus_message_get_bus(call), &pk, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r < 0)
                return r;
        r = sd_bus_message_append(pk, "(sa{sv})s", "system-bus-name", 1, "name", "s",
                                  sd_bus_message_get_sender(call), action);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(pk, 'a', "{ss}");
        if (r < 0)
                return r;
        for (const char *const *d = details; d && d[0] && d[1]; d += 2) {
                r = sd_bus_message_append(pk, "{ss}", d[0], d[1]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(pk);
        if (r < 0)
                return r;
        r = sd_bus_message_append(pk, "us", (uint32_t) !!interactive, "");
        if (r < 0)
                return r;

        if (!*registry)
                *registry = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                                  async_polkit_query_destroy);
        if (!q) {
                q = calloc(1, sizeof(*q));
                if (!q)
                        return -ENOMEM;
                q->registry = registry;
                q->request = sd_bus_message_ref(call);
                g_hash_table_insert(*registry, call, q);
        }
        free(q->pending_action);
        q->pending_action = strdup(action);
        if (!q->pending_action) {
                g_hash_table_remove(*registry, call);
                return -ENOMEM;
        }

        /* Interactive checks may wait for a human typing a password: no timeout beyond polkit's own. */
        r = sd_bus_call_async(sd_bus_message_get_bus(call), &q->slot, pk, async_polkit_callback, q,
                              interactive ? UINT64_MAX - 1 : 0);
        if (r < 0) {
                g_hash_table_remove(*registry, call);
                return r;
        }
        return 0;
}

void bus_polkit_registry_free(GHashTable **registry)
{
        if (*registry)
                g_hash_table_destroy(*registry);
        *registry = NULL;
}
