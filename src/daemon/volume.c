/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "daemon/container.h"
#include "daemon/volume-dbus.h"
#include "daemon/volume.h"
#include "runtime/mount-entry.h"
#include "shared/fs-util.h"
#include "shared/json-build.h"
#include "shared/json-read.h"
#include "shared/log.h"

#define VOLUME_RECORD_MAX ((size_t) 256U * 1024U)

void volume_info_done(VolumeInfo *v)
{
        g_clear_pointer(&v->name, g_free);
        g_clear_pointer(&v->mountpoint, g_free);
        g_clear_pointer(&v->labels, g_strfreev);
}

static char *volumes_dir(Manager *m)
{
        return g_strdup_printf("%s/volumes", m->state_dir);
}

static int write_record(const char *dir, uint64_t created_usec, bool anonymous, char **labels)
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonGenerator) g = json_generator_new();
        g_autoptr(JsonNode) root = NULL;
        g_autofree char *json = NULL, *path = g_strdup_printf("%s/volume.json", dir);

        json_builder_begin_object(b);
        json_build_int(b, "created_usec", (gint64) created_usec);
        json_build_bool(b, "anonymous", anonymous);
        json_build_strv(b, "labels", labels);
        json_builder_end_object(b);
        root = json_builder_get_root(b);
        json_generator_set_root(g, root);
        json = json_generator_to_data(g, NULL);
        return write_file_atomic_at(AT_FDCWD, path, json, strlen(json), 0644);
}

int volume_create(Manager *m, const char *name, char **labels, bool anonymous, BerthError *e,
                  bool *ret_created)
{
        g_autofree char *dir = NULL, *data = NULL;
        struct stat st;
        int r;

        if (!volume_name_is_valid(name))
                return berth_error_set(e, -EINVAL,
                                       "invalid volume name '%s': [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 255",
                                       name);
        STRV_FOREACH (l, labels)
                if (!strchr(*l, '=') || **l == '=')
                        return berth_error_set(e, -EINVAL, "a label must be KEY=VALUE: '%s'", *l);
        dir = g_strdup_printf("%s/volumes/%s", m->state_dir, name);
        data = g_strdup_printf("%s/_data", dir);
        if (stat(data, &st) == 0) {
                if (ret_created)
                        *ret_created = false;
                return 0;
        }
        r = mkdir_p_at(AT_FDCWD, data, 0755);
        if (r >= 0)
                r = write_record(dir, (uint64_t) g_get_real_time(), anonymous, labels);
        if (r < 0)
                return berth_error_set_errno(e, r, "cannot make the volume %s", name);
        log_info("Created volume %s.", name);
        volume_send_signal(m, name, true);
        if (ret_created)
                *ret_created = true;
        return 0;
}

int volume_get(Manager *m, const char *name, VolumeInfo *ret)
{
        g_autofree char *dir = NULL, *record = NULL, *json = NULL;
        g_autoptr(JsonParser) p = json_parser_new();
        _cleanup_(volume_info_done) VolumeInfo v = {};
        struct stat st;
        JsonNode *root;

        if (!volume_name_is_valid(name))
                return -ENOENT;
        dir = g_strdup_printf("%s/volumes/%s", m->state_dir, name);
        v.name = g_strdup(name);
        v.mountpoint = g_strdup_printf("%s/_data", dir);
        if (stat(v.mountpoint, &st) < 0 || !S_ISDIR(st.st_mode))
                return -ENOENT;
        v.created_usec = (uint64_t) st.st_mtim.tv_sec * 1000000U; /* a record lost: the directory's age */
        record = g_strdup_printf("%s/volume.json", dir);
        if (read_file_at(AT_FDCWD, record, VOLUME_RECORD_MAX, &json, NULL) >= 0 &&
            json_parser_load_from_data(p, json, -1, NULL) && (root = json_parser_get_root(p)) &&
            JSON_NODE_HOLDS_OBJECT(root)) {
                JsonObject *o = json_node_get_object(root);
                bool present;
                int64_t created;

                if (json_read_int64(o, "created_usec", &present, &created) >= 0 && present && created > 0)
                        v.created_usec = (uint64_t) created;
                (void) json_read_bool(o, "anonymous", &v.anonymous);
                (void) json_read_strv_or_empty(o, "labels", &v.labels);
        }
        if (!v.labels)
                v.labels = g_new0(char *, 1);
        *ret = v;
        v = (VolumeInfo){};
        return 0;
}

static int compare_names(gconstpointer a, gconstpointer b)
{
        return g_strcmp0(*(char *const *) a, *(char *const *) b);
}

char **volume_list(Manager *m)
{
        g_autoptr(GPtrArray) names = g_ptr_array_new();
        g_autofree char *dir = volumes_dir(m);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *n;

        while (d && (n = g_dir_read_name(d))) {
                g_autofree char *data = g_strdup_printf("%s/%s/_data", dir, n);
                if (volume_name_is_valid(n) && g_file_test(data, G_FILE_TEST_IS_DIR))
                        g_ptr_array_add(names, g_strdup(n));
        }
        g_ptr_array_sort(names, compare_names);
        g_ptr_array_add(names, NULL);
        return (char **) g_ptr_array_steal(names, NULL);
}

static bool container_uses_volume(const Container *c, const char *name)
{
        STRV_FOREACH (s, c->config.mounts) {
                _cleanup_(mount_entry_done) MountEntry e = {};
                if (mount_entry_parse_mount(*s, &e) >= 0 && e.type == MOUNT_TYPE_VOLUME &&
                    streq_ptr(e.source, name))
                        return true;
        }
        return false;
}

char **volume_used_by(Manager *m, const char *name)
{
        g_autoptr(GPtrArray) users = g_ptr_array_new();
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, m->containers);
        while (g_hash_table_iter_next(&it, NULL, &value))
                if (container_uses_volume(value, name))
                        g_ptr_array_add(users, g_strdup(((Container *) value)->name));
        g_ptr_array_sort(users, compare_names);
        g_ptr_array_add(users, NULL);
        return (char **) g_ptr_array_steal(users, NULL);
}

int volume_remove(Manager *m, const char *name, bool force, BerthError *e)
{
        g_autofree char *dir = volumes_dir(m), *path = NULL;
        g_auto(GStrv) users = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        path = g_strdup_printf("%s/%s", dir, name);
        if (!volume_name_is_valid(name) || lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
                return berth_error_set(e, -ENOENT, "no such volume: %s", name);
        users = volume_used_by(m, name);
        if (users[0] && !force) {
                g_autofree char *list = g_strjoinv(", ", users);
                return berth_error_set(e, -EBUSY, "volume %s is in use by %s", name, list);
        }
        fd = open_dir_at(AT_FDCWD, dir);
        if (fd < 0)
                return berth_error_set_errno(e, fd, "cannot open %s", dir);
        r = rm_rf_at(fd, name);
        if (r < 0)
                return berth_error_set_errno(e, r, "cannot remove the volume %s", name);
        log_info("Removed volume %s.", name);
        volume_send_signal(m, name, false);
        return 0;
}

void volume_remove_anonymous(Manager *m, char **mounts)
{
        STRV_FOREACH (s, mounts) {
                _cleanup_(mount_entry_done) MountEntry e = {};
                _cleanup_(volume_info_done) VolumeInfo v = {};
                _cleanup_berth_error_ BerthError err = BERTH_ERROR_INIT;

                if (mount_entry_parse_mount(*s, &e) < 0 || e.type != MOUNT_TYPE_VOLUME || !e.source ||
                    volume_get(m, e.source, &v) < 0 || !v.anonymous)
                        continue;
                /* Another container still naming it keeps it (-EBUSY), as Docker's. */
                if (volume_remove(m, e.source, false, &err) < 0 && err.error != -EBUSY)
                        log_warning("Failed to remove anonymous volume %s: %s", e.source,
                                    berth_error_message(&err));
        }
}

uint64_t volume_size(Manager *m, const char *name)
{
        g_autofree char *data = g_strdup_printf("%s/volumes/%s/_data", m->state_dir, name);
        uint64_t total = 0;
        int fd = open_dir_at(AT_FDCWD, data);

        if (fd >= 0)
                (void) dir_usage_at(fd, DIR_USAGE_IGNORE_VANISHED, &total);
        return total;
}

int volume_prune(Manager *m, bool all, char ***ret_removed, uint64_t *ret_reclaimed)
{
        g_auto(GStrv) names = volume_list(m);
        g_autoptr(GPtrArray) removed = g_ptr_array_new();
        uint64_t reclaimed = 0;

        STRV_FOREACH (n, names) {
                _cleanup_(volume_info_done) VolumeInfo v = {};
                g_auto(GStrv) users = volume_used_by(m, *n);
                uint64_t size;

                if (users[0] || volume_get(m, *n, &v) < 0 || (!all && !v.anonymous))
                        continue;
                size = volume_size(m, *n);
                if (volume_remove(m, *n, false, NULL) < 0)
                        continue;
                reclaimed += size;
                g_ptr_array_add(removed, g_strdup(*n));
        }
        g_ptr_array_add(removed, NULL);
        *ret_removed = (char **) g_ptr_array_steal(removed, NULL);
        *ret_reclaimed = reclaimed;
        return 0;
}

void volume_build_mount_points(Manager *m, JsonBuilder *b, const char *key, char **mounts)
{
        json_builder_set_member_name(b, key);
        json_builder_begin_array(b);
        STRV_FOREACH (s, mounts) {
                _cleanup_(mount_entry_done) MountEntry e = {};
                g_autofree char *source = NULL, *mode = NULL;

                if (mount_entry_parse_mount(*s, &e) < 0)
                        continue;
                if (e.type == MOUNT_TYPE_VOLUME)
                        source = g_strdup_printf("%s/volumes/%s/_data", m->state_dir, e.source);
                else if (e.type == MOUNT_TYPE_BIND)
                        source = g_strdup(e.source);
                mode = g_strdup_printf("%s%s%s", e.readonly ? "ro" : "",
                                       e.readonly && e.volume_nocopy ? "," : "",
                                       e.volume_nocopy ? "nocopy" : "");
                json_builder_begin_object(b);
                json_build_string(b, "Type", mount_type_to_string(e.type));
                if (e.type == MOUNT_TYPE_VOLUME)
                        json_build_string(b, "Name", e.source);
                json_build_string(b, "Source", strempty(source));
                json_build_string(b, "Destination", e.target);
                if (e.type == MOUNT_TYPE_VOLUME)
                        json_build_string(b, "Driver", "local");
                json_build_string(b, "Mode", mode);
                json_build_bool(b, "RW", !e.readonly);
                json_build_string(b, "Propagation", e.type == MOUNT_TYPE_BIND ? "rprivate" : "");
                json_builder_end_object(b);
        }
        json_builder_end_array(b);
}
