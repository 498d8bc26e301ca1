/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <fcntl.h>
#include <dirent.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "shared/berth-messages.h"
#include "shared/berth-unit.h"
#include "daemon/container-dbus.h"
#include "daemon/container-restart.h"
#include "daemon/container.h"
#include "daemon/volume.h"
#include "network/etc-files.h"
#include "shared/fs-util.h"
#include "shared/json-build.h"
#include "shared/json-read.h"
#include "shared/log.h"

#define CONTAINER_RECORD_MAX (4U * 1024U * 1024U)

Container *container_free(Container *c)
{
        if (!c)
                return NULL;
        container_release_runtime(c);
        if (c->start_waiters)
                g_ptr_array_unref(c->start_waiters);
        if (c->exit_waiters)
                g_ptr_array_unref(c->exit_waiters);
        if (c->restart_waiters)
                g_ptr_array_unref(c->restart_waiters);
        sd_event_source_disable_unref(c->restart_timer);
        free(c->id);
        free(c->name);
        free(c->run_name);
        free(c->image_name);
        free(c->image_id);
        container_config_done(&c->config);
        free(c->properties_json);
        free(c->start_error);
        g_strfreev(c->start_device_rules);
        container_state_done(&c->state);
        return mfree(c);
}

char *container_scope_unit(const Container *c)
{
        return berth_scope_name(container_run_name(c));
}

Container *manager_container_holding_name(Manager *m, const char *name)
{
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, m->containers);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                Container *c = value;
                if (streq(c->name, name) || (c->run_name && streq(c->run_name, name)))
                        return c;
        }
        return NULL;
}

static Container *container_new(Manager *m)
{
        Container *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->manager = m;
        c->monitor_pidfd = c->init_pidfd = -EBADF;
        c->sync_fd = -EBADF;
        c->state = (ContainerState) CONTAINER_STATE_INIT;
        c->creator_uid = UID_INVALID;
        c->start_waiters = g_ptr_array_new_with_free_func(bus_message_unref_destroy);
        c->exit_waiters = g_ptr_array_new_with_free_func(bus_message_unref_destroy);
        c->restart_waiters = g_ptr_array_new_with_free_func(bus_message_unref_destroy);
        return c;
}

const char *container_dir(Container *c, char *buf, size_t size)
{
        snprintf(buf, size, "%s/containers/%s", c->manager->state_dir, c->id);
        return buf;
}

int container_object_path(const char *name, char **ret)
{
        return sd_bus_path_encode("/org/berth1/container", name, ret);
}

static int container_record_to_json(Container *c, char **ret, size_t *ret_size)
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonGenerator) gen = json_generator_new();
        g_autoptr(JsonParser) props = json_parser_new();
        g_autoptr(JsonNode) root = NULL;
        gsize n;

        if (!json_parser_load_from_data(props, c->properties_json ?: "[]", -1, NULL))
                return -EINVAL;

        json_builder_begin_object(b);
        json_build_string(b, "id", c->id);
        json_build_string(b, "name", c->name);
        json_build_string(b, "image", c->image_name);
        json_build_string(b, "image_id", c->image_id);
        json_build_int(b, "created_usec", (gint64) c->created_usec);
        if (c->creator_uid != UID_INVALID)
                json_build_int(b, "creator_uid", (gint64) c->creator_uid);
        json_build_strv(b, "argv", c->config.argv);
        json_build_strv(b, "entrypoint", c->config.entrypoint);
        json_build_strv(b, "cmd", c->config.cmd);
        json_build_strv(b, "env", c->config.env);
        json_build_string(b, "workdir", c->config.workdir);
        json_build_string(b, "user", c->config.user);
        json_build_string(b, "hostname", c->config.hostname);
        json_build_string(b, "network", c->config.network);
        json_build_string(b, "stop_signal", c->config.stop_signal);
        json_build_bool(b, "tty", c->config.tty);
        json_build_bool(b, "interactive", c->config.interactive);
        json_build_bool(b, "privileged", c->config.privileged);
        json_build_bool(b, "no_new_privileges", c->config.no_new_privileges);
        json_build_bool(b, "seccomp_unconfined", c->config.seccomp_unconfined);
        json_build_strv(b, "cap_add", c->config.cap_add);
        json_build_strv(b, "cap_drop", c->config.cap_drop);
        json_build_strv(b, "devices", c->config.devices);
        json_build_strv(b, "dns", c->config.dns);
        json_build_strv(b, "dns_search", c->config.dns_search);
        json_build_strv(b, "add_hosts", c->config.add_hosts);
        json_build_strv(b, "ports", c->config.ports);
        json_build_strv(b, "networks", c->config.networks);
        json_build_strv(b, "network_aliases", c->config.network_aliases);
        json_build_strv(b, "network_ips", c->config.network_ips);
        json_build_strv(b, "mounts", c->config.mounts);
        json_build_bool(b, "read_only", c->config.read_only);
        if (c->config.remove_on_exit)
                json_build_bool(b, "remove_on_exit", true);
        if (c->config.restart)
                json_build_string(b, "restart", c->config.restart);
        json_builder_set_member_name(b, "properties");
        json_builder_add_value(b, json_node_copy(json_parser_get_root(props)));
        json_builder_end_object(b);

        root = json_builder_get_root(b);
        json_generator_set_root(gen, root);
        json_generator_set_pretty(gen, true);
        *ret = json_generator_to_data(gen, &n);
        *ret_size = n;
        return 0;
}

static char **get_strv(JsonObject *o, const char *key)
{
        JsonNode *n = json_object_get_member(o, key);
        GPtrArray *v = g_ptr_array_new();

        if (n && JSON_NODE_HOLDS_ARRAY(n)) {
                JsonArray *a = json_node_get_array(n);
                for (guint i = 0; i < json_array_get_length(a); i++) {
                        const char *s = json_node_get_string(json_array_get_element(a, i));
                        if (s)
                                g_ptr_array_add(v, g_strdup(s));
                }
        }
        g_ptr_array_add(v, NULL);
        return (char **) g_ptr_array_free(v, false);
}

static char *get_string(JsonObject *o, const char *key)
{
        const char *s = NULL;
        return g_strdup(json_read_string(o, key, &s) >= 0 ? s : NULL);
}

static int container_record_from_json(Container *c, const char *data, size_t size)
{
        g_autoptr(JsonParser) p = json_parser_new();
        g_autoptr(JsonGenerator) gen = json_generator_new();
        JsonNode *root, *props;
        JsonObject *o;

        if (!json_parser_load_from_data(p, data, (gssize) size, NULL))
                return -EBADMSG;
        root = json_parser_get_root(p);
        if (!root || !JSON_NODE_HOLDS_OBJECT(root))
                return -EBADMSG;
        o = json_node_get_object(root);

        c->id = get_string(o, "id");
        c->name = get_string(o, "name");
        c->image_name = get_string(o, "image");
        c->image_id = get_string(o, "image_id");
        c->created_usec = (uint64_t) json_object_get_int_member_with_default(o, "created_usec", 0);
        /* Records from before this field have no creator: only root sees their environment and command. */
        gint64 uid = json_object_get_int_member_with_default(o, "creator_uid", -1);
        c->creator_uid = uid >= 0 && uid < (gint64) UID_INVALID ? (uid_t) uid : UID_INVALID;
        c->config.argv = get_strv(o, "argv");
        c->config.entrypoint = get_strv(o, "entrypoint");
        c->config.cmd = get_strv(o, "cmd");
        c->config.env = get_strv(o, "env");
        c->config.workdir = get_string(o, "workdir");
        c->config.user = get_string(o, "user");
        c->config.hostname = get_string(o, "hostname");
        c->config.network = get_string(o, "network");
        c->config.stop_signal = get_string(o, "stop_signal");
        c->config.tty = json_object_get_boolean_member_with_default(o, "tty", false);
        c->config.interactive = json_object_get_boolean_member_with_default(o, "interactive", false);
        /* Records written before confinement existed lack these: Docker's defaults, the safe reading. */
        c->config.privileged = json_object_get_boolean_member_with_default(o, "privileged", false);
        c->config.no_new_privileges =
                json_object_get_boolean_member_with_default(o, "no_new_privileges", false);
        c->config.seccomp_unconfined =
                json_object_get_boolean_member_with_default(o, "seccomp_unconfined", false);
        c->config.cap_add = get_strv(o, "cap_add");
        c->config.cap_drop = get_strv(o, "cap_drop");
        c->config.devices = get_strv(o, "devices");
        c->config.dns = get_strv(o, "dns");
        c->config.dns_search = get_strv(o, "dns_search");
        c->config.add_hosts = get_strv(o, "add_hosts");
        c->config.ports = get_strv(o, "ports");
        c->config.networks = get_strv(o, "networks");
        c->config.network_aliases = get_strv(o, "network_aliases");
        c->config.network_ips = get_strv(o, "network_ips");
        c->config.mounts = get_strv(o, "mounts");
        c->config.read_only = json_object_get_boolean_member_with_default(o, "read_only", false);
        c->config.remove_on_exit = json_object_get_boolean_member_with_default(o, "remove_on_exit", false);
        c->config.restart = get_string(o, "restart");
        props = json_object_get_member(o, "properties");
        if (props && JSON_NODE_HOLDS_ARRAY(props)) {
                json_generator_set_root(gen, props);
                c->properties_json = json_generator_to_data(gen, NULL);
        } else
                c->properties_json = g_strdup("[]");

        if (isempty(c->id) || strlen(c->id) != 64 || !container_name_is_valid(strempty(c->name)) ||
            isempty(c->image_id) || !c->config.argv[0])
                return -EBADMSG;
        return 0;
}

int container_save_state(Container *c)
{
        char dir[PATH_MAX], path[PATH_MAX];

        snprintf(path, sizeof(path), "%s/state.json", container_dir(c, dir, sizeof(dir)));
        return container_state_save(path, &c->state);
}

int container_save_record(Container *c)
{
        _cleanup_free_ char *record = NULL;
        _cleanup_close_ int dir_fd = -EBADF;
        char dir[PATH_MAX];
        size_t size;
        int r;

        r = container_record_to_json(c, &record, &size);
        if (r < 0)
                return r;
        dir_fd = open_dir_at(AT_FDCWD, container_dir(c, dir, sizeof(dir)));
        if (dir_fd < 0)
                return dir_fd;
        /* An auto_remove container (run --rm) never outlives its run: never synced, as at create. */
        return write_file_atomic_flags_at(dir_fd, "config.json", record, size, 0600,
                                          c->auto_remove ? WRITE_FILE_NO_SYNC : 0);
}

/* hosts is rewritten at each start on the bridge (its own address): with a spare, so a start on a full disk
 * does not fail for it. Trailing spaces are nothing to a hosts file. */
#define ETC_HOSTS_RESERVE 4096

/* /etc/hostname, hosts and resolv.conf of the container (network/etc-files.h), bound over the image's by the
 * child. hosts names the container's own address once it has one (container_write_hosts() at start). Into
 * the new container's temp dir, unsynced: container_create() syncs them all at once. */
static int write_etc_files(Container *c, int dir_fd)
{
        _cleanup_free_ char *hosts = NULL, *hostname = NULL, *resolv = NULL;
        int r;

        hostname = g_strdup_printf("%s\n", c->config.hostname);
        hosts = etc_hosts_generate(c->config.hostname, NULL, c->config.add_hosts);
        r = resolv_conf_for_container(streq_ptr(c->config.network, "host"), c->config.dns,
                                      c->config.dns_search, &resolv);
        if (r >= 0)
                r = write_file_atomic_flags_at(dir_fd, "hostname", hostname, strlen(hostname), 0644,
                                               WRITE_FILE_NO_SYNC);
        if (r >= 0)
                r = write_file_reserved_flags_at(dir_fd, "hosts", hosts, strlen(hosts), ETC_HOSTS_RESERVE,
                                                 0644, WRITE_FILE_NO_SYNC);
        if (r >= 0)
                r = write_file_atomic_flags_at(dir_fd, "resolv.conf", resolv, strlen(resolv), 0644,
                                               WRITE_FILE_NO_SYNC);
        return r;
}

int container_write_hosts(Container *c, const char *address)
{
        _cleanup_free_ char *hosts = etc_hosts_generate(c->config.hostname, address, c->config.add_hosts);
        char dir[PATH_MAX], path[PATH_MAX];

        snprintf(path, sizeof(path), "%s/hosts", container_dir(c, dir, sizeof(dir)));
        /* Unsynced: written again at every start, before the container sees it. */
        return write_file_reserved_flags_at(AT_FDCWD, path, hosts, strlen(hosts), ETC_HOSTS_RESERVE, 0644,
                                            WRITE_FILE_NO_SYNC);
}

int container_generate_id(char ret[static 65])
{
        uint8_t bytes[32];

        do {
                if (getrandom(bytes, sizeof(bytes), 0) != sizeof(bytes))
                        return -errno;
                for (size_t i = 0; i < sizeof(bytes); i++)
                        sprintf(ret + 2 * i, "%02x", bytes[i]);
        } while (strspn(ret, "0123456789") >= 12);
        return 0;
}

/* A container dir being made: removed again unless the make succeeded (name reset to NULL). */
typedef struct TmpDir {
        int dir_fd;
        const char *name;
} TmpDir;

static void tmp_dir_remove(TmpDir *t)
{
        if (t->name)
                (void) rm_rf_at(t->dir_fd, t->name);
}

static void sync_fds_close(ContainerSyncFds *s)
{
        for (size_t i = 0; i < s->n; i++)
                s->fds[i] = safe_close(s->fds[i]);
        s->n = 0;
}

static int sync_fds_add(ContainerSyncFds *s, int dir_fd, const char *path)
{
        int fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0)
                return -errno;
        assert(s->n < CONTAINER_SYNC_FDS_MAX);
        s->fds[s->n++] = fd;
        return 0;
}

int container_create(Manager *m, const char *id, const char *image_name, const char *image_id,
                     const char *name, ContainerConfig *config, const char *properties_json,
                     uid_t creator_uid, Container **ret, ContainerSyncFds *ret_sync)
{
        _cleanup_(sync_fds_close) ContainerSyncFds sync = {};
        _cleanup_(container_freep) Container *c = NULL;
        _cleanup_free_ char *record = NULL, *tmp_name = NULL;
        _cleanup_close_ int containers_fd = -EBADF, dir_fd = -EBADF;
        /* Declared last, so it runs first, while containers_fd is still open. */
        _cleanup_(tmp_dir_remove) TmpDir tmp = { .dir_fd = -EBADF };
        char dir[PATH_MAX];
        size_t record_size;
        int r;

        c = container_new(m);
        if (!c)
                return -ENOMEM;
        c->id = strdup(id);
        c->name = strdup(name);
        c->image_name = strdup(image_name);
        c->image_id = strdup(image_id);
        c->properties_json = strdup(properties_json ?: "[]");
        c->created_usec = g_get_real_time();
        c->creator_uid = creator_uid;
        c->config = *config;
        *config = (ContainerConfig){};
        c->remove_on_exit = c->config.remove_on_exit;
        if (!c->id || !c->name || !c->image_name || !c->image_id || !c->properties_json)
                return -ENOMEM;

        /* Built under a temp name and renamed, so a crash leaves either a whole container or a ".tmp-" dir
         * that the next start deletes. */
        snprintf(dir, sizeof(dir), "%s/containers", m->state_dir);
        r = mkdir_p_at(AT_FDCWD, dir, 0700);
        if (r < 0)
                return r;
        containers_fd = open_dir_at(AT_FDCWD, dir);
        if (containers_fd < 0)
                return containers_fd;
        tmp_name = g_strdup_printf(".tmp-%s", id);
        if (mkdirat(containers_fd, tmp_name, 0700) < 0)
                return -errno;
        /* On a full disk (or any failure below) the half-made dir goes at once, not at the next start. */
        tmp = (TmpDir){ .dir_fd = containers_fd, .name = tmp_name };
        dir_fd = open_dir_at(containers_fd, tmp_name);
        if (dir_fd < 0)
                return dir_fd;
        if (mkdirat(dir_fd, "diff", 0755) < 0 || mkdirat(dir_fd, "work", 0700) < 0 ||
            mkdirat(dir_fd, "merged", 0755) < 0)
                return -errno;
        r = write_etc_files(c, dir_fd);
        if (r < 0)
                return r;
        r = container_record_to_json(c, &record, &record_size);
        if (r < 0)
                return r;
        r = write_file_atomic_flags_at(dir_fd, "config.json", record, record_size, 0600, WRITE_FILE_NO_SYNC);
        if (r < 0)
                return r;
        /* state.json is not synced at all: a container loaded without a readable state is "created", as this
         * one is. */
        snprintf(dir, sizeof(dir), "%s/containers/%s/state.json", m->state_dir, tmp_name);
        r = container_state_save_flags(dir, &c->state, WRITE_FILE_NO_SYNC);
        if (r < 0)
                return r;
        /* What makes it durable: the files' fsyncs, then their directory's, then the rename's. Taken now,
         * made after the rename (off the loop, by the caller): a power loss before they are done may leave
         * the directory with an empty or no config.json, which manager_load_containers() removes as a
         * create that never answered. */
        static const char *const synced[] = { "config.json", "hostname", "hosts", "resolv.conf" };
        for (size_t i = 0; i < ELEMENTSOF(synced); i++) {
                r = sync_fds_add(&sync, dir_fd, synced[i]);
                if (r < 0)
                        return r;
        }
        sync.fds[sync.n++] = TAKE_FD(dir_fd);
        if (renameat(containers_fd, tmp_name, containers_fd, id) < 0)
                return -errno;
        tmp.name = NULL;
        sync.fds[sync.n++] = TAKE_FD(containers_fd);
        if (ret_sync) {
                *ret_sync = sync;
                sync.n = 0;
        }

        g_hash_table_insert(m->containers, c->id, c);
        *ret = TAKE_PTR(c);
        return 0;
}

static int container_load_one(Manager *m, int containers_fd, const char *id)
{
        _cleanup_(container_freep) Container *c = NULL;
        _cleanup_free_ char *data = NULL;
        char dir[PATH_MAX], path[PATH_MAX];
        size_t size;
        int r;

        snprintf(path, sizeof(path), "%s/config.json", id);
        r = read_file_at(containers_fd, path, CONTAINER_RECORD_MAX, &data, &size);
        if (r == -ENOENT || (r >= 0 && size == 0))
                return -ENODATA; /* a create whose syncs a power loss cut short (container_create()) */
        if (r < 0)
                return r;
        c = container_new(m);
        if (!c)
                return -ENOMEM;
        r = container_record_from_json(c, data, size);
        if (r < 0)
                return r;
        if (!streq(c->id, id))
                return -EBADMSG;
        snprintf(path, sizeof(path), "%s/state.json", container_dir(c, dir, sizeof(dir)));
        r = container_state_load(path, &c->state);
        if (r < 0) {
                log_warning_errno(r, "Container %s has no readable state, treating it as created: %m",
                                  c->name);
                c->state = (ContainerState) CONTAINER_STATE_INIT;
        }
        if (g_hash_table_contains(m->containers, c->id))
                return -EEXIST;
        g_hash_table_insert(m->containers, c->id, c);
        /* The policy first: it reads the user's recorded stop, which an adopted monitor found gone needs. */
        container_policy_at_load(c);
        (void) container_adopt(TAKE_PTR(c));
        return 0;
}

int manager_load_containers(Manager *m)
{
        _cleanup_(closedirp) DIR *d = NULL;
        char dir[PATH_MAX];
        struct dirent *de;
        int r;

        snprintf(dir, sizeof(dir), "%s/containers", m->state_dir);
        r = mkdir_p_at(AT_FDCWD, dir, 0700);
        if (r < 0)
                return r;
        d = opendir(dir);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' && !startswith(de->d_name, ".tmp-"))
                        continue;
                if (startswith(de->d_name, CONTAINER_TRASH_PREFIX))
                        continue; /* removed: the trash child deletes it */
                if (startswith(de->d_name, ".tmp-")) {
                        r = rm_rf_at(dirfd(d), de->d_name);
                        if (r < 0)
                                log_warning_errno(r, "Failed to remove half-created container %s: %m",
                                                  de->d_name);
                        continue;
                }
                r = container_load_one(m, dirfd(d), de->d_name);
                if (r == -ENODATA) {
                        /* Never answered as created: unlisted, and deleted with the trash. */
                        _cleanup_free_ char *trash =
                                g_strdup_printf(CONTAINER_TRASH_PREFIX "%s", de->d_name);

                        log_warning("Container %s has no record (its create did not finish), removing it.",
                                    de->d_name);
                        if (renameat(dirfd(d), de->d_name, dirfd(d), trash) < 0)
                                log_warning_errno(-errno, "Failed to remove container %s: %m", de->d_name);
                } else if (r < 0)
                        log_warning_errno(r, "Failed to load container %s, ignoring it: %m", de->d_name);
        }
        return 0;
}

static int no_such_container(BerthError *e, const char *key)
{
        return berth_error_set(e, -ENOENT, "No such container: %s", key);
}

int manager_find_container(Manager *m, const char *key, BerthError *e, Container **ret)
{
        GHashTableIter it;
        Container *c, *found = NULL;
        size_t n = strlen(key);

        if (isempty(key))
                return no_such_container(e, key);
        /* Docker's order: the full id, then an exact name, then a unique id prefix. So no name can shadow
         * another container's id (and new names may not be 64 hex digits at all, container_name_is_id()),
         * while a name that merely looks like an id prefix still names its container. */
        c = g_hash_table_lookup(m->containers, key);
        if (c) {
                *ret = c;
                return 0;
        }
        g_hash_table_iter_init(&it, m->containers);
        while (g_hash_table_iter_next(&it, NULL, (gpointer *) &c))
                if (streq(c->name, key)) {
                        *ret = c;
                        return 0;
                }
        g_hash_table_iter_init(&it, m->containers);
        while (g_hash_table_iter_next(&it, NULL, (gpointer *) &c))
                if (n <= 64 && strneq(c->id, key, n)) {
                        if (found)
                                return berth_error_set(
                                        e, -ENOTUNIQ,
                                        "'%s' matches more than one container id; give more characters",
                                        key);
                        found = c;
                }
        if (!found)
                return no_such_container(e, key);
        *ret = found;
        return 0;
}

bool manager_image_used_by_container(Manager *m, const char *image_id)
{
        GHashTableIter it;
        Container *c;

        g_hash_table_iter_init(&it, m->containers);
        while (g_hash_table_iter_next(&it, NULL, (gpointer *) &c))
                if (streq(c->image_id, image_id))
                        return true;
        return false;
}

int container_remove_on_exit(Container *c)
{
        g_auto(GStrv) mounts = c->config.remove_on_exit ? g_strdupv(c->config.mounts) : NULL;
        Manager *m = c->manager;
        int r;

        r = container_remove(c);
        if (r < 0)
                return log_warning_errno(r, "Failed to remove container %s once it exited: %m", c->name);
        volume_remove_anonymous(m, mounts);
        return 0;
}

void manager_remove_exited_on_load(Manager *m)
{
        g_autoptr(GPtrArray) exited = g_ptr_array_new();
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, m->containers);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                Container *c = value;

                if (!c->config.remove_on_exit)
                        continue;
                if (c->state.status == CONTAINER_EXITED && !c->monitor_source)
                        g_ptr_array_add(exited, c);
                else
                        c->remove_on_exit = true;
        }
        for (guint i = 0; i < exited->len; i++) {
                Container *c = exited->pdata[i];

                log_info("Container %s (--rm) exited while berthd was not running, removing it.", c->name);
                (void) container_remove_on_exit(c);
        }
}

int container_remove(Container *c)
{
        Manager *m = c->manager;
        _cleanup_close_ int containers_fd = -EBADF;
        _cleanup_free_ char *trash = NULL, *path = NULL;
        char dir[PATH_MAX];

        snprintf(dir, sizeof(dir), "%s/containers", m->state_dir);
        containers_fd = open_dir_at(AT_FDCWD, dir);
        if (containers_fd < 0)
                return containers_fd;
        /* Unlist first (a rename), then delete: a crash in between leaves a ".tmp-rm-" dir, not half a
         * container. The delete runs in the trash child: a writable layer of millions of files must not
         * hold up the event loop. */
        trash = g_strdup_printf(CONTAINER_TRASH_PREFIX "%s", c->id);
        if (renameat(containers_fd, c->id, containers_fd, trash) < 0)
                return -errno;
        manager_empty_trash_soon(m);
        snprintf(dir, sizeof(dir), "%s/containers/%s", m->runtime_dir, c->id);
        (void) rm_rf_at(AT_FDCWD, dir);

        sd_journal_send("MESSAGE=Container %s removed.", c->name,
                        "MESSAGE_ID=" BERTH_MESSAGE_CONTAINER_REMOVED, "PRIORITY=%i", LOG_INFO,
                        "CONTAINER_NAME=%s", c->name, "CONTAINER_ID=%.12s", c->id, "CONTAINER_ID_FULL=%s",
                        c->id, NULL);
        container_send_signal(c, false);
        g_hash_table_remove(m->containers, c->id);
        container_free(c);
        return 0;
}
