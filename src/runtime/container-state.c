/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <json-glib/json-glib.h>

#include "runtime/container-state.h"
#include "shared/fs-util.h"
#include "shared/json-read.h"
#include "shared/log.h"

#define CONTAINER_STATE_SIZE_MAX ((size_t) 64U * 1024U)
#define CONTAINER_STATE_RESERVE  ((size_t) 4096U)

static const char *const status_table[_CONTAINER_STATUS_MAX] = {
        [CONTAINER_CREATED] = "created",
        [CONTAINER_RUNNING] = "running",
        [CONTAINER_EXITED] = "exited",
};

const char *container_status_to_string(ContainerStatus s)
{
        return s >= 0 && s < _CONTAINER_STATUS_MAX ? status_table[s] : NULL;
}

ContainerStatus container_status_from_string(const char *s)
{
        if (!s)
                return _CONTAINER_STATUS_INVALID;
        for (int i = 0; i < _CONTAINER_STATUS_MAX; i++)
                if (streq(s, status_table[i]))
                        return (ContainerStatus) i;
        return _CONTAINER_STATUS_INVALID;
}

void container_state_done(ContainerState *s)
{
        if (!s)
                return;
        s->error = mfree(s->error);
}

/* Integer members: absent means 0, anything but an integer in range is a broken file. */
static int get_int(JsonObject *o, const char *key, int64_t min, int64_t max, int64_t *ret)
{
        int64_t v = 0;

        if (json_read_int64(o, key, NULL, &v) < 0)
                return log_debug_errno(-EBADMSG, "State member '%s' is not an integer", key);
        if (v < min || v > max)
                return log_debug_errno(-EBADMSG, "State member '%s' is out of range", key);
        *ret = v;
        return 0;
}

static int parse_state(JsonObject *o, ContainerState *ret)
{
        int64_t monitor_pid, pid, started, finished, code, sig;
        ContainerStatus status;
        const char *s;
        char *error = NULL;
        int r;

        if (json_read_string(o, "status", &s) < 0 || !s)
                return log_debug_errno(-EBADMSG, "State has no status string");
        status = container_status_from_string(s);
        if (status < 0)
                return log_debug_errno(-EBADMSG, "Unknown container status '%s'", s);

        if (get_int(o, "monitor_pid", 0, INT32_MAX, &monitor_pid) < 0 ||
            get_int(o, "pid", 0, INT32_MAX, &pid) < 0 ||
            get_int(o, "started_usec", 0, INT64_MAX, &started) < 0 ||
            get_int(o, "finished_usec", 0, INT64_MAX, &finished) < 0 ||
            get_int(o, "exit_code", INT32_MIN, INT32_MAX, &code) < 0 ||
            get_int(o, "exit_signal", 0, INT32_MAX, &sig) < 0)
                return -EBADMSG;

        r = json_read_string_dup(o, "error", &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return log_debug_errno(-EBADMSG, "State member 'error' is not a string");

        *ret = (ContainerState){
                .status = status,
                .monitor_pid = (pid_t) monitor_pid,
                .pid = (pid_t) pid,
                .started_usec = (uint64_t) started,
                .finished_usec = (uint64_t) finished,
                .exit_code = (int) code,
                .exit_signal = (int) sig,
                .error = error,
        };
        return 0;
}

int container_state_load(const char *path, ContainerState *ret)
{
        g_autoptr(JsonParser) parser = NULL;
        g_autoptr(GError) error = NULL;
        _cleanup_free_ char *json = NULL;
        size_t size;
        JsonNode *root;
        int r;

        if (!path || !ret)
                return -EINVAL;

        r = read_file_at(AT_FDCWD, path, CONTAINER_STATE_SIZE_MAX, &json, &size);
        if (r == -EFBIG || r == -EBADFD)
                return -EBADMSG;
        if (r < 0)
                return r;

        parser = json_parser_new_immutable();
        if (!json_parser_load_from_data(parser, json, (gssize) size, &error))
                return log_debug_errno(-EBADMSG, "State file '%s' is not JSON: %s", path, error->message);
        root = json_parser_get_root(parser);
        if (!root || !JSON_NODE_HOLDS_OBJECT(root))
                return log_debug_errno(-EBADMSG, "State file '%s' is not a JSON object", path);

        return parse_state(json_node_get_object(root), ret);
}

static void add_int(JsonBuilder *b, const char *key, int64_t v)
{
        json_builder_set_member_name(b, key);
        json_builder_add_int_value(b, v);
}

int container_state_save(const char *path, const ContainerState *s)
{
        g_autoptr(JsonBuilder) b = NULL;
        g_autoptr(JsonGenerator) g = NULL;
        g_autoptr(JsonNode) root = NULL;
        g_autofree char *json = NULL;
        gsize size;

        if (!path || !s || !container_status_to_string(s->status))
                return -EINVAL;

        b = json_builder_new();
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "status");
        json_builder_add_string_value(b, container_status_to_string(s->status));
        add_int(b, "monitor_pid", s->monitor_pid);
        add_int(b, "pid", s->pid);
        add_int(b, "started_usec", (int64_t) s->started_usec);
        add_int(b, "finished_usec", (int64_t) s->finished_usec);
        add_int(b, "exit_code", s->exit_code);
        add_int(b, "exit_signal", s->exit_signal);
        if (s->error) {
                json_builder_set_member_name(b, "error");
                json_builder_add_string_value(b, s->error);
        }
        json_builder_end_object(b);

        root = json_builder_get_root(b);
        g = json_generator_new();
        json_generator_set_root(g, root);
        json_generator_set_pretty(g, true);
        json = json_generator_to_data(g, &size);
        if (!json)
                return -ENOMEM;

        /* 0644: berthctl users may read it; only root (berthd or the monitor) writes. With a spare of one
         * page kept beside it, so that the exit of a container that filled the disk is still recorded and it
         * can still be stopped and started. */
        return write_file_reserved_at(AT_FDCWD, path, json, size, CONTAINER_STATE_RESERVE, 0644);
}
