/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "runtime/child-error.h"

/* Capabilities as bit masks (1 << CAP_x), named as Docker names them ("NET_ADMIN"; "CAP_NET_ADMIN" and any
 * case are accepted on input). */

/* Docker's default set (moby's oci/caps defaults), which podman shares: the floor berth keeps for
 * containers that ask for nothing else. */
uint64_t caps_docker_default(void);
/* Every capability this build knows (up to CAP_LAST_CAP of its kernel headers). */
uint64_t caps_all(void);

/* The capability number, or -EINVAL for an unknown name. "ALL" is not a capability: callers check it. */
int cap_from_name(const char *name);
const char *cap_to_name(int cap);

/* Docker's rules for --privileged, --cap-add and --cap-drop: privileged gets every capability (adds and
 * drops ignored); "ALL" in cap_add starts from every capability minus the drops; "ALL" in cap_drop keeps
 * only the adds; otherwise the default minus the drops plus the adds. -EINVAL with *ret_bad naming the entry
 * that is not a capability. */
int caps_resolve(bool privileged, char *const *cap_add, char *const *cap_drop, uint64_t *ret,
                 const char **ret_bad);

/* In the container child, uid still 0: drops every capability outside caps from the bounding set and clears
 * the ambient set. Needs CAP_SETPCAP. */
int caps_apply_bounding(uint64_t caps, ChildError *e);
/* After the uid change: effective and permitted = caps for root; for another uid the kernel already
 * emptied them on setuid and they stay empty (Docker's behaviour: a non-root user gets no capabilities,
 * only a bounding set a setuid binary may regain). Inheritable stays empty, as Docker's since 20.10.14
 * (CVE-2022-24769: an inheritable set leaks capabilities into execs of files with inheritable caps). */
int caps_apply_sets(uint64_t caps, bool root, ChildError *e);
