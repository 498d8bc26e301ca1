/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/scope.h"
#include "shared/log.h"

/* How long to retry when a scope of the same name is still being torn down (the previous run's cgroup
 * empties asynchronously), and how often. */
#define SCOPE_EXISTS_RETRY_USEC (50 * USEC_PER_MSEC)
#define SCOPE_EXISTS_RETRIES    100

struct ScopeJob {
        sd_bus *bus;
        sd_event *event;
        char *unit, *description, *properties_json;
        bool restrict_devices;
        char **device_allow;
        pid_t pid;
        int kill_signal;
        uint64_t stop_timeout_usec;
        unsigned retries;

        sd_bus_slot *match_slot;
        sd_bus_slot *call_slot;
        sd_event_source *retry_timer;
        char *job;
        scope_callback_t cb;
        void *userdata;
};

ScopeJob *scope_job_free(ScopeJob *j)
{
        if (!j)
                return NULL;
        sd_bus_slot_unref(j->match_slot);
        sd_bus_slot_unref(j->call_slot);
        sd_event_source_unref(j->retry_timer);
        sd_bus_unref(j->bus);
        sd_event_unref(j->event);
        free(j->unit);
        free(j->description);
        free(j->properties_json);
        g_strfreev(j->device_allow);
        free(j->job);
        return mfree(j);
}

static void scope_job_finish(ScopeJob *j, int error, const char *message)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        scope_callback_t cb = j->cb;

        j->cb = NULL;
        j->match_slot = sd_bus_slot_unref(j->match_slot);
        j->call_slot = sd_bus_slot_unref(j->call_slot);
        j->retry_timer = sd_event_source_unref(j->retry_timer);
        if (error < 0)
                berth_error_set(&e, error, "%s", message);
        if (cb)
                cb(j->userdata, error < 0 ? &e : NULL);
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        ScopeJob *j = userdata;
        const char *path, *unit, *result;
        _cleanup_free_ char *msg = NULL;
        uint32_t id;
        int r;

        r = sd_bus_message_read(m, "uoss", &id, &path, &unit, &result);
        if (r < 0)
                return 0;
        /* Matched by job path, never by unit name alone: another job may end on a unit of the same name
         * (machined's stop of the previous run's scope). systemd answers StartTransientUnit before its job
         * can run, and messages are handled in order, so ours has its path by the time it ends. */
        if (!j->job || !streq(path, j->job))
                return 0;
        if (streq(result, "done")) {
                scope_job_finish(j, 0, "done");
                return 0;
        }
        msg = g_strdup_printf("The scope %s could not be started (job result: %s).", j->unit, result);
        scope_job_finish(j, -EIO, msg);
        return 0;
}

static int append_property(sd_bus_message *m, JsonArray *prop)
{
        const char *name = json_array_get_string_element(prop, 0);
        const char *type = json_array_get_string_element(prop, 1);
        JsonNode *value = json_array_get_element(prop, 2);
        int r;

        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", name);
        if (r < 0)
                return r;
        switch (type[0]) {
        case 't':
                r = sd_bus_message_append(m, "v", "t", (uint64_t) json_node_get_int(value));
                break;
        case 'x':
                r = sd_bus_message_append(m, "v", "x", (int64_t) json_node_get_int(value));
                break;
        case 'u':
                r = sd_bus_message_append(m, "v", "u", (uint32_t) json_node_get_int(value));
                break;
        case 'i':
                r = sd_bus_message_append(m, "v", "i", (int32_t) json_node_get_int(value));
                break;
        case 'b':
                r = sd_bus_message_append(m, "v", "b", (int) json_node_get_boolean(value));
                break;
        case 'd':
                r = sd_bus_message_append(m, "v", "d", json_node_get_double(value));
                break;
        case 's':
                r = sd_bus_message_append(m, "v", "s", json_node_get_string(value));
                break;
        case 'a': {
                JsonArray *a = JSON_NODE_HOLDS_ARRAY(value) ? json_node_get_array(value) : NULL;

                if (!streq(type, "a(ss)") || !a)
                        return -EINVAL;
                r = sd_bus_message_open_container(m, 'v', "a(ss)");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "(ss)");
                for (guint i = 0; r >= 0 && i < json_array_get_length(a); i++) {
                        JsonNode *e = json_array_get_element(a, i);
                        JsonArray *pair = JSON_NODE_HOLDS_ARRAY(e) ? json_node_get_array(e) : NULL;

                        if (!pair || json_array_get_length(pair) != 2)
                                return -EINVAL;
                        r = sd_bus_message_append(m, "(ss)", json_array_get_string_element(pair, 0),
                                                  json_array_get_string_element(pair, 1));
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                break;
        }
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int append_user_properties(sd_bus_message *m, const char *json)
{
        g_autoptr(JsonParser) p = json_parser_new();
        JsonNode *root;
        JsonArray *a;
        int r;

        if (isempty(json))
                return 0;
        if (!json_parser_load_from_data(p, json, -1, NULL))
                return -EBADMSG;
        root = json_parser_get_root(p);
        if (!root || !JSON_NODE_HOLDS_ARRAY(root))
                return -EBADMSG;
        a = json_node_get_array(root);
        for (guint i = 0; i < json_array_get_length(a); i++) {
                JsonNode *n = json_array_get_element(a, i);
                if (!JSON_NODE_HOLDS_ARRAY(n) || json_array_get_length(json_node_get_array(n)) != 3)
                        return -EBADMSG;
                r = append_property(m, json_node_get_array(n));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Docker's default rules (its oci/defaults.go): creating any node is allowed, so that images and programs
 * that make nodes keep working, but opening one is limited to the pseudo devices, the terminals and tun; a
 * block device a container makes (or finds in a layer) stays closed. systemd turns these into the scope's
 * BPF device program. The "/dev/char/M:N" form is parsed by systemd without a stat(), so tun is allowed
 * where the host has no /dev/net/tun node yet, as in Docker; "char-pts" is every pty slave major (136-143).
 */
const char *const scope_default_device_allow[][2] = {
        { "char-*", "m" },          { "block-*", "m" },         { "/dev/char/1:3", "rwm" },
        { "/dev/char/1:5", "rwm" }, { "/dev/char/1:7", "rwm" }, { "/dev/char/1:8", "rwm" },
        { "/dev/char/1:9", "rwm" }, { "/dev/char/5:0", "rwm" }, { "/dev/char/5:1", "rwm" },
        { "/dev/char/5:2", "rwm" }, { "char-pts", "rwm" },      { "/dev/char/10:200", "rwm" },
};
const size_t scope_default_device_allow_n = ELEMENTSOF(scope_default_device_allow);

static int append_device_rules(sd_bus_message *m, ScopeJob *j)
{
        int r;

        if (!j->restrict_devices)
                return 0;
        r = sd_bus_message_append(m, "(sv)", "DevicePolicy", "s", "strict");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", "DeviceAllow");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'v', "a(ss)");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "(ss)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < scope_default_device_allow_n; i++) {
                r = sd_bus_message_append(m, "(ss)", scope_default_device_allow[i][0],
                                          scope_default_device_allow[i][1]);
                if (r < 0)
                        return r;
        }
        STRV_FOREACH (rule, j->device_allow) {
                _cleanup_free_ char *path = NULL;
                const char *perms = strchr(*rule, ' ');

                if (!perms)
                        return -EINVAL;
                path = strndup(*rule, perms - *rule);
                if (!path)
                        return -ENOMEM;
                r = sd_bus_message_append(m, "(ss)", path, perms + 1);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int scope_call(ScopeJob *j);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        ScopeJob *j = userdata;
        int r;

        j->retry_timer = sd_event_source_unref(j->retry_timer);
        r = scope_call(j);
        if (r < 0)
                scope_job_finish(j, r, "Failed to ask systemd for the scope.");
        return 0;
}

static int on_start_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        ScopeJob *j = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        _cleanup_free_ char *msg = NULL;
        const char *job;
        int r;

        j->call_slot = sd_bus_slot_unref(j->call_slot);
        if (e) {
                /* The previous run's scope may still be on its way out: give it a moment. */
                if (sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists") &&
                    j->retries++ < SCOPE_EXISTS_RETRIES) {
                        r = sd_event_add_time_relative(j->event, &j->retry_timer, CLOCK_MONOTONIC,
                                                       SCOPE_EXISTS_RETRY_USEC, 1, on_retry, j);
                        if (r >= 0)
                                return 0;
                }
                msg = g_strdup_printf("systemd refused the scope %s: %s", j->unit, e->message ?: e->name);
                scope_job_finish(j, -sd_bus_error_get_errno(e) ?: -EIO, msg);
                return 0;
        }
        r = sd_bus_message_read(reply, "o", &job);
        if (r >= 0) {
                j->job = strdup(job);
                if (!j->job)
                        r = -ENOMEM;
        }
        if (r < 0)
                scope_job_finish(j, r, "Failed to read systemd's answer for the scope.");
        return 0;
}

static int scope_call(ScopeJob *j)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(j->bus, &m, "org.freedesktop.systemd1",
                                           "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                           "StartTransientUnit");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "ss", j->unit, "fail");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)", "Description", "s", j->description,
                                  "Slice", "s", "machine.slice", "Delegate", "b", 1, "CollectMode", "s",
                                  "inactive-or-failed", "KillSignal", "i", j->kill_signal, "TimeoutStopUSec",
                                  "t", j->stop_timeout_usec, "PIDs", "au", 1, (uint32_t) j->pid);
        if (r < 0)
                return r;
        /* Before the user's properties, so that an admin's DevicePolicy= or DeviceAllow= comes after. */
        r = append_device_rules(m, j);
        if (r < 0)
                return r;
        r = append_user_properties(m, j->properties_json);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return r;
        return sd_bus_call_async(j->bus, &j->call_slot, m, on_start_reply, j, 0);
}

int scope_start(sd_bus *bus, sd_event *event, const ScopeRequest *req, scope_callback_t cb, void *userdata,
                ScopeJob **ret)
{
        _cleanup_(scope_job_freep) ScopeJob *j = NULL;
        int r;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->bus = sd_bus_ref(bus);
        j->event = sd_event_ref(event);
        j->unit = strdup(req->unit);
        j->description = strdup(req->description);
        j->properties_json = strdup(req->properties_json ?: "[]");
        j->restrict_devices = req->restrict_devices;
        j->device_allow = g_strdupv(req->device_allow);
        if (!j->unit || !j->description || !j->properties_json)
                return -ENOMEM;
        j->pid = req->pid;
        j->kill_signal = req->kill_signal;
        j->stop_timeout_usec = req->stop_timeout_usec;
        j->cb = cb;
        j->userdata = userdata;

        r = sd_bus_match_signal_async(bus, &j->match_slot, "org.freedesktop.systemd1",
                                      "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                      "JobRemoved", on_job_removed, NULL, j);
        if (r < 0)
                return r;
        r = scope_call(j);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}

/* Resource-control settings a user may put on a container's scope; anything else (ExecStart, User, …)
 * makes no sense for a scope or would widen what the caller may do. */
static const char *const allowed_properties[] = {
        "CPUWeight",
        "StartupCPUWeight",
        "CPUQuotaPerSecUSec",
        "CPUQuotaPeriodUSec",
        "AllowedCPUs",
        "MemoryMin",
        "MemoryLow",
        "MemoryHigh",
        "MemoryMax",
        "MemorySwapMax",
        "TasksMax",
        "IOWeight",
        "StartupIOWeight",
        "CPUAccounting",
        "MemoryAccounting",
        "IOAccounting",
        "TasksAccounting",
        "ManagedOOMMemoryPressure",
        "ManagedOOMSwap",
        "OOMScoreAdjust",
        "Nice",
        "RuntimeMaxUSec",
        /* Only with the privileged action (scope_properties_weaken). */
        "Delegate",
        "DevicePolicy",
        "DeviceAllow",
        NULL,
};

static bool property_allowed(const char *name)
{
        for (const char *const *p = allowed_properties; *p; p++)
                if (streq(*p, name))
                        return true;
        return false;
}

static int refuse_property(BerthError *e, const char *name)
{
        return berth_error_set(e, -EINVAL, "Unit property '%s' cannot be set on a container's scope.", name);
}

int scope_properties_from_bus(sd_bus_message *m, BerthError *e, char **ret_json)
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonGenerator) gen = json_generator_new();
        g_autoptr(JsonNode) root = NULL;
        const char *name;
        int r;

        json_builder_begin_array(b);
        r = sd_bus_message_enter_container(m, 'a', "(sv)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'r', "sv")) > 0) {
                const char *contents;
                char type;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                if (!property_allowed(name))
                        return refuse_property(e, name);
                r = sd_bus_message_peek_type(m, NULL, &contents);
                if (r < 0)
                        return r;
                r = sd_bus_message_enter_container(m, 'v', contents);
                if (r < 0)
                        return r;
                type = contents[0];
                json_builder_begin_array(b);
                json_builder_add_string_value(b, name);
                json_builder_add_string_value(b, type == 'a' ? contents : (char[]){ type, 0 });
                switch (type) {
                case 't': {
                        uint64_t v;
                        r = sd_bus_message_read(m, "t", &v);
                        /* JSON numbers are doubles to some readers; json-glib keeps 64-bit ints, and
                         * UINT64_MAX ("infinity") round-trips through the cast. */
                        json_builder_add_int_value(b, (gint64) v);
                        break;
                }
                case 'x': {
                        int64_t v;
                        r = sd_bus_message_read(m, "x", &v);
                        json_builder_add_int_value(b, v);
                        break;
                }
                case 'u': {
                        uint32_t v;
                        r = sd_bus_message_read(m, "u", &v);
                        json_builder_add_int_value(b, v);
                        break;
                }
                case 'i': {
                        int32_t v;
                        r = sd_bus_message_read(m, "i", &v);
                        json_builder_add_int_value(b, v);
                        break;
                }
                case 'b': {
                        int v;
                        r = sd_bus_message_read(m, "b", &v);
                        json_builder_add_boolean_value(b, v);
                        break;
                }
                case 'd': {
                        double v;
                        r = sd_bus_message_read(m, "d", &v);
                        json_builder_add_double_value(b, v);
                        break;
                }
                case 's': {
                        const char *v;
                        r = sd_bus_message_read(m, "s", &v);
                        json_builder_add_string_value(b, v);
                        break;
                }
                case 'a': {
                        /* DeviceAllow=: [[path, perms], …] */
                        const char *path, *perms;

                        if (!streq(contents, "a(ss)"))
                                return refuse_property(e, name);
                        r = sd_bus_message_enter_container(m, 'a', "(ss)");
                        if (r < 0)
                                return r;
                        json_builder_begin_array(b);
                        while ((r = sd_bus_message_read(m, "(ss)", &path, &perms)) > 0) {
                                json_builder_begin_array(b);
                                json_builder_add_string_value(b, path);
                                json_builder_add_string_value(b, perms);
                                json_builder_end_array(b);
                        }
                        json_builder_end_array(b);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                        break;
                }
                default:
                        return refuse_property(e, name);
                }
                if (r < 0)
                        return r;
                json_builder_end_array(b);
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        json_builder_end_array(b);
        root = json_builder_get_root(b);
        json_generator_set_root(gen, root);
        *ret_json = json_generator_to_data(gen, NULL);
        return 0;
}

/* systemd's default weight for CPUWeight= and IOWeight=; "unset" (UINT64_MAX) is the default too. */
#define SCOPE_WEIGHT_DEFAULT 100

bool scope_properties_weaken(const char *json)
{
        g_autoptr(JsonParser) p = json_parser_new();
        JsonNode *root;
        JsonArray *a;

        if (isempty(json))
                return false;
        /* A record that no longer parses would fail to start anyway; ask for the most. */
        if (!json_parser_load_from_data(p, json, -1, NULL))
                return true;
        root = json_parser_get_root(p);
        if (!root || !JSON_NODE_HOLDS_ARRAY(root))
                return true;
        a = json_node_get_array(root);
        for (guint i = 0; i < json_array_get_length(a); i++) {
                JsonNode *n = json_array_get_element(a, i);
                JsonArray *prop = JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
                JsonNode *value;
                const char *name;

                if (!prop || json_array_get_length(prop) != 3)
                        return true;
                name = json_array_get_string_element(prop, 0);
                value = json_array_get_element(prop, 2);
                if (!name)
                        return true;
                /* The device rules and the cgroup's delegation are the container's confinement itself. */
                if (g_strv_contains((const char *const[]){ "Delegate", "DevicePolicy", "DeviceAllow", NULL },
                                    name))
                        return true;
                if (!JSON_NODE_HOLDS_VALUE(value) || json_node_get_value_type(value) != G_TYPE_INT64)
                        continue;
                /* Favouring the container over the host's own processes: the OOM killer passes it over,
                 * the scheduler prefers it, its memory is protected from reclaim. */
                if (g_strv_contains((const char *const[]){ "OOMScoreAdjust", "Nice", NULL }, name) &&
                    json_node_get_int(value) < 0)
                        return true;
                if (g_strv_contains((const char *const[]){ "MemoryMin", "MemoryLow", NULL }, name) &&
                    json_node_get_int(value) != 0)
                        return true;
                if (g_strv_contains((const char *const[]){ "CPUWeight", "StartupCPUWeight", "IOWeight",
                                                           "StartupIOWeight", NULL },
                                    name)) {
                        uint64_t w = (uint64_t) json_node_get_int(value);
                        if (w != UINT64_MAX && w > SCOPE_WEIGHT_DEFAULT)
                                return true;
                }
        }
        return false;
}

int scope_properties_merge(const char *json, const char *update, char **ret_json)
{
        g_autoptr(JsonParser) p = json_parser_new(), q = json_parser_new();
        g_autoptr(JsonGenerator) gen = json_generator_new();
        g_autoptr(JsonNode) root = json_node_new(JSON_NODE_ARRAY);
        g_autoptr(JsonArray) out = json_array_new();
        JsonArray *a, *u;

        if (!json_parser_load_from_data(p, isempty(json) ? "[]" : json, -1, NULL) ||
            !json_parser_load_from_data(q, isempty(update) ? "[]" : update, -1, NULL) ||
            !JSON_NODE_HOLDS_ARRAY(json_parser_get_root(p)) ||
            !JSON_NODE_HOLDS_ARRAY(json_parser_get_root(q)))
                return -EBADMSG;
        a = json_node_get_array(json_parser_get_root(p));
        u = json_node_get_array(json_parser_get_root(q));
        /* The old ones that the update does not name, in order, then the update's. */
        for (guint i = 0; i < json_array_get_length(a); i++) {
                JsonNode *n = json_array_get_element(a, i);
                const char *name = JSON_NODE_HOLDS_ARRAY(n)
                                           ? json_array_get_string_element(json_node_get_array(n), 0)
                                           : NULL;
                bool replaced = false;

                if (!name)
                        return -EBADMSG;
                for (guint k = 0; k < json_array_get_length(u) && !replaced; k++) {
                        JsonNode *m = json_array_get_element(u, k);
                        replaced = JSON_NODE_HOLDS_ARRAY(m) &&
                                   streq_ptr(json_array_get_string_element(json_node_get_array(m), 0), name);
                }
                if (!replaced)
                        json_array_add_element(out, json_node_copy(n));
        }
        for (guint k = 0; k < json_array_get_length(u); k++)
                json_array_add_element(out, json_node_copy(json_array_get_element(u, k)));
        json_node_set_array(root, out);
        json_generator_set_root(gen, root);
        *ret_json = json_generator_to_data(gen, NULL);
        return 0;
}

typedef struct ScopeSetCall {
        scope_callback_t cb;
        void *userdata;
        char *unit;
} ScopeSetCall;

static void scope_set_call_free(void *p)
{
        ScopeSetCall *s = p;

        free(s->unit);
        free(s);
}

static int on_set_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        ScopeSetCall *s = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        _cleanup_berth_error_ BerthError err = BERTH_ERROR_INIT;

        if (e)
                berth_error_set(&err, -sd_bus_error_get_errno(e) ?: -EIO, "systemd could not update %s: %s",
                                s->unit, e->message ?: e->name);
        if (s->cb)
                s->cb(s->userdata, e ? &err : NULL);
        return 0;
}

int scope_set_properties(sd_bus *bus, const char *unit, const char *properties_json, scope_callback_t cb,
                         void *userdata)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        ScopeSetCall *s;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", "SetUnitProperties");
        if (r < 0)
                return r;
        /* runtime: the scope goes with the run; the container's record carries them to the next start. */
        r = sd_bus_message_append(m, "sb", unit, 1);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                return r;
        r = append_user_properties(m, properties_json);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = (ScopeSetCall){ .cb = cb, .userdata = userdata, .unit = strdup(unit) };
        if (!s->unit) {
                scope_set_call_free(s);
                return -ENOMEM;
        }
        r = sd_bus_call_async(bus, &slot, m, on_set_reply, s, 0);
        if (r < 0) {
                scope_set_call_free(s);
                return r;
        }
        (void) sd_bus_slot_set_destroy_callback(slot, scope_set_call_free);
        return sd_bus_slot_set_floating(slot, 1);
}

typedef struct ScopeProcessesCall {
        scope_processes_callback_t cb;
        void *userdata;
        char *unit;
} ScopeProcessesCall;

static void scope_processes_call_free(void *p)
{
        ScopeProcessesCall *s = p;

        free(s->unit);
        free(s);
}

static int on_processes_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        ScopeProcessesCall *s = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        _cleanup_berth_error_ BerthError err = BERTH_ERROR_INIT;
        g_autoptr(GArray) procs = g_array_new(false, false, sizeof(ScopeProcess));
        int r = 0;

        if (e)
                berth_error_set(&err, -sd_bus_error_get_errno(e) ?: -EIO, "systemd could not list %s: %s",
                                s->unit, e->message ?: e->name);
        else {
                ScopeProcess p;
                uint32_t pid;

                r = sd_bus_message_enter_container(reply, 'a', "(sus)");
                while (r >= 0 &&
                       (r = sd_bus_message_read(reply, "(sus)", &p.cgroup, &pid, &p.cmdline)) > 0) {
                        p.pid = (pid_t) pid;
                        g_array_append_val(procs, p);
                }
                if (r < 0)
                        berth_error_set(&err, r, "Bad answer from systemd for %s.", s->unit);
        }
        if (s->cb)
                s->cb(s->userdata, e || r < 0 ? &err : NULL, (const ScopeProcess *) procs->data, procs->len);
        return 0;
}

int scope_get_processes(sd_bus *bus, const char *unit, scope_processes_callback_t cb, void *userdata)
{
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        ScopeProcessesCall *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = (ScopeProcessesCall){ .cb = cb, .userdata = userdata, .unit = strdup(unit) };
        if (!s->unit) {
                scope_processes_call_free(s);
                return -ENOMEM;
        }
        r = sd_bus_call_method_async(bus, &slot, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                     "org.freedesktop.systemd1.Manager", "GetUnitProcesses",
                                     on_processes_reply, s, "s", unit);
        if (r < 0) {
                scope_processes_call_free(s);
                return r;
        }
        (void) sd_bus_slot_set_destroy_callback(slot, scope_processes_call_free);
        return sd_bus_slot_set_floating(slot, 1);
}

typedef struct ScopeStatsCall {
        scope_reply_callback_t cb;
        void *userdata;
} ScopeStatsCall;

static int on_stats_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        ScopeStatsCall *s = userdata;

        s->cb(s->userdata, reply);
        return 0;
}

int scope_get_stats(sd_bus *bus, const char *unit, scope_reply_callback_t cb, void *userdata)
{
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_free_ char *path = NULL;
        ScopeStatsCall *s;
        int r;

        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path);
        if (r < 0)
                return r;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = (ScopeStatsCall){ .cb = cb, .userdata = userdata };
        /* The cgroup's counters as systemd reads them (CPUUsageNSec, MemoryCurrent, TasksCurrent, IO…). */
        r = sd_bus_call_method_async(bus, &slot, "org.freedesktop.systemd1", path,
                                     "org.freedesktop.DBus.Properties", "GetAll", on_stats_reply, s, "s",
                                     "org.freedesktop.systemd1.Scope");
        if (r < 0) {
                free(s);
                return r;
        }
        (void) sd_bus_slot_set_destroy_callback(slot, free);
        return sd_bus_slot_set_floating(slot, 1);
}

typedef struct ScopeFreezerCall {
        scope_freezer_callback_t cb;
        void *userdata;
} ScopeFreezerCall;

static int on_freezer_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        ScopeFreezerCall *f = userdata;
        _cleanup_berth_error_ BerthError err = BERTH_ERROR_INIT;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *state = NULL;
        int r;

        r = e ? -sd_bus_error_get_errno(e) ?: -EIO : sd_bus_message_read(reply, "v", "s", &state);
        if (r < 0)
                berth_error_set(&err, r, "Cannot read the freezer state from systemd: %s",
                                e ? e->message ?: e->name : strerror(-r));
        f->cb(f->userdata, r < 0 ? &err : NULL, state);
        return 0;
}

int scope_get_freezer_state(sd_bus *bus, const char *unit, scope_freezer_callback_t cb, void *userdata)
{
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_free_ char *path = NULL;
        ScopeFreezerCall *f;
        int r;

        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path);
        if (r < 0)
                return r;
        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        *f = (ScopeFreezerCall){ .cb = cb, .userdata = userdata };
        r = sd_bus_call_method_async(bus, &slot, "org.freedesktop.systemd1", path,
                                     "org.freedesktop.DBus.Properties", "Get", on_freezer_reply, f, "ss",
                                     "org.freedesktop.systemd1.Unit", "FreezerState");
        if (r < 0) {
                free(f);
                return r;
        }
        (void) sd_bus_slot_set_destroy_callback(slot, free);
        return sd_bus_slot_set_floating(slot, 1);
}
