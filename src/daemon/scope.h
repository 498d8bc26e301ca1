/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "shared/error.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "shared/macro.h"

/* A transient scope for one container, made with systemd's StartTransientUnit and finished when its job
 * is: the caller learns the outcome through a callback and only then lets the container run. */

typedef struct ScopeRequest {
        const char *unit; /* "berth-<name>.scope" */
        const char *description;
        pid_t pid;       /* moved into the scope */
        int kill_signal; /* what `systemctl stop` sends */
        uint64_t stop_timeout_usec;
        const char *properties_json; /* the caller's extra properties, see scope_properties_from_bus() */
        /* Docker's device rules (scope_default_device_allow) as DevicePolicy=strict with DeviceAllow=, plus
         * device_allow ("PATH PERMS" each, for --device); false for a privileged container: no rules. */
        bool restrict_devices;
        char **device_allow;
} ScopeRequest;

typedef struct ScopeJob ScopeJob;

/* e is NULL on success; otherwise what failed, with a message for the caller. */
typedef void (*scope_callback_t)(void *userdata, const BerthError *e);

int scope_start(sd_bus *bus, sd_event *event, const ScopeRequest *req, scope_callback_t cb, void *userdata,
                ScopeJob **ret);
ScopeJob *scope_job_free(ScopeJob *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(ScopeJob *, scope_job_free);

/* Freezes (FreezeUnit) or thaws (ThawUnit) the unit; cb (may be NULL) is called once the unit's cgroup
 * (cgroup: its path below /sys/fs/cgroup, "/system.slice/berth-x.scope") says it is frozen or thawed, or
 * with systemd's answer alone when cgroup is NULL. */
int scope_freeze(sd_bus *bus, const char *unit, const char *cgroup, bool freeze, scope_callback_t cb,
                 void *userdata);

/* Sets properties (the JSON form below) on the running unit with SetUnitProperties(runtime); cb (may be
 * NULL) gets systemd's answer. */
int scope_set_properties(sd_bus *bus, const char *unit, const char *properties_json, scope_callback_t cb,
                         void *userdata);
/* json with update's properties put in: those named in both take update's value. -EBADMSG on bad JSON. */
int scope_properties_merge(const char *json, const char *update, char **ret_json);

/* One process of a unit, as systemd's GetUnitProcesses lists it (strings valid during the callback). */
typedef struct ScopeProcess {
        const char *cgroup;
        pid_t pid;
        const char *cmdline;
} ScopeProcess;
typedef void (*scope_processes_callback_t)(void *userdata, const BerthError *e, const ScopeProcess *p,
                                           size_t n);
int scope_get_processes(sd_bus *bus, const char *unit, scope_processes_callback_t cb, void *userdata);

/* systemd's answer to GetAll of the unit's org.freedesktop.systemd1.Scope properties (or its error), for
 * the bus file to pick the counters from. */
typedef void (*scope_reply_callback_t)(void *userdata, sd_bus_message *reply);
int scope_get_stats(sd_bus *bus, const char *unit, scope_reply_callback_t cb, void *userdata);

/* The unit's FreezerState as systemd keeps it ("running", "freezing", "frozen", "thawing"), which outlives
 * berthd: how a restarted berthd learns that a container is paused. state is NULL when e is set. */
typedef void (*scope_freezer_callback_t)(void *userdata, const BerthError *e, const char *state);
int scope_get_freezer_state(sd_bus *bus, const char *unit, scope_freezer_callback_t cb, void *userdata);

/* Docker's default device rules, as systemd's DeviceAllow= takes them: { path or "char-GROUP", perms }. */
extern const char *const scope_default_device_allow[][2];
extern const size_t scope_default_device_allow_n;

/* Reads an a(sv) of unit properties from a message into the JSON form kept in the container record:
 * [["MemoryMax","t",536870912], …]. Only basic types (t u i x b s d) are accepted, and only properties
 * a scope takes (resource control); -EINVAL with the reason in e otherwise. */
int scope_properties_from_bus(sd_bus_message *m, BerthError *e, char **ret_json);

/* Whether properties (that JSON form) favour the container over the host or loosen its confinement:
 * OOMScoreAdjust or Nice below 0, MemoryMin or MemoryLow set, a CPU or IO weight above the default (100),
 * Delegate, DevicePolicy, DeviceAllow. Those need org.berth1.manage-containers-privileged. */
bool scope_properties_weaken(const char *json);
