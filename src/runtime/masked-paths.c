/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "runtime/masked-paths.h"

/* moby's oci.DefaultSpec() lists, which podman shares. Each hides something a container could read about or
 * do to the host: the kernel's memory (kcore), other users' keys, timer and scheduler internals that leak
 * host activity, SCSI rescans, firmware tables and power-capping knobs (energy counters make a side channel:
 * CVE-2020-8694). */
static const char *const masked[] = {
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
};

/* Kernel tunables and triggers that are not namespaced: writing them would change the host. */
static const char *const readonly[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static int mask(const char *path, ChildError *e)
{
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : child_fail(e, negative_errno(), "cannot stat %s", path);
        if (S_ISDIR(st.st_mode)) {
                if (mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                          "size=0,mode=0555") < 0)
                        return child_fail(e, negative_errno(), "cannot mask %s", path);
        } else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0)
                return child_fail(e, negative_errno(), "cannot mask %s", path);
        return 0;
}

static int make_readonly(const char *path, ChildError *e)
{
        if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
                return errno == ENOENT ? 0 : child_fail(e, negative_errno(), "cannot bind %s", path);
        if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  NULL) < 0)
                return child_fail(e, negative_errno(), "cannot make %s read-only", path);
        return 0;
}

int masked_paths_apply(ChildError *e)
{
        int r;

        /* Read-only first: /proc/sys is not masked, but a masked path inside a read-only one would be
         * hidden again by the later bind. */
        for (size_t i = 0; i < ELEMENTSOF(readonly); i++) {
                r = make_readonly(readonly[i], e);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(masked); i++) {
                r = mask(masked[i], e);
                if (r < 0)
                        return r;
        }
        return 0;
}
