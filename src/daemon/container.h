/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "daemon/container-config.h"
#include "daemon/manager.h"
#include "shared/error.h"
#include "runtime/container-state.h"

/* One container: its record (<state>/containers/<id>/config.json, written once at creation), its state
 * (state.json, see runtime/container-state.h) and, while it starts, runs or stops, berthd's handles on its
 * monitor and scope.
 *
 *   <state>/containers/<id>/config.json   this record
 *   <state>/containers/<id>/state.json    created/running/exited, pid, exit code, times
 *   <state>/containers/<id>/diff/         the writable layer (overlay upper)
 *   <state>/containers/<id>/work/         overlay work dir
 *   <state>/containers/<id>/merged/       mount point of the root (only inside the container's namespace)
 *   <state>/containers/<id>/hostname, hosts, resolv.conf   bind-mounted into /etc
 *   <runtime>/containers/<id>/run-spec    what the monitor runs (runtime/run-spec.h)
 */

typedef struct Container {
        Manager *manager;

        char *id; /* 64 hex */
        char *name;
        /* The name its running scope (berth-<run_name>.scope), machine and monitor were started with, when
         * it was renamed while running (container-verbs.c container_rename()); NULL otherwise. */
        char *run_name;
        char *image_name; /* as the caller named it */
        char *image_id;   /* "sha256:…" */
        ContainerConfig config;
        char *properties_json; /* the scope properties, see scope.h; "[]" when none */
        uint64_t created_usec;
        uid_t creator_uid; /* who created it (UID_INVALID for records older than this field) */

        ContainerState state;

        /* Runtime handles (container-run.c). */
        int monitor_pidfd;
        int init_pidfd; /* the container's init, once running; every signal to it goes through this */
        sd_event_source *monitor_source;
        int sync_fd;
        sd_event_source *sync_source;
        struct ScopeJob *scope;
        sd_event_source *stop_timer;
        GPtrArray *start_waiters;   /* sd_bus_message* of calls waiting for the start to finish */
        GPtrArray *exit_waiters;    /* … for the container to exit */
        GPtrArray *restart_waiters; /* Restart calls, started again when the monitor is gone */
        bool paused;                /* its scope frozen by Pause (container-verbs.c) */
        /* Restart policy (container-restart.c). */
        sd_event_source *restart_timer;
        unsigned restart_count;
        uint64_t restart_delay_usec;
        bool stopped_by_user;
        GArray *pending_attach; /* monitor ends of attach streams waiting for "G" (container-attach.h) */
        char *start_error;      /* why a start failed, until the monitor is gone and it is told */
        /* Between the network and the scope (a CNI network's ADD runs first, container-cni.c). */
        pid_t start_monitor_pid;
        char **start_device_rules;
        bool starting;
        /* A CNI network's connect or disconnect runs (container-cni.c). */
        bool cni_changing;
        bool auto_remove; /* created with auto_remove (run --rm): its records are never synced */
        /* Removed once its monitor is gone: by rm -f while it runs (removing), or created so (run -d --rm,
         * config.remove_on_exit; then a Restart still restarts it). */
        bool remove_on_exit;
        bool removing;
        bool machine_registered; /* by this berthd, with systemd-machined (machine.c) */
        /* Its scope waits for manager_machine_busy() to end (container-run.c); cleared with the runtime. */
        bool scope_after_machined;
        /* The builder's RUN containers (build-run.c): called once the monitor is gone and the exit recorded;
         * it must not free c (it defers that). */
        void (*exit_hook)(struct Container *c, void *userdata);
        void *exit_hook_userdata;
} Container;

#define UID_INVALID ((uid_t) -1)

/* The State the bus shows: "paused" while its scope is frozen, "created" while it starts. */
static inline const char *container_state_string(const Container *c)
{
        if (c->paused)
                return "paused";
        return container_status_to_string(c->starting ? CONTAINER_CREATED : c->state.status);
}

/* The name its scope and machine have: the one it had when it started. */
static inline const char *container_run_name(const Container *c)
{
        return c->run_name ?: c->name;
}
/* "berth-<run name>.scope", or NULL when out of memory. */
char *container_scope_unit(const Container *c);
/* The container whose name is name, or whose running scope still holds that name after a rename; NULL if
 * none. */
Container *manager_container_holding_name(Manager *m, const char *name);

/* For GPtrArrays of pending method calls. */
static inline void bus_message_unref_destroy(gpointer p)
{
        sd_bus_message_unref(p);
}

Container *container_free(Container *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Container *, container_free);

/* 64 random hex digits, not all-digit in the short form (Docker avoids ids that look like numbers). */
int container_generate_id(char ret[static 65]);

/* The fsyncs that make a new container durable: its files, its directory, the containers directory. */
#define CONTAINER_SYNC_FDS_MAX 6
typedef struct ContainerSyncFds {
        int fds[CONTAINER_SYNC_FDS_MAX];
        size_t n;
} ContainerSyncFds;

/* Creates the record and its directories; c is added to m->containers. The files are in place but not yet
 * durable: the caller fsyncs ret_sync's fds (durable_fsync_async(), off the loop) before it answers; without
 * ret_sync, or if it just closes them, they are never synced: for containers that do not outlive their
 * caller (a build's steps, run --rm's auto_remove). */
int container_create(Manager *m, const char *id, const char *image_name, const char *image_id,
                     const char *name, ContainerConfig *config, const char *properties_json,
                     uid_t creator_uid, Container **ret, ContainerSyncFds *ret_sync);

/* Loads every container at daemon start; broken records are logged and skipped. */
int manager_load_containers(Manager *m);

/* Full id, then exact name, then unique id prefix (Docker's order). -ENOENT, -ENOTUNIQ, with the message
 * for the user in e (may be NULL). */
int manager_find_container(Manager *m, const char *key, BerthError *e, Container **ret);

/* A removed container's dir is renamed to this prefix + id under containers/; manager_empty_trash()'s child
 * deletes it. */
#define CONTAINER_TRASH_PREFIX ".tmp-rm-"

/* Unlists a stopped container's files (their delete runs in a child), drops it from the manager (freeing c)
 * and sends ContainerRemoved. */
int container_remove(Container *c);

/* container_remove() once its monitor is gone; one created with remove_on_exit (run -d --rm) takes its
 * anonymous volumes along unless another container names them, as Docker's AutoRemove does. */
int container_remove_on_exit(Container *c);

/* At berthd's start: the remove_on_exit containers that exited while it was not running are removed; those
 * still running are removed when they exit. */
void manager_remove_exited_on_load(Manager *m);

/* True when any container was created from this image. */
bool manager_image_used_by_container(Manager *m, const char *image_id);

const char *container_dir(Container *c, char *buf, size_t size);
int container_object_path(const char *name, char **ret);
int container_save_state(Container *c);
/* Rewrites config.json (after Update changed the scope properties). */
int container_save_record(Container *c);
/* Rewrites the container's /etc/hosts with its own name at address (NULL: 127.0.1.1). */
int container_write_hosts(Container *c, const char *address);
/* Sends PropertiesChanged for the state-bearing properties. */
void container_emit_changed(Container *c);

/* container-run.c: all asynchronous; waiters get their reply when the operation is done. */
int container_start(Container *c, sd_bus_message *reply_to);
int container_stop(Container *c, uint64_t timeout_usec, sd_bus_message *reply_to);
int container_kill(Container *c, int sig);
int container_remove_forced(Container *c, sd_bus_message *reply_to);
/* At daemon start: watch a container whose monitor still runs, or record why it is gone. */
int container_adopt(Container *c);
/* systemd-machined holds no machine of this name any more (machine.h): the scopes waiting for that go on. */
void containers_machine_settled(Manager *m, const char *machine_name);
/* Answers everyone waiting for the start (start is true) or for the exit; e is NULL on success. The replies
 * are built by the bus file's hooks (container-dbus.h). */
void container_reply_all(Container *c, bool start, const BerthError *e);
/* The waiters for the start or for the exit, taken from c: the caller answers them. */
GPtrArray *container_take_waiters(Container *c, bool start);
void container_release_runtime(Container *c);
