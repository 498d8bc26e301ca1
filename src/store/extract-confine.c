/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shared/fs-util.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/seccomp-util.h"
#include "store/extract-confine.h"

#define CAP_BIT(c) (UINT64_C(1) << (c))

/* The calls of the extracting process and its decompressing thread: glibc, libarchive (archive_write_disk),
 * zlib, zstd and ISA-L. Old and new spellings of each, so a libc that picks either works. */
static const char *const extract_syscalls[] = {
        /* files */
        "read",
        "write",
        "readv",
        "writev",
        "pread64",
        "pwrite64",
        "lseek",
        "close",
        "openat",
        "open",
        "fstat",
        "newfstatat",
        "stat",
        "lstat",
        "statx",
        "fstatfs",
        "statfs",
        "getdents64",
        "fcntl",
        "dup",
        "dup2",
        "dup3",
        "eventfd",
        "eventfd2",
        "ftruncate",
        "fallocate",
        "fsync",
        "fdatasync",
        "syncfs",
        "access",
        "faccessat",
        "faccessat2",
        "fchdir",
        "chdir",
        "getcwd",
        "umask",
        /* making the tree */
        "mkdir",
        "mkdirat",
        "mknod",
        "mknodat",
        "unlink",
        "unlinkat",
        "rmdir",
        "rename",
        "renameat",
        "renameat2",
        "link",
        "linkat",
        "symlink",
        "symlinkat",
        "readlink",
        "readlinkat",
        "chown",
        "fchown",
        "lchown",
        "fchownat",
        "chmod",
        "fchmod",
        "fchmodat",
        "utimensat",
        "utimes",
        "futimesat",
        "setxattr",
        "lsetxattr",
        "fsetxattr",
        "getxattr",
        "lgetxattr",
        "fgetxattr",
        "listxattr",
        "llistxattr",
        "flistxattr",
        "removexattr",
        "lremovexattr",
        "fremovexattr",
        /* memory, threads, signals, time */
        "brk",
        "mmap",
        "munmap",
        "mremap",
        "mprotect",
        "madvise",
        "clone",
        "clone3",
        "set_robust_list",
        "rseq",
        "futex",
        "set_tid_address",
        "exit",
        "exit_group",
        "rt_sigprocmask",
        "rt_sigaction",
        "rt_sigreturn",
        "sigaltstack",
        "getpid",
        "gettid",
        "getuid",
        "geteuid",
        "getgid",
        "getegid",
        "clock_gettime",
        "gettimeofday",
        "time",
        "nanosleep",
        "clock_nanosleep",
        "sched_yield",
        "sched_getaffinity",
        "getrandom",
        "prlimit64",
        "getrlimit",
        "uname",
        "poll",
        "ppoll",
        "getppid",
        "getrusage",
        "sysinfo",
        /* sanitizer runtimes (the unit tests also run under ASan and UBSan) ask for this one; without the
         * capabilities dropped above, nothing it can do reaches beyond this process */
        "prctl",
};

uint64_t extract_confine_caps(void)
{
        return CAP_BIT(CAP_CHOWN) | CAP_BIT(CAP_DAC_OVERRIDE) | CAP_BIT(CAP_FOWNER) | CAP_BIT(CAP_FSETID) |
               CAP_BIT(CAP_MKNOD) | CAP_BIT(CAP_SETFCAP) | CAP_BIT(CAP_SYS_ADMIN);
}

/* Set by extract_confine_prepare_server(), inherited by the server's children. */
static uint64_t server_size;
static bool server_bounding_dropped;

static int process_size(uint64_t *ret)
{
        _cleanup_free_ char *statm = NULL;
        unsigned long pages;
        size_t size;
        int r;

        r = read_file_at(AT_FDCWD, "/proc/self/statm", 4096, &statm, &size);
        if (r < 0)
                return r;
        if (sscanf(statm, "%lu", &pages) != 1)
                return -EBADMSG;
        *ret = (uint64_t) pages * (uint64_t) sysconf(_SC_PAGESIZE);
        return 0;
}

int extract_confine_memory(void)
{
        uint64_t size = server_size;
        int r;

        /* The child is a copy of its parent (berthd or the fork server): its address space already holds
         * the parent's mappings. */
        if (size == 0) {
                r = process_size(&size);
                if (r < 0)
                        return r;
        }
        uint64_t limit = size + EXTRACT_MEMORY_MAX;
        struct rlimit rl = { .rlim_cur = limit, .rlim_max = limit };
        if (setrlimit(RLIMIT_AS, &rl) < 0)
                return negative_errno();
        return 0;
}

static int drop_bounding_set(uint64_t keep)
{
        for (int c = 0; c < 64; c++) {
                int r;

                if (keep & CAP_BIT(c))
                        continue;
                r = prctl(PR_CAPBSET_READ, (unsigned long) c, 0, 0, 0);
                if (r < 0 && errno == EINVAL)
                        break; /* past the running kernel's last capability */
                if (r <= 0)
                        continue;
                if (prctl(PR_CAPBSET_DROP, (unsigned long) c, 0, 0, 0) < 0)
                        return negative_errno();
        }
        return 0;
}

static int drop_capabilities(uint64_t keep)
{
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        struct __user_cap_data_struct d[2] = {};
        uint64_t have;
        int r;

        /* The bounding set first: dropping from it needs CAP_SETPCAP, which goes below. */
        if (!server_bounding_dropped) {
                r = drop_bounding_set(keep);
                if (r < 0)
                        return r;
        }
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return negative_errno();

        if (syscall(SYS_capget, &h, d) < 0)
                return negative_errno();
        have = (uint64_t) d[0].permitted | ((uint64_t) d[1].permitted << 32);
        keep &= have;
        d[0].effective = d[0].permitted = (uint32_t) keep;
        d[1].effective = d[1].permitted = (uint32_t) (keep >> 32);
        d[0].inheritable = d[1].inheritable = 0;
        if (syscall(SYS_capset, &h, d) < 0)
                return negative_errno();
        return 0;
}

static int build_seccomp(scmp_filter_ctx *ret)
{
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;

        ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
        if (!ctx)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(extract_syscalls); i++) {
                int nr = seccomp_syscall_resolve_name(extract_syscalls[i]), r;

                if (nr == __NR_SCMP_ERROR)
                        continue; /* not on this architecture */
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(ctx);
        return 0;
}

/* The filter as BPF, made once per process by extract_confine_prepare() and inherited by each child: a pull
 * of many small layers forks one child per layer, and libseccomp's compilation of the allow-list (about a
 * million instructions) was a good part of a tiny layer's cost. */
static struct sock_filter *prepared_filter;
static unsigned short prepared_len;
static pthread_once_t prepare_once = PTHREAD_ONCE_INIT;

static void prepare_filter(void)
{
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        void *filter;
        size_t size;

        if (build_seccomp(&ctx) < 0 || seccomp_export_bpf_buffer(ctx, &filter, &size) < 0)
                return;
        prepared_len = (unsigned short) (size / sizeof(struct sock_filter));
        prepared_filter = filter;
}

void extract_confine_prepare(void)
{
        (void) pthread_once(&prepare_once, prepare_filter);
}

void extract_confine_prepare_server(void)
{
        extract_confine_prepare();
        /* The server never execs: the bounding set only limits what an exec could gain, so dropping it here
         * takes nothing from the server itself, and spares each child about a hundred prctl() calls. What
         * fails here, each child does itself. */
        server_bounding_dropped = drop_bounding_set(extract_confine_caps()) >= 0;
        if (process_size(&server_size) < 0)
                server_size = 0;
}

bool extract_confine_prepared(void)
{
        return prepared_filter;
}

static int load_seccomp(void)
{
        scmp_filter_ctx ctx = NULL;
        int r;

        if (prepared_filter) {
                struct sock_fprog prog = { .len = prepared_len, .filter = prepared_filter };

                /* no_new_privs is set already (extract_confine()). */
                if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
                        return negative_errno();
                return 0;
        }
        /* Not prepared (or preparing failed): compiled here. */
        r = build_seccomp(&ctx);
        if (r < 0)
                return r;
        r = seccomp_load(ctx);
        seccomp_release(ctx);
        return r;
}

int extract_confine(void)
{
        int r;

        r = drop_capabilities(extract_confine_caps());
        if (r < 0)
                return log_debug_errno(r, "Cannot drop capabilities: %m");
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return log_debug_errno(negative_errno(), "Cannot set no_new_privs: %m");
        r = load_seccomp();
        if (r < 0)
                return log_debug_errno(r, "Cannot load the seccomp filter: %m");
        return 0;
}
