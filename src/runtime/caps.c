/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/caps.h"

#define CAP_BIT(c) (UINT64_C(1) << (c))

/* Indexed by capability number, as <linux/capability.h> numbers them; without the "CAP_" prefix. */
static const char *const cap_names[CAP_LAST_CAP + 1] = {
        [CAP_CHOWN] = "CHOWN",
        [CAP_DAC_OVERRIDE] = "DAC_OVERRIDE",
        [CAP_DAC_READ_SEARCH] = "DAC_READ_SEARCH",
        [CAP_FOWNER] = "FOWNER",
        [CAP_FSETID] = "FSETID",
        [CAP_KILL] = "KILL",
        [CAP_SETGID] = "SETGID",
        [CAP_SETUID] = "SETUID",
        [CAP_SETPCAP] = "SETPCAP",
        [CAP_LINUX_IMMUTABLE] = "LINUX_IMMUTABLE",
        [CAP_NET_BIND_SERVICE] = "NET_BIND_SERVICE",
        [CAP_NET_BROADCAST] = "NET_BROADCAST",
        [CAP_NET_ADMIN] = "NET_ADMIN",
        [CAP_NET_RAW] = "NET_RAW",
        [CAP_IPC_LOCK] = "IPC_LOCK",
        [CAP_IPC_OWNER] = "IPC_OWNER",
        [CAP_SYS_MODULE] = "SYS_MODULE",
        [CAP_SYS_RAWIO] = "SYS_RAWIO",
        [CAP_SYS_CHROOT] = "SYS_CHROOT",
        [CAP_SYS_PTRACE] = "SYS_PTRACE",
        [CAP_SYS_PACCT] = "SYS_PACCT",
        [CAP_SYS_ADMIN] = "SYS_ADMIN",
        [CAP_SYS_BOOT] = "SYS_BOOT",
        [CAP_SYS_NICE] = "SYS_NICE",
        [CAP_SYS_RESOURCE] = "SYS_RESOURCE",
        [CAP_SYS_TIME] = "SYS_TIME",
        [CAP_SYS_TTY_CONFIG] = "SYS_TTY_CONFIG",
        [CAP_MKNOD] = "MKNOD",
        [CAP_LEASE] = "LEASE",
        [CAP_AUDIT_WRITE] = "AUDIT_WRITE",
        [CAP_AUDIT_CONTROL] = "AUDIT_CONTROL",
        [CAP_SETFCAP] = "SETFCAP",
        [CAP_MAC_OVERRIDE] = "MAC_OVERRIDE",
        [CAP_MAC_ADMIN] = "MAC_ADMIN",
        [CAP_SYSLOG] = "SYSLOG",
        [CAP_WAKE_ALARM] = "WAKE_ALARM",
        [CAP_BLOCK_SUSPEND] = "BLOCK_SUSPEND",
        [CAP_AUDIT_READ] = "AUDIT_READ",
        [CAP_PERFMON] = "PERFMON",
        [CAP_BPF] = "BPF",
        [CAP_CHECKPOINT_RESTORE] = "CHECKPOINT_RESTORE",
};

uint64_t caps_docker_default(void)
{
        return CAP_BIT(CAP_CHOWN) | CAP_BIT(CAP_DAC_OVERRIDE) | CAP_BIT(CAP_FSETID) | CAP_BIT(CAP_FOWNER) |
               CAP_BIT(CAP_MKNOD) | CAP_BIT(CAP_NET_RAW) | CAP_BIT(CAP_SETGID) | CAP_BIT(CAP_SETUID) |
               CAP_BIT(CAP_SETFCAP) | CAP_BIT(CAP_SETPCAP) | CAP_BIT(CAP_NET_BIND_SERVICE) |
               CAP_BIT(CAP_SYS_CHROOT) | CAP_BIT(CAP_KILL) | CAP_BIT(CAP_AUDIT_WRITE);
}

uint64_t caps_all(void)
{
        return CAP_BIT(CAP_LAST_CAP + 1) - 1;
}

int cap_from_name(const char *name)
{
        if (strncasecmp(name, "CAP_", 4) == 0)
                name += 4;
        for (int c = 0; c <= CAP_LAST_CAP; c++)
                if (cap_names[c] && strcasecmp(cap_names[c], name) == 0)
                        return c;
        return -EINVAL;
}

const char *cap_to_name(int cap)
{
        return cap >= 0 && cap <= CAP_LAST_CAP ? cap_names[cap] : NULL;
}

static bool is_all(const char *s)
{
        return strcasecmp(s, "ALL") == 0;
}

static int caps_from_list(char *const *l, bool *ret_all, uint64_t *ret, const char **ret_bad)
{
        uint64_t m = 0;

        *ret_all = false;
        for (char *const *s = l; s && *s; s++) {
                int c;

                if (is_all(*s)) {
                        *ret_all = true;
                        continue;
                }
                c = cap_from_name(*s);
                if (c < 0) {
                        if (ret_bad)
                                *ret_bad = *s;
                        return c;
                }
                m |= CAP_BIT(c);
        }
        *ret = m;
        return 0;
}

int caps_resolve(bool privileged, char *const *cap_add, char *const *cap_drop, uint64_t *ret,
                 const char **ret_bad)
{
        uint64_t add, drop;
        bool add_all, drop_all;
        int r;

        /* Names are checked even when privileged ignores them: a typo should not pass silently. */
        r = caps_from_list(cap_add, &add_all, &add, ret_bad);
        if (r < 0)
                return r;
        r = caps_from_list(cap_drop, &drop_all, &drop, ret_bad);
        if (r < 0)
                return r;

        if (privileged)
                *ret = caps_all();
        else if (add_all)
                *ret = caps_all() & ~drop;
        else if (drop_all)
                *ret = add;
        else
                *ret = (caps_docker_default() & ~drop) | add;
        return 0;
}

int caps_apply_bounding(uint64_t caps, ChildError *e)
{
        for (int c = 0; c < 64; c++) {
                int r;

                if (caps & CAP_BIT(c))
                        continue;
                r = prctl(PR_CAPBSET_READ, (unsigned long) c, 0, 0, 0);
                if (r < 0 && errno == EINVAL)
                        break; /* past the running kernel's last capability */
                if (r <= 0)
                        continue;
                if (prctl(PR_CAPBSET_DROP, (unsigned long) c, 0, 0, 0) < 0)
                        return child_fail(e, negative_errno(), "cannot drop CAP_%s from the bounding set",
                                          cap_to_name(c) ?: "?");
        }
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return child_fail(e, negative_errno(), "cannot clear the ambient capabilities");
        return 0;
}

int caps_apply_sets(uint64_t caps, bool root, ChildError *e)
{
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        struct __user_cap_data_struct d[2] = {};
        uint64_t have;

        if (syscall(SYS_capget, &h, d) < 0)
                return child_fail(e, negative_errno(), "capget failed");
        have = (uint64_t) d[0].permitted | ((uint64_t) d[1].permitted << 32);
        /* What the kernel (or whoever started berth) does not have cannot be asked for. */
        caps = root ? caps & have : 0;

        d[0].effective = d[0].permitted = (uint32_t) caps;
        d[1].effective = d[1].permitted = (uint32_t) (caps >> 32);
        d[0].inheritable = d[1].inheritable = 0;
        if (syscall(SYS_capset, &h, d) < 0)
                return child_fail(e, negative_errno(), "cannot set the capabilities");
        return 0;
}
