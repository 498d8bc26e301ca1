/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <json-glib/json-glib.h>

#include "runtime/container-state.h"
#include "shared/fs-util.h"
#include "shared/json-read.h"
#include "shared/log.h"

/* berthd's reader of state.json (json-glib); the writer, which berth-monitor shares, is container-state.c.
 */
#define CONTAINER_STATE_SIZE_MAX ((size_t) 64U * 1024U)

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
        bool unrecorded_end;
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
            get_int(o, "exit_signal", 0, INT32_MAX, &sig) < 0 ||
            json_read_bool(o, "unrecorded_end", &unrecorded_end) < 0)
                return -EBADMSG;

        r = json_read_string_dup(o, "error", &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return log_debug_errno(-EBADMSG, "State member 'error' is not a string");
        /* json-glib takes escapes JSON has not (GScanner's octal "\\333"), which can make bytes that are not
         * UTF-8: made valid here as the writer would make them (U+FFFD), so that a state loads back equal.
         */
        if (error && !g_utf8_validate(error, -1, NULL)) {
                char *valid = g_utf8_make_valid(error, -1);

                free(error);
                error = strdup(valid);
                g_free(valid);
                if (!error)
                        return -ENOMEM;
        }

        *ret = (ContainerState){
                .status = status,
                .monitor_pid = (pid_t) monitor_pid,
                .pid = (pid_t) pid,
                .started_usec = (uint64_t) started,
                .finished_usec = (uint64_t) finished,
                .exit_code = (int) code,
                .exit_signal = (int) sig,
                .error = error,
                .unrecorded_end = unrecorded_end,
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
