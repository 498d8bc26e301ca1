/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "daemon/restart-policy.h"

static const char *const restart_policy_table[_RESTART_POLICY_MAX] = {
        [RESTART_NO] = "no",
        [RESTART_ON_FAILURE] = "on-failure",
        [RESTART_ALWAYS] = "always",
        [RESTART_UNLESS_STOPPED] = "unless-stopped",
};

const char *restart_policy_to_string(RestartPolicy p)
{
        return p >= 0 && p < _RESTART_POLICY_MAX ? restart_policy_table[p] : NULL;
}

int restart_policy_parse(const char *s, RestartPolicy *ret_policy, unsigned *ret_max)
{
        const char *colon;
        size_t n;

        if (!s || !*s) {
                *ret_policy = RESTART_NO;
                *ret_max = 0;
                return 0;
        }
        colon = strchr(s, ':');
        n = colon ? (size_t) (colon - s) : strlen(s);
        for (int p = 0; p < _RESTART_POLICY_MAX; p++) {
                unsigned long max = 0;

                if (strlen(restart_policy_table[p]) != n || strncmp(s, restart_policy_table[p], n) != 0)
                        continue;
                /* Only on-failure takes a count, as in Docker. */
                if (colon && p != RESTART_ON_FAILURE)
                        return -EINVAL;
                if (colon) {
                        char *end;

                        if (colon[1] < '0' || colon[1] > '9')
                                return -EINVAL;
                        errno = 0;
                        max = strtoul(colon + 1, &end, 10);
                        if (errno != 0 || *end || max > 1000000)
                                return -EINVAL;
                }
                *ret_policy = p;
                *ret_max = (unsigned) max;
                return 0;
        }
        return -EINVAL;
}

bool restart_policy_wants(RestartPolicy p, unsigned max, unsigned restarts, int exit_code,
                          bool stopped_by_user)
{
        switch (p) {
        case RESTART_ALWAYS:
                return true;
        case RESTART_UNLESS_STOPPED:
                return !stopped_by_user;
        case RESTART_ON_FAILURE:
                return exit_code != 0 && (max == 0 || restarts < max);
        default:
                return false;
        }
}

uint64_t restart_policy_next_delay(uint64_t previous, uint64_t uptime_usec)
{
        if (previous == 0 || uptime_usec >= RESTART_DELAY_RESET_UPTIME_USEC)
                return RESTART_DELAY_INITIAL_USEC;
        return previous >= RESTART_DELAY_MAX_USEC / 2 ? RESTART_DELAY_MAX_USEC : previous * 2;
}
