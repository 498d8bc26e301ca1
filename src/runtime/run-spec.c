/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <stddef.h>

#include "runtime/run-spec.h"
#include "shared/fs-util.h"
#include "shared/json-read.h"
#include "shared/log.h"

/* A spec is written by berthd and read back only by berth-monitor, but both may come from different
 * builds across an upgrade (a running monitor outlives the daemon), so members are named, unknown ones are
 * ignored, and one table drives both directions: the names below are the file format. */
#define RUN_SPEC_SIZE_MAX ((size_t) 1024U * 1024U)

typedef enum FieldType {
        FIELD_STRING,
        FIELD_STRV,
        FIELD_BOOL,
} FieldType;

typedef struct Field {
        const char *name;
        FieldType type;
        size_t offset;
        bool required;
} Field;

#define STR(n, req)                                                                                         \
        {                                                                                                   \
#n, FIELD_STRING, offsetof(RunSpec, n), req                                                 \
        }
#define STRV(n, req)                                                                                        \
        {                                                                                                   \
#n, FIELD_STRV, offsetof(RunSpec, n), req                                                   \
        }
#define BOOL(n)                                                                                             \
        {                                                                                                   \
#n, FIELD_BOOL, offsetof(RunSpec, n), false                                                 \
        }

static const Field fields[] = {
        STR(id, true),
        STR(name, true),
        STR(image_name, false),
        STR(layers_dir, false),
        STR(lowerdir, false),
        STR(upperdir, false),
        STR(workdir, false),
        STR(rootfs, true),
        STRV(argv, true),
        STRV(env, false),
        STR(cwd, false),
        STR(user, false),
        STR(hostname, false),
        STR(hostname_file, false),
        STR(hosts_file, false),
        STR(resolv_conf_file, false),
        BOOL(tty),
        BOOL(interactive),
        BOOL(host_network),
        BOOL(network_inherited),
        STR(state_file, true),
        STR(attach_socket, false),
        BOOL(privileged),
        BOOL(no_new_privileges),
        BOOL(seccomp_unconfined),
        STRV(cap_add, false),
        STRV(cap_drop, false),
        STR(seccomp_filter, false),
        STRV(devices, false),
        STRV(mounts, false),
        BOOL(read_only),
        STRV(copy_up, false),
};

#define FIELD_PTR(s, f, type) ((type *) ((uint8_t *) (s) + (f)->offset))

RunSpec *run_spec_free(RunSpec *s)
{
        if (!s)
                return NULL;

        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (fields[i].type == FIELD_STRING)
                        free(*FIELD_PTR(s, &fields[i], char *));
                else if (fields[i].type == FIELD_STRV)
                        g_strfreev(*FIELD_PTR(s, &fields[i], char **));
        return mfree(s);
}

int run_spec_to_json(const RunSpec *s, char **ret)
{
        g_autoptr(JsonBuilder) b = NULL;
        g_autoptr(JsonGenerator) g = NULL;
        g_autoptr(JsonNode) root = NULL;
        char *json;

        if (!s || !ret)
                return -EINVAL;

        b = json_builder_new();
        json_builder_begin_object(b);
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const Field *f = &fields[i];

                switch (f->type) {
                case FIELD_STRING: {
                        const char *v = *FIELD_PTR(s, f, char *);
                        if (!v)
                                continue;
                        json_builder_set_member_name(b, f->name);
                        json_builder_add_string_value(b, v);
                        break;
                }
                case FIELD_STRV: {
                        char **v = *FIELD_PTR(s, f, char **);
                        if (!v)
                                continue;
                        json_builder_set_member_name(b, f->name);
                        json_builder_begin_array(b);
                        STRV_FOREACH (e, v)
                                json_builder_add_string_value(b, *e);
                        json_builder_end_array(b);
                        break;
                }
                case FIELD_BOOL:
                        json_builder_set_member_name(b, f->name);
                        json_builder_add_boolean_value(b, *FIELD_PTR(s, f, bool));
                        break;
                }
        }
        json_builder_end_object(b);

        root = json_builder_get_root(b);
        g = json_generator_new();
        json_generator_set_root(g, root);
        json_generator_set_pretty(g, true);
        json = json_generator_to_data(g, NULL);
        if (!json)
                return -ENOMEM;
        /* GLib's allocator is malloc() since 2.46, so the caller may free() it. */
        *ret = json;
        return 0;
}

static int parse_field(JsonObject *o, const Field *f, RunSpec *s)
{
        JsonNode *n = json_object_get_member(o, f->name);
        int r;

        if (!n || JSON_NODE_HOLDS_NULL(n))
                return f->required ? log_debug_errno(-EBADMSG, "Run spec lacks '%s'", f->name) : 0;

        /* GLib's allocator is malloc() since 2.46: run_spec_free()'s g_strfreev() frees these strvs. */
        switch (f->type) {
        case FIELD_STRING:
                r = json_read_string_dup(o, f->name, FIELD_PTR(s, f, char *));
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return log_debug_errno(-EBADMSG, "Run spec member '%s' is not a string", f->name);
                return 0;
        case FIELD_STRV:
                r = json_read_strv(o, f->name, FIELD_PTR(s, f, char **));
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return log_debug_errno(-EBADMSG, "Run spec member '%s' is not a string list",
                                               f->name);
                return 0;
        case FIELD_BOOL:
                if (json_read_bool(o, f->name, FIELD_PTR(s, f, bool)) < 0)
                        return log_debug_errno(-EBADMSG, "Run spec member '%s' is not a boolean", f->name);
                return 0;
        }
        return -EINVAL;
}

int run_spec_from_json(const char *json, RunSpec **ret)
{
        g_autoptr(JsonParser) parser = NULL;
        g_autoptr(GError) error = NULL;
        _cleanup_(run_spec_freep) RunSpec *s = NULL;
        JsonNode *root;
        JsonObject *o;
        int r;

        if (!json || !ret)
                return -EINVAL;

        parser = json_parser_new_immutable();
        if (!json_parser_load_from_data(parser, json, -1, &error))
                return log_debug_errno(-EBADMSG, "Run spec is not JSON: %s", error->message);
        root = json_parser_get_root(parser);
        if (!root || !JSON_NODE_HOLDS_OBJECT(root))
                return log_debug_errno(-EBADMSG, "Run spec is not a JSON object");
        o = json_node_get_object(root);

        s = calloc(1, sizeof(RunSpec));
        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                r = parse_field(o, &fields[i], s);
                if (r < 0)
                        return r;
        }
        if (!s->argv[0])
                return log_debug_errno(-EBADMSG, "Run spec has an empty argv");

        *ret = TAKE_PTR(s);
        return 0;
}

int run_spec_load(const char *path, RunSpec **ret)
{
        _cleanup_free_ char *json = NULL;
        int r;

        r = read_file_at(AT_FDCWD, path, RUN_SPEC_SIZE_MAX, &json, NULL);
        if (r < 0)
                return r;
        return run_spec_from_json(json, ret);
}
