/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "network/port-mapping.h"
#include "shared/error.h"

/* The CNI protocol (github.com/containernetworking/cni, SPEC.md), as a runtime speaks it: a network is a
 * conflist (name, cniVersion, plugins), each plugin an executable of that "type" found in CNI_PATH, run with
 * CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME and CNI_PATH in its environment and its own config
 * on stdin (the list's name and cniVersion, and the result of the plugin before it as prevResult); it
 * answers a result or an error object on stdout. cni_run() is synchronous: berthd calls it in a child of its
 * own, never on its event loop. */

/* Where berthd looks for plugins: Debian's containernetworking-plugins, then the upstream default. */
#define CNI_PATH_DEFAULT "/usr/lib/cni:/opt/cni/bin"
#define CNI_CONFLIST_MAX (64 * 1024)
/* How long one plugin may run before its process group is killed. */
#define CNI_TIMEOUT_DEFAULT_SEC 60
#define CNI_TIMEOUT_MAX_SEC     86400

/* berth.conf's [Network] CniPath= (colon-separated absolute directories) and CniTimeout= (seconds). */
typedef struct CniSettings {
        char *path;
        unsigned timeout_sec;
} CniSettings;

void cni_settings_done(CniSettings *s);
/* A search path: one or more absolute directories separated by ':', none empty. -EINVAL otherwise. */
int cni_path_parse(const char *text, char **ret);
/* The defaults when the file, section or keys are missing; -EBADMSG for a file that is not a key file,
 * -EINVAL for a bad value (logged at debug level with the key). */
int cni_settings_load(const char *file, CniSettings *ret);

typedef enum CniCommand {
        CNI_ADD,
        CNI_CHECK,
        CNI_DEL,
} CniCommand;

/* A conflist as berth takes it: a JSON object with a string cniVersion and a non-empty array plugins of
 * objects, each with a type that is a plain file name. Its name, if any, is replaced by berth's network name
 * when it runs. -EINVAL with a message saying what is wrong. */
int cni_conflist_check(const char *text, BerthError *e);
/* The first plugin type of conflist that no directory of cni_path holds as an executable, NULL if all are
 * there (the conflist checked first). */
char *cni_conflist_missing_plugin(const char *text, const char *cni_path);

/* The plugins of conflist, for network name, in order for ADD (prev_result ignored: each plugin gets the
 * result of the one before), in reverse for DEL and in order for CHECK (each with prev_result, the recorded
 * result of ADD, if given). ADD's final result goes to *ret_result (may be NULL otherwise). netns may be
 * empty for DEL. Plugins are looked up in, and get as CNI_PATH, settings->path; each runs in a process group
 * of its own, killed whole when it has not answered within settings->timeout_sec (-ETIME). Errors: the
 * plugin's error object's msg (and details) in e. */
int cni_run(const char *conflist, const char *name, CniCommand command, const char *container_id,
            const char *netns, const char *ifname, const CniSettings *settings, const char *prev_result,
            const char *runtime_config, char **ret_result, BerthError *e);

/* The runtime's side of the spec's conventions: runtime_config above (a JSON object, or NULL) holds what
 * berth passes, e.g. "portMappings"; each plugin gets, as its runtimeConfig, those of its members it
 * declares in "capabilities" ({"portMappings": true}). */
bool cni_conflist_has_capability(const char *conflist, const char *capability);
/* {"portMappings": [{"hostPort", "containerPort", "protocol", "hostIP" (only when not every address)}]};
 * every host port must be chosen (not 0). */
char *cni_port_mappings_to_runtime_config(const PortMapping *m, size_t n);
/* Back (a container's Ports): -EINVAL for anything but such an object; none when it has no portMappings. */
int cni_port_mappings_from_runtime_config(const char *runtime_config, PortMapping **ret, size_t *ret_n);

/* The first IPv4 address of a result ("ips": [{"address": "10.99.0.2/24"}]) without its prefix, NULL if it
 * has none. */
char *cni_result_ipv4(const char *result);
/* The first IPv4 address of a result that has a gateway, and that gateway (host byte order); -ENOENT when
 * there is none. */
int cni_result_ipv4_gateway(const char *result, uint32_t *ret_address, uint32_t *ret_gateway);
