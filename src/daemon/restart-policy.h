/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

/* Docker's restart policies (--restart), pure so the rules are unit-tested; container-restart.c applies
 * them. */
typedef enum RestartPolicy {
        RESTART_NO,
        RESTART_ON_FAILURE,
        RESTART_ALWAYS,
        RESTART_UNLESS_STOPPED,
        _RESTART_POLICY_MAX,
        _RESTART_POLICY_INVALID = -EINVAL,
} RestartPolicy;

/* "no", "on-failure[:N]" (N ≥ 0; 0 or none: no limit), "always", "unless-stopped"; NULL or "" is "no".
 * -EINVAL otherwise. ret_max is 0 except for on-failure:N. */
int restart_policy_parse(const char *s, RestartPolicy *ret_policy, unsigned *ret_max);
const char *restart_policy_to_string(RestartPolicy p);

/* Docker's restart manager: always; unless-stopped unless the user stopped it; on-failure when the exit
 * code is not 0 and fewer than max (0: any number) restarts were made. */
bool restart_policy_wants(RestartPolicy p, unsigned max, unsigned restarts, int exit_code,
                          bool stopped_by_user);

#define RESTART_DELAY_INITIAL_USEC      (100 * 1000ULL)
#define RESTART_DELAY_RESET_UPTIME_USEC (10 * 1000000ULL)
#define RESTART_DELAY_MAX_USEC          (60 * 1000000ULL)

/* The delay before the next restart: the first is 100 ms, each next one doubles (up to a minute), and a
 * run that lasted 10 s or more starts the series again. previous is 0 before the first restart. */
uint64_t restart_policy_next_delay(uint64_t previous, uint64_t uptime_usec);
