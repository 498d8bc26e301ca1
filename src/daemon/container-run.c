/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "shared/berth-messages.h"
#include "daemon/network.h"
#include "daemon/bus-errors.h"
#include "daemon/container-attach.h"
#include "daemon/container-dbus.h"
#include "daemon/container-monitor.h"
#include "daemon/container-cni.h"
#include "daemon/container-network.h"
#include "daemon/container-verbs.h"
#include "daemon/container.h"
#include "daemon/machine.h"
#include "daemon/network-dns.h"
#include "daemon/volume.h"
#include "network/bridge.h"
#include "network/netns.h"
#include "runtime/caps.h"
#include "runtime/monitor-protocol.h"
#include "runtime/mount-entry.h"
#include "runtime/mount-util.h"
#include "runtime/run-spec.h"
#include "runtime/seccomp-profile.h"
#include "daemon/scope.h"
#include "shared/berth-unit.h"
#include "shared/fs-util.h"
#include "shared/log.h"
#include "store/image-store.h"
#include "store/layer-store.h"

/* Starting and stopping a container through its berth-monitor (runtime/monitor-protocol.h); spawning,
 * watching and adopting the monitor is container-monitor.c. */

#define CONTAINER_STOP_TIMEOUT_DEFAULT_USEC (10 * USEC_PER_SEC)

GPtrArray *container_take_waiters(Container *c, bool start)
{
        GPtrArray *waiters = start ? c->start_waiters : c->exit_waiters;
        GPtrArray *list = g_ptr_array_new_with_free_func(bus_message_unref_destroy);

        while (waiters->len > 0)
                g_ptr_array_add(list, g_ptr_array_steal_index(waiters, 0));
        return list;
}

void container_reply_all(Container *c, bool start, const BerthError *e)
{
        /* Detached first: a reply may lead (through the bus) to a new waiter being added. */
        g_autoptr(GPtrArray) list = container_take_waiters(c, start);

        for (guint i = 0; i < list->len; i++)
                if (start)
                        container_send_start_reply(c, list->pdata[i], e);
                else
                        container_send_exit_reply(list->pdata[i], c->state.exit_code, e);
}

void container_release_runtime(Container *c)
{
        c->monitor_source = sd_event_source_disable_unref(c->monitor_source);
        c->sync_source = sd_event_source_disable_unref(c->sync_source);
        c->stop_timer = sd_event_source_disable_unref(c->stop_timer);
        c->monitor_pidfd = safe_close(c->monitor_pidfd);
        c->init_pidfd = safe_close(c->init_pidfd);
        c->sync_fd = safe_close(c->sync_fd);
        c->scope = scope_job_free(c->scope);
        c->scope_after_machined = false;
        container_drop_pending_attach(c);
        if (c->pending_attach)
                c->pending_attach = (g_array_unref(c->pending_attach), NULL);
}

static int container_signal_init(Container *c, int sig)
{
        int r;

        r = container_open_init_pidfd(c);
        if (r < 0)
                return r;
        if (pidfd_send_signal(c->init_pidfd, sig, NULL, 0) < 0)
                return -errno;
        return 0;
}

/* A start that failed once the monitor was forked ends when the monitor does (container_monitor_gone()):
 * only then is the container exited with its Error, its scope emptied and its overlay gone with the
 * container's mount namespace, so that whoever hears of the failure can remove it at once (run --rm). The
 * monitor has nothing left to do (it recorded the failure before it said "E"), so it is killed rather than
 * waited for. */
static void container_start_failed(Container *c, const char *error)
{
        log_warning("Container %s failed to start: %s", c->name, error);
        c->sync_source = sd_event_source_disable_unref(c->sync_source);
        c->sync_fd = safe_close(c->sync_fd);
        c->scope = scope_job_free(c->scope);
        free(c->start_error);
        c->start_error = g_strdup(error);
        if (pidfd_send_signal(c->monitor_pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
                log_warning_errno(errno, "Cannot kill the monitor of container %s, waiting for it: %m",
                                  c->name);
}

static void container_start_done(Container *c)
{
        _cleanup_free_ char *unit = berth_scope_name(c->name);

        c->starting = false;
        c->sync_source = sd_event_source_disable_unref(c->sync_source);
        c->sync_fd = safe_close(c->sync_fd);
        c->scope = scope_job_free(c->scope);
        container_emit_changed(c);
        sd_journal_send("MESSAGE=Container %s started.", c->name,
                        "MESSAGE_ID=" BERTH_MESSAGE_CONTAINER_STARTED, "PRIORITY=%i", LOG_INFO,
                        "CONTAINER_NAME=%s", c->name, "CONTAINER_ID=%.12s", c->id, "CONTAINER_ID_FULL=%s",
                        c->id, "IMAGE_NAME=%s", c->image_name, "OBJECT_SYSTEMD_UNIT=%s", strna(unit), NULL);
        container_register_machine(c);
        container_reply_all(c, true, NULL);
}

static int on_sync_reply(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Container *c = userdata;
        char buf[MONITOR_MSG_MAX + 1];
        ssize_t n;
        int r;

        n = recv(fd, buf, MONITOR_MSG_MAX, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        c->sync_source = sd_event_source_disable_unref(c->sync_source);
        if (n <= 0) {
                container_start_failed(c, "the container's monitor ended before starting it");
                return 0;
        }
        buf[n] = 0;
        if (buf[0] == 'S') {
                container_reload_state(c);
                r = container_open_init_pidfd(c);
                if (r < 0)
                        log_warning_errno(r,
                                          "Cannot get a pidfd of the init of %s, it cannot be signalled: %m",
                                          c->name);
                container_start_done(c);
                return 0;
        }
        /* "E<code> <message>": the monitor recorded it in state.json too, which container_monitor_gone()
         * reads. */
        const char *msg = strchr(buf, ' ');
        container_start_failed(c, msg ? msg + 1 : "the container could not be started");
        return 0;
}

static void on_scope_ready(void *userdata, const BerthError *e)
{
        Container *c = userdata;
        int r;

        if (e) {
                /* No "G": the monitor is ended without starting anything. */
                container_start_failed(c, e->message ?: "systemd could not start the container's scope");
                return;
        }
        /* With the attach streams that wait for this start. */
        if (container_send_go(c) < 0) {
                container_start_failed(c, "the container's monitor is gone");
                return;
        }
        r = sd_event_add_io(c->manager->event, &c->sync_source, c->sync_fd, EPOLLIN, on_sync_reply, c);
        if (r < 0)
                container_start_failed(c, "failed to wait for the container's monitor");
}

/* Resolves the container's --device entries on the host, now, as Docker does at start: the node's type and
 * number go into the run spec (the child makes the node) and into the scope's DeviceAllow=. */
static int container_resolve_devices(Container *c, char ***ret_spec, char ***ret_rules)
{
        g_autoptr(GPtrArray) spec = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) rules = g_ptr_array_new_with_free_func(g_free);
        int r;

        STRV_FOREACH (d, c->config.devices) {
                _cleanup_(device_mapping_done) DeviceMapping m = {};
                struct stat st;
                char type;

                r = device_mapping_parse(*d, &m);
                if (r < 0)
                        return log_error_errno(r, "Container %s has an invalid device '%s'.", c->name, *d);
                if (stat(m.host, &st) < 0)
                        return log_error_errno(-errno, "Device '%s' of container %s: %m", m.host, c->name);
                if (S_ISCHR(st.st_mode))
                        type = 'c';
                else if (S_ISBLK(st.st_mode))
                        type = 'b';
                else
                        return log_error_errno(-ENODEV,
                                               "'%s' (a device of container %s) is not a device node.",
                                               m.host, c->name);
                g_ptr_array_add(spec,
                                g_strdup_printf("%c %u:%u %o %u:%u %s", type, major(st.st_rdev),
                                                minor(st.st_rdev), st.st_mode & 07777, (unsigned) st.st_uid,
                                                (unsigned) st.st_gid, m.container));
                g_ptr_array_add(rules, g_strdup_printf("/dev/%s/%u:%u %s", type == 'c' ? "char" : "block",
                                                       major(st.st_rdev), minor(st.st_rdev), m.perms));
        }
        g_ptr_array_add(spec, NULL);
        g_ptr_array_add(rules, NULL);
        *ret_spec = (char **) g_ptr_array_steal(spec, NULL);
        *ret_rules = (char **) g_ptr_array_steal(rules, NULL);
        return 0;
}

/* A bind's host path: made as a directory when missing for -v (bind-create-src, as Docker does, at each
 * start), refused otherwise (--mount), with Docker's words. Binds needed the privileged action already. */
static int container_bind_source(Container *c, MountEntry *e)
{
        int r = 0;

        if (!e->bind_create_src && access(e->source, F_OK) < 0) {
                r = -errno;
                free(c->start_error);
                c->start_error = g_strdup_printf("bind source path does not exist: %s", e->source);
        } else if (e->bind_create_src && (r = mkdir_p_host(e->source, 0755)) < 0) {
                free(c->start_error);
                c->start_error = g_strdup_printf("cannot create the bind source path %s: %s", e->source,
                                                 strerror(-r));
        }
        e->bind_create_src = false; /* the monitor binds what is there now */
        return r;
}

/* The run spec's mounts: a volume becomes a bind of its directory, made on first use, and its target is
 * listed for the copy-up (unless volume-nocopy). */
static int container_spec_mounts(Container *c, char ***ret, char ***ret_copy_up)
{
        g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) copy_up = g_ptr_array_new_with_free_func(g_free);
        int r;

        STRV_FOREACH (s, c->config.mounts) {
                _cleanup_(mount_entry_done) MountEntry e = {};

                r = mount_entry_parse_mount(*s, &e);
                if (r < 0)
                        return r;
                if (e.type == MOUNT_TYPE_VOLUME) {
                        _cleanup_berth_error_ BerthError err = BERTH_ERROR_INIT;
                        g_autofree char *anon = container_anonymous_volume_name(c->id, e.target);

                        r = volume_create(c->manager, e.source, NULL, streq(anon, e.source), &err, NULL);
                        /* The child copies only into an empty volume. */
                        if (!e.volume_nocopy)
                                g_ptr_array_add(copy_up, g_strdup(e.target));
                        if (r < 0)
                                return log_error_errno(r, "Failed to make volume %s: %s", e.source,
                                                       err.message);
                        g_free(anon);
                        anon = e.source;
                        e.source = g_strdup_printf("%s/volumes/%s/_data", c->manager->state_dir, anon);
                        e.type = MOUNT_TYPE_BIND;
                        e.volume_nocopy = false;
                } else if (e.type == MOUNT_TYPE_BIND) {
                        r = container_bind_source(c, &e);
                        if (r < 0)
                                return r;
                }
                g_ptr_array_add(out, mount_entry_format(&e));
        }
        g_ptr_array_add(out, NULL);
        g_ptr_array_add(copy_up, NULL);
        *ret = (char **) g_ptr_array_steal(out, NULL);
        *ret_copy_up = (char **) g_ptr_array_steal(copy_up, NULL);
        return 0;
}

static int container_write_spec(Container *c, char **device_rules, char **ret_path)
{
        Manager *m = c->manager;
        const ImageRecord *image = image_store_get(m->images, c->image_id);
        _cleanup_(run_spec_freep) RunSpec *spec = NULL;
        _cleanup_free_ char *data = NULL, *runtime = NULL, *path = NULL;
        char dir[PATH_MAX];
        size_t n_layers, size;
        int r;

        if (!image)
                return -ENOENT;
        spec = calloc(1, sizeof(*spec));
        if (!spec)
                return -ENOMEM;
        container_dir(c, dir, sizeof(dir));
        n_layers = image->chain_ids ? g_strv_length(image->chain_ids) : 0;
        if (n_layers > 0) {
                r = layer_store_lowerdir_option(m->layers, image->chain_ids, n_layers, &spec->lowerdir);
                if (r < 0)
                        return r;
        }
        spec->id = g_strdup(c->id);
        spec->name = g_strdup(c->name);
        spec->image_name = g_strdup(c->image_name);
        spec->layers_dir = g_strdup(layer_store_path(m->layers));
        spec->upperdir = g_strdup_printf("%s/diff", dir);
        spec->workdir = g_strdup_printf("%s/work", dir);
        spec->rootfs = g_strdup_printf("%s/merged", dir);
        spec->argv = g_strdupv(c->config.argv);
        spec->env = g_strdupv(c->config.env);
        spec->cwd = g_strdup(c->config.workdir);
        spec->user = g_strdup(strempty(c->config.user));
        spec->hostname = g_strdup(c->config.hostname);
        spec->hostname_file = g_strdup_printf("%s/hostname", dir);
        spec->hosts_file = g_strdup_printf("%s/hosts", dir);
        spec->resolv_conf_file = g_strdup_printf("%s/resolv.conf", dir);
        spec->tty = c->config.tty;
        spec->interactive = c->config.interactive;
        spec->host_network = streq(c->config.network, "host");
        /* Every container but --network host gets the monitor's new namespace (container_do_start()). */
        spec->network_inherited = !spec->host_network;
        spec->privileged = c->config.privileged;
        spec->no_new_privileges = c->config.no_new_privileges;
        spec->seccomp_unconfined = c->config.seccomp_unconfined;
        spec->cap_add = g_strdupv(c->config.cap_add);
        spec->cap_drop = g_strdupv(c->config.cap_drop);
        spec->devices = g_strdupv(device_rules);
        r = container_spec_mounts(c, &spec->mounts, &spec->copy_up);
        if (r < 0)
                return r;
        spec->read_only = c->config.read_only;
        spec->state_unsynced = c->auto_remove;
        spec->prepare_after_go = c->state.unrecorded_end;
        if (!spec->privileged && !spec->seccomp_unconfined) {
                uint64_t caps;
                const void *bpf;

                r = caps_resolve(false, spec->cap_add, spec->cap_drop, &caps, NULL);
                if (r < 0)
                        return r;
                /* Compiled here, in the daemon, once per capability set; the child only loads it. */
                r = seccomp_profile_get(caps, &bpf, &size);
                if (r < 0)
                        return r;
                spec->seccomp_filter = g_memdup2(bpf, size);
                spec->seccomp_filter_size = size;
        }
        spec->state_file = g_strdup_printf("%s/state.json", dir);
        runtime = g_strdup_printf("%s/containers/%s", m->runtime_dir, c->id);
        spec->attach_socket = g_strdup_printf("%s/attach", runtime);

        r = mkdir_p_at(AT_FDCWD, runtime, 0700);
        if (r < 0)
                return r;
        r = run_spec_serialize(spec, &data, &size);
        if (r < 0)
                return r;
        path = g_strdup_printf("%s/run-spec", runtime);
        r = write_file_atomic_at(AT_FDCWD, path, data, size, 0600);
        if (r < 0)
                return r;
        *ret_path = TAKE_PTR(path);
        return 0;
}

static int container_start_scope(Container *c);

/* A CNI network's plugins are done (container-cni.c): on to the scope, or the start fails with their
 * message. */
static void on_cni_added(Container *c, int r, const char *error)
{
        if (r >= 0) {
                _cleanup_free_ char *address = container_cni_ipv4(c);

                container_cni_journal(c, true);
                if (address) {
                        int q = container_write_hosts(c, address);

                        if (q < 0)
                                log_warning_errno(q, "Failed to write /etc/hosts of %s, ignoring: %m",
                                                  c->name);
                }
                /* Names on CNI networks need the results: resolv.conf and aardvark-dns's files again. */
                if (container_write_resolv_conf(c) < 0)
                        log_warning("Failed to write /etc/resolv.conf of %s, ignoring.", c->name);
                manager_dns_update(c->manager);
                r = container_start_scope(c);
                if (r >= 0)
                        return;
        }
        free(c->start_error);
        c->start_error = g_strdup(error ?: strerror(-r));
        (void) pidfd_send_signal(c->monitor_pidfd, SIGKILL, NULL, 0);
}

/* The monitor was born in the container's network namespace: opened through its pid, and joined to the
 * container's networks. */
static int join_networks_of_monitor(Container *c, pid_t pid)
{
        _cleanup_close_ int netns_fd = -EBADF;
        int r;

        r = netns_open_of(pid, &netns_fd);
        if (r < 0)
                return log_error_errno(
                        r, "Cannot open the network namespace of %s's monitor (did it end?): %m", c->name);
        return container_join_networks(c, netns_fd);
}

/* berthd sets up the container's network itself, between the namespace's birth (with the monitor) and "G":
 * it holds the netlink and nftables state and the address allocations, so a crash sweep at its next start
 * sees everything in one place, and the monitor needs no privilege over the host's network
 * (container-network.c). */
static int container_do_start(Container *c)
{
        _cleanup_free_ char *spec_path = NULL;
        _cleanup_close_ int sync_fd = -EBADF, pidfd = -EBADF;
        g_auto(GStrv) device_nodes = NULL, device_rules = NULL;
        bool bridge = container_joins_network(c), own_netns = !streq_ptr(c->config.network, "host");
        pid_t pid = 0;
        int r;

        r = container_resolve_devices(c, &device_nodes, &device_rules);
        if (r < 0)
                return r;
        r = container_write_spec(c, device_nodes, &spec_path);
        if (r < 0)
                return log_error_errno(r, "Failed to prepare container %s: %m", c->name);
        /* The namespace is made with the monitor, while systemd makes the scope, not by the container's
         * clone after it: creating one takes the kernel a millisecond or more, --network none included. */
        r = container_spawn_monitor(c, spec_path, own_netns, &pid, &sync_fd);
        if (r < 0)
                return log_error_errno(r, "Failed to start berth-monitor for %s: %m", c->name);
        pidfd = pidfd_open(pid, 0);
        if (pidfd < 0) {
                r = -errno;
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return log_error_errno(r, "Failed to watch berth-monitor of %s: %m", c->name);
        }
        r = container_watch_monitor(c, TAKE_FD(pidfd));
        if (r < 0)
                return r;
        c->sync_fd = TAKE_FD(sync_fd);
        c->start_monitor_pid = pid;
        g_strfreev(c->start_device_rules);
        c->start_device_rules = TAKE_PTR(device_rules);
        if (bridge && container_has_cni_networks(c)) {
                r = join_networks_of_monitor(c, pid);
                if (r >= 0)
                        /* The scope once the plugins are done (container-cni.c), off the event loop. */
                        r = container_cni_add(c, pid, on_cni_added);
                if (r < 0)
                        (void) pidfd_send_signal(c->monitor_pidfd, SIGKILL, NULL, 0);
                return r;
        }
        /* Without CNI plugins the scope job is asked for first and the network set up while systemd works
         * on it: both are done before "G", since on_scope_ready() runs from the loop after this returns. A
         * failed join kills the monitor, and the start fails as any other (the job goes with c->scope). */
        r = container_start_scope(c);
        if (r < 0 || !bridge)
                return r;
        /* Only now: opening the namespace waits for the monitor's exec to get far enough (0.4 ms in a
         * trace), and the job is asked for already. */
        r = join_networks_of_monitor(c, pid);
        if (r < 0)
                (void) pidfd_send_signal(c->monitor_pidfd, SIGKILL, NULL, 0);
        return r;
}

static int container_start_scope(Container *c)
{
        _cleanup_free_ char *unit = NULL, *description = NULL;
        g_auto(GStrv) device_rules = NULL;
        pid_t pid = c->start_monitor_pid;
        ScopeJob *job = NULL;
        int r, sig;

        if (manager_machine_busy(c->manager, c->name)) {
                log_debug("Container %s waits for systemd-machined to let go of its previous machine.",
                          c->name);
                c->scope_after_machined = true;
                return 0;
        }
        device_rules = TAKE_PTR(c->start_device_rules);
        sig = signal_from_string(c->config.stop_signal);
        unit = berth_scope_name(c->name);
        if (!unit)
                return -ENOMEM;
        description = g_strdup_printf("berth container %s (%s)", c->name, c->image_name);
        ScopeRequest req = {
                .unit = unit,
                .description = description,
                .pid = pid,
                .kill_signal = sig > 0 ? sig : SIGTERM,
                .stop_timeout_usec = CONTAINER_STOP_TIMEOUT_DEFAULT_USEC,
                .properties_json = c->properties_json,
                .restrict_devices = !c->config.privileged,
                .device_allow = device_rules,
        };
        r = scope_start(c->manager->bus, c->manager->event, &req, on_scope_ready, c, &job);
        if (r < 0) {
                (void) pidfd_send_signal(c->monitor_pidfd, SIGKILL, NULL, 0);
                return log_error_errno(r, "Failed to ask systemd for the scope of %s: %m", c->name);
        }
        c->scope = job;
        return 0;
}

void containers_machine_settled(Manager *m, const char *machine_name)
{
        GHashTableIter iter;
        gpointer value;

        g_hash_table_iter_init(&iter, m->containers);
        while (g_hash_table_iter_next(&iter, NULL, &value)) {
                Container *c = value;
                char name[MACHINE_NAME_MAX + 1];
                int r;

                if (!c->scope_after_machined || container_machine_name(c->name, name) < 0 ||
                    !streq(name, machine_name))
                        continue;
                c->scope_after_machined = false;
                /* Neither the monitor nor its start gone meanwhile (container_release_runtime() clears it).
                 */
                r = container_start_scope(c);
                if (r < 0)
                        container_start_failed(c, strerror(-r));
        }
}

int container_start(Container *c, sd_bus_message *reply_to)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        int r;

        if (c->monitor_source && !c->starting) {
                if (c->state.status == CONTAINER_RUNNING) {
                        if (!reply_to)
                                return 0;
                        container_send_start_reply(c, reply_to, NULL);
                        return 1;
                }
                /* A monitor on its way out. */
                berth_error_set(&e, -EBUSY, "Container %s is still stopping.", c->name);
                if (!reply_to)
                        return -EBUSY;
                container_send_start_reply(c, reply_to, &e);
                return 1;
        }
        if (reply_to)
                g_ptr_array_add(c->start_waiters, sd_bus_message_ref(reply_to));
        if (c->starting)
                return 1;
        c->starting = true;
        r = container_do_start(c);
        if (r < 0) {
                berth_error_set(&e, r, "could not start: %s", c->start_error ?: strerror(-r));
                c->start_error = mfree(c->start_error);
                c->starting = false;
                container_monitor_kill_and_reap(c);
                container_release_runtime(c);
                container_leave_networks(c);
                container_reply_all(c, true, &e);
                return r;
        }
        return 1;
}

static int on_stop_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        Container *c = userdata;

        c->stop_timer = sd_event_source_disable_unref(c->stop_timer);
        if (c->state.pid > 0) {
                log_info("Container %s did not stop in time, killing it.", c->name);
                (void) container_signal_init(c, SIGKILL);
        }
        return 0;
}

int container_stop(Container *c, uint64_t timeout_usec, sd_bus_message *reply_to)
{
        int sig = signal_from_string(c->config.stop_signal);
        int r;

        if (!c->monitor_source) {
                if (!reply_to)
                        return 0;
                container_send_exit_reply(reply_to, c->state.exit_code, NULL);
                return 1;
        }
        if (reply_to)
                g_ptr_array_add(c->exit_waiters, sd_bus_message_ref(reply_to));
        if (c->state.pid <= 0) {
                /* Still starting: there is no init to signal yet; the monitor itself goes. */
                (void) pidfd_send_signal(c->monitor_pidfd, SIGKILL, NULL, 0);
                return 1;
        }
        r = container_signal_init(c, sig > 0 ? sig : SIGTERM);
        if (r < 0)
                log_debug_errno(r, "Cannot signal the init of %s: %m", c->name);
        container_thaw_for_signal(c);
        if (!c->stop_timer) {
                r = sd_event_add_time_relative(c->manager->event, &c->stop_timer, CLOCK_MONOTONIC,
                                               timeout_usec ?: CONTAINER_STOP_TIMEOUT_DEFAULT_USEC, 1,
                                               on_stop_timeout, c);
                if (r < 0)
                        (void) container_signal_init(c, SIGKILL);
        }
        return 1;
}

int container_kill(Container *c, int sig)
{
        int r;

        if (!c->monitor_source || c->state.status != CONTAINER_RUNNING || c->state.pid <= 0)
                return -ESRCH;
        r = container_signal_init(c, sig);
        /* As Docker: SIGKILL thaws (or a paused container could not die); any other signal waits, pending,
         * for unpause. */
        if (sig == SIGKILL)
                container_thaw_for_signal(c);
        return r;
}

int container_remove_forced(Container *c, sd_bus_message *reply_to)
{
        if (!c->monitor_source)
                return container_remove(c);
        c->remove_on_exit = c->removing = true;
        return container_stop(c, 1, reply_to);
}
