/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "shared/error.h"

#include <stdbool.h>

#include "oci/config.h"
#include "shared/macro.h"

/* What a container runs, decided once at creation from the image config and the caller's options, with
 * Docker's rules. Pure: no I/O, so the rules are unit-tested. */

typedef struct ContainerOptions {
        char **command;    /* replaces Cmd when non-empty */
        char **entrypoint; /* replaces Entrypoint when set_entrypoint (empty clears it) */
        bool set_entrypoint;
        char **env; /* "K=V" overrides; "K" alone removes K */
        char *workdir;
        char *user;
        bool set_user; /* "" is a valid choice: root */
        char *hostname;
        char *network; /* "bridge" (default), "none" or "host" */
        bool tty;
        bool interactive;
        /* Confinement (docs/security.md): Docker's --privileged, --cap-add, --cap-drop, --security-opt
         * ("no-new-privileges", "seccomp=unconfined"). */
        bool privileged;
        char **cap_add;
        char **cap_drop;
        char **security_opt;
        char **devices;    /* Docker's --device: "HOST[:CONTAINER][:PERMS]" */
        char **dns;        /* --dns: nameserver addresses */
        char **dns_search; /* --dns-search: domains, or "." for none */
        char **add_hosts;  /* --add-host: "NAME:ADDRESS" */
        char **ports;      /* -p: "[IP:][HOSTPORT:]CTRPORT[/tcp|/udp]" (network/port-mapping.h) */
        char **mounts;     /* --mount: Docker's "type=…,source=…,target=…" (runtime/mount-entry.h) */
        char **volumes;    /* -v: "NAME:/path[:ro]", "/host:/path[:ro]", "/path" */
        char **tmpfs;      /* --tmpfs: "/path[:size=…,mode=…]" */
        bool read_only;    /* --read-only */
        char *restart;     /* --restart: restart-policy.h */
        char **aliases;    /* --network-alias, on the user network named by network */
        char *ip;          /* --ip: an IPv4 address on that user network */
        bool publish_all;  /* -P: every port the image EXPOSEs, on a free host port */
        /* run -d --rm: berthd removes it once it has exited */
        bool remove_on_exit;
} ContainerOptions;

void container_options_done(ContainerOptions *o);

typedef struct ContainerConfig {
        char **argv;       /* entrypoint + cmd */
        char **entrypoint; /* as resolved, for inspect */
        char **cmd;
        char **env;
        char *workdir;
        char *user;
        char *hostname;
        char *network;
        char *stop_signal; /* "SIGTERM" form */
        bool tty;
        bool interactive;
        bool privileged;
        bool no_new_privileges;
        bool seccomp_unconfined;
        char **cap_add;
        char **cap_drop;
        char **devices; /* as given; checked by device_mapping_parse() */
        char **dns;
        char **dns_search;
        char **add_hosts;
        char **ports; /* as given; host ports resolved at each start */
        /* -v, --mount, --tmpfs and the image's VOLUMEs, as mount_entry_format() strings; every volume has
         * its name (an anonymous one: container_anonymous_volume_name()). */
        char **mounts;
        bool read_only;
        bool remove_on_exit; /* Docker's AutoRemove: berthd removes it, anonymous volumes too, once exited */
        char *restart; /* the restart policy, checked (restart-policy.h); NULL: "no" (and older records) */
        /* Networks (container-network.c): network is the first (eth0, the default route); networks the ones
         * joined after it by `network connect`, in order (eth1, …); per network, "NETWORK=ALIAS" and
         * "NETWORK=ADDRESS" entries for --network-alias and --ip. */
        char **networks;
        char **network_aliases;
        char **network_ips;
} ContainerConfig;

void container_config_done(ContainerConfig *c);

#define CONTAINER_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Resolves options over the image config (image may be NULL: an image without config). id gives the
 * default hostname (its first 12 characters). -EINVAL with the reason in e when the result cannot run (no
 * command, relative workdir, bad hostname, unknown network). */
int container_config_resolve(const OciImageConfig *image, const ContainerOptions *o, const char *id,
                             BerthError *err, ContainerConfig *ret);

/* The networks c joins, first one first (none for "none" and "host"); NULL-terminated, to g_strfreev(). */
char **container_config_networks(const ContainerConfig *c);
/* c's aliases on network (to g_strfreev()), and its --ip there (NULL: any). */
char **container_config_network_aliases(const ContainerConfig *c, const char *network);
const char *container_config_network_ip(const ContainerConfig *c, const char *network);
/* `network connect`: network joins c's list (the first one if c had none), with its address and aliases.
 * -EEXIST when c is on it already, -EINVAL for the host's network, a bad alias or address. */
int container_config_connect(ContainerConfig *c, const char *network, const char *ip, char **aliases,
                             BerthError *e);
/* `network disconnect`: network leaves the list; when it was the first, the next one takes its place, or
 * "none" when it was the only one. -ENOENT when c is not on it. */
int container_config_disconnect(ContainerConfig *c, const char *network, BerthError *e);

/* Checks the confinement options (capability names, security_opt entries) and tells whether they give the
 * container more than Docker's defaults: privileged, a capability beyond the default set, seccomp=unconfined
 * the host's network, or a port published below 1024 or on one host address. Those need
 * org.berth1.manage-containers-privileged as well. -EINVAL with the reason in e otherwise. Pure, so that
 * handlers can call it before polkit. */
int container_options_check_confinement(const ContainerOptions *o, BerthError *e, bool *ret_weakens);

/* The same question for a created container: starting one that weakens confinement needs the privileged
 * action too, or a user allowed ordinary containers could start an admin's privileged one. */
bool container_config_weakens_confinement(const ContainerConfig *c);

/* One --device, with Docker's rules: "HOST[:CONTAINER][:PERMS]", CONTAINER defaulting to HOST and PERMS to
 * "rwm"; "HOST:PERMS" when the second part is a valid PERMS. Both paths absolute and normalised; berth makes
 * the node in the container's /dev, so CONTAINER must lie below /dev/. -EINVAL otherwise. */
typedef struct DeviceMapping {
        char *host;
        char *container;
        char *perms;
} DeviceMapping;

void device_mapping_done(DeviceMapping *d);
int device_mapping_parse(const char *s, DeviceMapping *ret);

/* "SIGTERM", "TERM", "15" → 15; -EINVAL otherwise. */
int signal_from_string(const char *s);

/* The name of the anonymous volume of container id at target: 64 hex digits, stable, so that `rm -v` finds
 * which of a container's volumes are its own. */
char *container_anonymous_volume_name(const char *id, const char *target);

/* Container names as Docker allows them: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128 characters. */
bool container_name_is_valid(const char *name);
/* 64 hex digits: the shape of a full container id. Such a name would shadow (or be shadowed by) the
 * container with that id, so new containers may not take one; records that already have one still load. */
bool container_name_is_id(const char *name);

/* A Docker-like "adjective_noun" name; random, so callers retry on a clash. */
char *container_name_generate(void);
