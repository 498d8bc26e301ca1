/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shared/fs-util.h"
#include "shared/log.h"
#include "shared/seccomp-util.h"

int seccomp_export_bpf_buffer(scmp_filter_ctx ctx, void **ret, size_t *ret_size)
{
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ void *buf = NULL;
        off_t size;
        int r;

        fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        size = lseek(fd, 0, SEEK_END);
        if (size <= 0 || size % (off_t) sizeof(struct sock_filter) != 0 ||
            size > (off_t) (BPF_MAXINSNS * sizeof(struct sock_filter)))
                return log_debug_errno(-E2BIG, "seccomp: the exported filter has an unusable size %jd",
                                       (intmax_t) size);
        buf = malloc((size_t) size);
        if (!buf)
                return -ENOMEM;
        if (pread(fd, buf, (size_t) size, 0) != size)
                return -EIO;
        *ret = TAKE_PTR(buf);
        *ret_size = (size_t) size;
        return 0;
}
