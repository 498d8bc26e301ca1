/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/seccomp-profile.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/seccomp-util.h"

/* Docker's default seccomp profile (moby profiles/seccomp/default.json, as of commit 00f3d18, less io_uring,
 * which Docker's profile dropped since), for x86_64 with its i386 and x32 sub-architectures, rebuilt with
 * libseccomp:
 *   - default action ERRNO(EPERM) for every syscall not allowed below;
 *   - x86_64 syscall numbers above the highest one libseccomp knows answer ENOSYS, as runc's stub does for
 *     Docker, so that a libc probing for a newer syscall falls back instead of seeing EPERM;
 *   - the allow list, plus the rules that depend on the container's capabilities (mount, unshare, setns …
 *     only with CAP_SYS_ADMIN; ptrace with CAP_SYS_PTRACE; etc.) and on arguments (personality values,
 *     clone without namespace flags, socket without AF_VSOCK, clone3 → ENOSYS so glibc falls back to clone,
 *     whose flags can be checked).
 * The filter is compiled in berthd (once per distinct capability set: see seccomp_profile_get) and carried
 * to the container child as BPF in the run spec, which loads it with one seccomp(2) call (seccomp-load.c):
 * no libseccomp and no parsing between fork and exec, and every container of a given capability set gets the
 * same program. berth-monitor does not link libseccomp at all. */

static const char *const allowed[] = {
        "accept",
        "accept4",
        "access",
        "adjtimex",
        "alarm",
        "bind",
        "brk",
        "capget",
        "capset",
        "chdir",
        "chmod",
        "chown",
        "chown32",
        "clock_adjtime",
        "clock_adjtime64",
        "clock_getres",
        "clock_getres_time64",
        "clock_gettime",
        "clock_gettime64",
        "clock_nanosleep",
        "clock_nanosleep_time64",
        "close",
        "close_range",
        "connect",
        "copy_file_range",
        "creat",
        "dup",
        "dup2",
        "dup3",
        "epoll_create",
        "epoll_create1",
        "epoll_ctl",
        "epoll_ctl_old",
        "epoll_pwait",
        "epoll_pwait2",
        "epoll_wait",
        "epoll_wait_old",
        "eventfd",
        "eventfd2",
        "execve",
        "execveat",
        "exit",
        "exit_group",
        "faccessat",
        "faccessat2",
        "fadvise64",
        "fadvise64_64",
        "fallocate",
        "fanotify_mark",
        "fchdir",
        "fchmod",
        "fchmodat",
        "fchown",
        "fchown32",
        "fchownat",
        "fcntl",
        "fcntl64",
        "fdatasync",
        "fgetxattr",
        "flistxattr",
        "flock",
        "fork",
        "fremovexattr",
        "fsetxattr",
        "fstat",
        "fstat64",
        "fstatat64",
        "fstatfs",
        "fstatfs64",
        "fsync",
        "ftruncate",
        "ftruncate64",
        "futex",
        "futex_time64",
        "futex_waitv",
        "futimesat",
        "getcpu",
        "getcwd",
        "getdents",
        "getdents64",
        "getegid",
        "getegid32",
        "geteuid",
        "geteuid32",
        "getgid",
        "getgid32",
        "getgroups",
        "getgroups32",
        "getitimer",
        "getpeername",
        "getpgid",
        "getpgrp",
        "getpid",
        "getppid",
        "getpriority",
        "getrandom",
        "getresgid",
        "getresgid32",
        "getresuid",
        "getresuid32",
        "getrlimit",
        "get_robust_list",
        "getrusage",
        "getsid",
        "getsockname",
        "getsockopt",
        "get_thread_area",
        "gettid",
        "gettimeofday",
        "getuid",
        "getuid32",
        "getxattr",
        "inotify_add_watch",
        "inotify_init",
        "inotify_init1",
        "inotify_rm_watch",
        "io_cancel",
        "ioctl",
        "io_destroy",
        "io_getevents",
        "io_pgetevents",
        "io_pgetevents_time64",
        "ioprio_get",
        "ioprio_set",
        "io_setup",
        "io_submit",
        "ipc",
        "kill",
        "landlock_add_rule",
        "landlock_create_ruleset",
        "landlock_restrict_self",
        "lchown",
        "lchown32",
        "lgetxattr",
        "link",
        "linkat",
        "listen",
        "listxattr",
        "llistxattr",
        "_llseek",
        "lremovexattr",
        "lseek",
        "lsetxattr",
        "lstat",
        "lstat64",
        "madvise",
        "membarrier",
        "memfd_create",
        "memfd_secret",
        "mincore",
        "mkdir",
        "mkdirat",
        "mknod",
        "mknodat",
        "mlock",
        "mlock2",
        "mlockall",
        "mmap",
        "mmap2",
        "mprotect",
        "mq_getsetattr",
        "mq_notify",
        "mq_open",
        "mq_timedreceive",
        "mq_timedreceive_time64",
        "mq_timedsend",
        "mq_timedsend_time64",
        "mq_unlink",
        "mremap",
        "msgctl",
        "msgget",
        "msgrcv",
        "msgsnd",
        "msync",
        "munlock",
        "munlockall",
        "munmap",
        "name_to_handle_at",
        "nanosleep",
        "newfstatat",
        "_newselect",
        "open",
        "openat",
        "openat2",
        "pause",
        "pidfd_open",
        "pidfd_send_signal",
        "pipe",
        "pipe2",
        "pkey_alloc",
        "pkey_free",
        "pkey_mprotect",
        "poll",
        "ppoll",
        "ppoll_time64",
        "prctl",
        "pread64",
        "preadv",
        "preadv2",
        "prlimit64",
        "process_mrelease",
        "pselect6",
        "pselect6_time64",
        "pwrite64",
        "pwritev",
        "pwritev2",
        "read",
        "readahead",
        "readlink",
        "readlinkat",
        "readv",
        "recv",
        "recvfrom",
        "recvmmsg",
        "recvmmsg_time64",
        "recvmsg",
        "remap_file_pages",
        "removexattr",
        "rename",
        "renameat",
        "renameat2",
        "restart_syscall",
        "rmdir",
        "rseq",
        "rt_sigaction",
        "rt_sigpending",
        "rt_sigprocmask",
        "rt_sigqueueinfo",
        "rt_sigreturn",
        "rt_sigsuspend",
        "rt_sigtimedwait",
        "rt_sigtimedwait_time64",
        "rt_tgsigqueueinfo",
        "sched_getaffinity",
        "sched_getattr",
        "sched_getparam",
        "sched_get_priority_max",
        "sched_get_priority_min",
        "sched_getscheduler",
        "sched_rr_get_interval",
        "sched_rr_get_interval_time64",
        "sched_setaffinity",
        "sched_setattr",
        "sched_setparam",
        "sched_setscheduler",
        "sched_yield",
        "seccomp",
        "select",
        "semctl",
        "semget",
        "semop",
        "semtimedop",
        "semtimedop_time64",
        "send",
        "sendfile",
        "sendfile64",
        "sendmmsg",
        "sendmsg",
        "sendto",
        "setfsgid",
        "setfsgid32",
        "setfsuid",
        "setfsuid32",
        "setgid",
        "setgid32",
        "setgroups",
        "setgroups32",
        "setitimer",
        "setpgid",
        "setpriority",
        "setregid",
        "setregid32",
        "setresgid",
        "setresgid32",
        "setresuid",
        "setresuid32",
        "setreuid",
        "setreuid32",
        "setrlimit",
        "set_robust_list",
        "setsid",
        "setsockopt",
        "set_thread_area",
        "set_tid_address",
        "setuid",
        "setuid32",
        "setxattr",
        "shmat",
        "shmctl",
        "shmdt",
        "shmget",
        "shutdown",
        "sigaltstack",
        "signalfd",
        "signalfd4",
        "sigprocmask",
        "sigreturn",
        "socketcall",
        "socketpair",
        "splice",
        "stat",
        "stat64",
        "statfs",
        "statfs64",
        "statx",
        "symlink",
        "symlinkat",
        "sync",
        "sync_file_range",
        "syncfs",
        "sysinfo",
        "tee",
        "tgkill",
        "time",
        "timer_create",
        "timer_delete",
        "timer_getoverrun",
        "timer_gettime",
        "timer_gettime64",
        "timer_settime",
        "timer_settime64",
        "timerfd_create",
        "timerfd_gettime",
        "timerfd_gettime64",
        "timerfd_settime",
        "timerfd_settime64",
        "times",
        "tkill",
        "truncate",
        "truncate64",
        "ugetrlimit",
        "umask",
        "uname",
        "unlink",
        "unlinkat",
        "utime",
        "utimensat",
        "utimensat_time64",
        "utimes",
        "vfork",
        "vmsplice",
        "wait4",
        "waitid",
        "waitpid",
        "write",
        "writev",
};

/* Allowed only when the container holds the capability. */
static const struct {
        int cap;
        const char *names[24];
} cap_allowed[] = {
        { CAP_DAC_READ_SEARCH, { "open_by_handle_at" } },
        { CAP_SYS_ADMIN, { "bpf",           "clone",         "clone3",      "fanotify_init",   "fsconfig",
                           "fsmount",       "fsopen",        "fspick",      "lookup_dcookie",  "mount",
                           "mount_setattr", "move_mount",    "open_tree",   "perf_event_open", "quotactl",
                           "quotactl_fd",   "setdomainname", "sethostname", "setns",           "syslog",
                           "umount",        "umount2",       "unshare" } },
        { CAP_SYS_BOOT, { "reboot" } },
        { CAP_SYS_CHROOT, { "chroot" } },
        { CAP_SYS_MODULE, { "delete_module", "init_module", "finit_module" } },
        { CAP_SYS_PACCT, { "acct" } },
        { CAP_SYS_PTRACE,
          { "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace" } },
        { CAP_SYS_RAWIO, { "iopl", "ioperm" } },
        { CAP_SYS_TIME, { "settimeofday", "stime", "clock_settime", "clock_settime64" } },
        { CAP_SYS_TTY_CONFIG, { "vhangup" } },
        { CAP_SYS_NICE, { "get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node" } },
        { CAP_SYSLOG, { "syslog" } },
        { CAP_BPF, { "bpf" } },
        { CAP_PERFMON, { "perf_event_open" } },
};

/* Docker allows these without a capability on kernels ≥ 4.8, where ptrace can no longer bypass seccomp. */
static const char *const allowed_since_4_8[] = { "process_vm_readv", "process_vm_writev", "ptrace" };

/* Syscall numbers past the last one libseccomp 2.5 knows on x86_64 (set_mempolicy_home_node, 450), up to
 * where a kernel of the next years may reach: those answer ENOSYS. */
#define UNKNOWN_FIRST 451
#define UNKNOWN_LAST  599

#define CLONE_NAMESPACE_FLAGS                                                                               \
        (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |          \
         CLONE_NEWCGROUP)

static int allow(scmp_filter_ctx ctx, const char *name)
{
        int nr = seccomp_syscall_resolve_name(name), r;

        if (nr == __NR_SCMP_ERROR)
                return 0; /* a name of another architecture, or newer than this libseccomp */
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        /* -EEXIST: already allowed by another list (syslog, bpf). */
        return r == -EEXIST ? 0 : r;
}

static int build(scmp_filter_ctx ctx, uint64_t caps, bool unknown_enosys)
{
        static const uint32_t personalities[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(allowed); i++) {
                r = allow(ctx, allowed[i]);
                if (r < 0)
                        return log_debug_errno(r, "seccomp: cannot allow %s: %m", allowed[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(allowed_since_4_8); i++) {
                r = allow(ctx, allowed_since_4_8[i]);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(cap_allowed); i++) {
                if (!(caps & (UINT64_C(1) << cap_allowed[i].cap)))
                        continue;
                for (size_t j = 0; j < ELEMENTSOF(cap_allowed[i].names) && cap_allowed[i].names[j]; j++) {
                        r = allow(ctx, cap_allowed[i].names[j]);
                        if (r < 0)
                                return log_debug_errno(r, "seccomp: cannot allow %s: %m",
                                                       cap_allowed[i].names[j]);
                }
        }

        r = allow(ctx, "arch_prctl");
        if (r >= 0)
                r = allow(ctx, "modify_ldt");
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(personalities); i++)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1,
                                     SCMP_A0(SCMP_CMP_EQ, personalities[i]));
        /* AF_VSOCK would reach the host's hypervisor sockets, which no network namespace separates. */
        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                                     SCMP_A0(SCMP_CMP_NE, AF_VSOCK));
        if (r < 0)
                return log_debug_errno(r, "seccomp: cannot add argument rules: %m");

        if (!(caps & (UINT64_C(1) << CAP_SYS_ADMIN))) {
                /* Threads and fork()s, but no new namespaces. */
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                                     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NAMESPACE_FLAGS, 0));
                /* clone3's flags sit in memory a filter cannot read: ENOSYS makes glibc use clone. */
                if (r >= 0)
                        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
                if (r < 0)
                        return log_debug_errno(r, "seccomp: cannot add the clone rules: %m");
        }

        for (int nr = UNKNOWN_FIRST; unknown_enosys && nr <= UNKNOWN_LAST; nr++) {
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
                if (r < 0 && r != -EEXIST)
                        return log_debug_errno(r, "seccomp: cannot add ENOSYS for syscall %d: %m", nr);
        }
        return 0;
}

/* One context per architecture, merged: a raw syscall number in a multi-architecture context is translated
 * from the native one, which fails for numbers libseccomp does not know (the ENOSYS range). Only x86_64
 * gets the ENOSYS range: libseccomp translates even a single non-native context's raw numbers through the
 * native table, so i386 and x32 calls past the known ones see EPERM (32-bit binaries in containers are
 * rare, and a libc that gets EPERM for a probe still falls back in practice). */
static int build_arch(uint32_t arch, uint64_t caps, scmp_filter_ctx *ret)
{
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        int r = 0;

        ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
        if (!ctx)
                return -ENOMEM;
        if (arch != seccomp_arch_native()) {
                r = seccomp_arch_add(ctx, arch);
                if (r >= 0)
                        r = seccomp_arch_remove(ctx, seccomp_arch_native());
        }
        /* The kernel checks no_new_privs itself at load time; the child loads while it still holds
         * CAP_SYS_ADMIN, so the filter must not set it behind the caller's back. */
        if (r >= 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        /* A binary tree instead of a linear list: ~400 syscalls per architecture. */
        if (r >= 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        if (r >= 0)
                r = build(ctx, caps, arch == seccomp_arch_native());
        if (r < 0)
                return r;
        *ret = TAKE_PTR(ctx);
        return 0;
}

int seccomp_profile_compile(uint64_t caps, void **ret_bpf, size_t *ret_size)
{
        static const uint32_t sub_arches[] = { SCMP_ARCH_X86, SCMP_ARCH_X32 };
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        int r;

        r = build_arch(seccomp_arch_native(), caps, &ctx);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(sub_arches); i++) {
                _cleanup_(seccomp_releasep) scmp_filter_ctx sub = NULL;

                r = build_arch(sub_arches[i], caps, &sub);
                if (r < 0)
                        return r;
                r = seccomp_merge(ctx, sub);
                if (r < 0)
                        return r;
                sub = NULL; /* merged: ctx owns it now */
        }
        return seccomp_export_bpf_buffer(ctx, ret_bpf, ret_size);
}

int seccomp_profile_get(uint64_t caps, const void **ret_bpf, size_t *ret_size)
{
        /* berthd's cache: capability set → BPF. One thread, so a static list; never freed, as the number of
         * distinct capability sets that containers ask for is small. */
        typedef struct Cached {
                struct Cached *next;
                uint64_t caps;
                void *bpf;
                size_t size;
        } Cached;
        static Cached *cache = NULL;
        _cleanup_free_ void *bpf = NULL;
        Cached *c;
        size_t size;
        int r;

        for (c = cache; c; c = c->next)
                if (c->caps == caps)
                        break;
        if (!c) {
                r = seccomp_profile_compile(caps, &bpf, &size);
                if (r < 0)
                        return log_error_errno(r, "Failed to compile the seccomp filter: %m");
                c = malloc(sizeof(Cached));
                if (!c)
                        return -ENOMEM;
                *c = (Cached){ .next = cache, .caps = caps, .bpf = TAKE_PTR(bpf), .size = size };
                cache = c;
                log_debug("Compiled the seccomp filter for capabilities %#" PRIx64 ": %zu instructions.",
                          caps, size / sizeof(struct sock_filter));
        }
        *ret_bpf = c->bpf;
        *ret_size = c->size;
        return 0;
}
