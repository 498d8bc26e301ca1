/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "shared/macro.h"

/* Everything berth-monitor needs to start one container, written by berthd to
 * <runtime>/containers/<id>/run-spec before each start (and sent, with the exec's own command, environment,
 * directory, user and terminal, as the request of each exec session). berthd resolves the image config
 * (entrypoint + cmd, env, workdir) into argv/env/cwd; the monitor's child resolves `user` inside the
 * container's own /etc/passwd and /etc/group, because only the image knows its users. */
typedef struct RunSpec {
        char *id;         /* 64 hex */
        char *name;       /* the container name, also SYSLOG_IDENTIFIER */
        char *image_name; /* the image as the user named it, for IMAGE_NAME= */

        /* The root: overlay of layers_dir-relative lowers ("l/AAA:l/BBB", topmost first; NULL or "" for an
         * image without layers, then an empty lower is used) with the container's own upper and work dirs
         * (absolute), mounted on rootfs (absolute, an existing empty directory). */
        char *layers_dir;
        char *lowerdir;
        char *upperdir;
        char *workdir;
        char *rootfs;

        char **argv; /* argv[0] is looked up in the container's PATH from env when it has no '/' */
        char **env;  /* final environment, PATH included */
        char *cwd;   /* absolute; created in the container when missing, as Docker does */
        char *user;  /* "" or NULL = root; "name", "uid", "name:group", "uid:gid" */
        char *hostname;

        /* Host files bind-mounted read-only onto /etc/hostname, /etc/hosts and /etc/resolv.conf. */
        char *hostname_file;
        char *hosts_file;
        char *resolv_conf_file;

        bool tty;
        bool interactive;       /* keep stdin open (a pipe when !tty) */
        bool host_network;      /* false: own network namespace with only lo, up */
        bool network_inherited; /* the monitor was started in the container's network namespace (berthd made
                                 * it, and joined it to its networks if any): the child stays in it */

        char *state_file;    /* absolute path of state.json the monitor maintains (container-state.h) */
        char *attach_socket; /* absolute path of the AF_UNIX socket the monitor serves attach on */

        /* Confinement, filled in by the security work; all default to Docker's defaults. */
        bool privileged;
        bool no_new_privileges;
        bool seccomp_unconfined;
        char **cap_add; /* "CAP_NET_ADMIN" or "NET_ADMIN", "ALL" */
        char **cap_drop;
        /* Docker's default seccomp profile for this container's capabilities, compiled by berthd: classic
         * BPF (struct sock_filter[]) of seccomp_filter_size bytes. When absent (a spec not written by
         * berthd) the child compiles it, unless privileged or seccomp_unconfined. */
        void *seccomp_filter;
        size_t seccomp_filter_size;
        /* Host devices (--device) made in the container's /dev, resolved by berthd, one per entry:
         * "TYPE MAJOR:MINOR MODE UID:GID PATH", TYPE 'c' or 'b', MODE octal permission bits, PATH absolute
         * below /dev/ ("c 10:200 666 0:0 /dev/net/tun"): the format of the devices cgroup, with the node's
         * owner. */
        char **devices;

        /* Mounts (-v, --mount, --tmpfs), in order, as mount_entry_format() strings (runtime/mount-entry.h)
         * of type bind or tmpfs: berthd has already turned a volume into a bind of its host directory.
         * Targets are resolved inside the root. read_only makes the root itself read-only after them. */
        char **mounts;
        bool read_only;
        bool state_unsynced; /* the exit record need not reach the disk: the caller removes it (run --rm) */
        /* The monitor makes the root only after the go, once the new scope exists and so the previous run's
         * has no process left: that run's end went unrecorded (ContainerState.unrecorded_end), and its
         * init may still be running on the writable layer. */
        bool prepare_after_go;
        /* Targets of mounts whose source is a volume: what the image has there is copied into it first
         * when the volume is empty (Docker's copy-up; runtime/copy-up.h). */
        char **copy_up;
} RunSpec;

RunSpec *run_spec_free(RunSpec *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(RunSpec *, run_spec_free);

/* The file format, which needs no parser library (berth-monitor links none): a header line, then one
 * length-prefixed record per member that is set,
 *
 *     berth-run-spec 1\n
 *     <type> <name> <length>\n<length bytes>\n      ...
 *     end\n
 *
 * with <length> in decimal and <type> one of
 *     s  a string (no NUL byte)
 *     b  a boolean: "0" or "1"
 *     v  a list of strings, each followed by a NUL byte (length 0: the empty list)
 *     x  bytes
 * Members are named, so that a spec and a monitor of different builds (a running monitor outlives the
 * daemon; the spec of a running container is reread for each exec) still agree: unknown names are skipped
 * whatever their type; a known one twice, or with another type, makes the spec invalid. The version in the
 * header changes only if records themselves change. */
#define RUN_SPEC_HEADER  "berth-run-spec 1\n"
#define RUN_SPEC_TRAILER "end\n" /* a spec cut short at a record's end is not a smaller spec */

/* ret: malloc()ed, *ret_size bytes (not NUL-terminated: the seccomp filter is binary). */
int run_spec_serialize(const RunSpec *s, char **ret, size_t *ret_size);
/* -EBADMSG when data is not a spec (missing id/name/argv/rootfs/state_file, wrong types). */
int run_spec_parse(const void *data, size_t size, RunSpec **ret);
int run_spec_load(const char *path, RunSpec **ret);
