/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/container-attach.h"
#include "runtime/attach-protocol.h"
#include "runtime/monitor-protocol.h"
#include "shared/fd-passing.h"
#include "shared/log.h"

int container_connect_monitor(Container *c, int *ret_fd)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        int n;

        n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/containers/%s/attach", c->manager->runtime_dir,
                     c->id);
        if (n < 0 || (size_t) n >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        /* Non-blocking: a monitor that does not accept (its backlog full) must not stall the bus. */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                /* No socket, or nobody listening: the monitor is gone or going. */
                return errno == ENOENT || errno == ECONNREFUSED ? -ESRCH : negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int write_header(int fd, const char *header)
{
        size_t len = strlen(header);
        /* Into an empty socket buffer, far below its size: it goes in one piece or not at all. */
        ssize_t n = send(fd, header, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0)
                return errno == EPIPE || errno == ECONNRESET ? -ESRCH : negative_errno();
        return (size_t) n == len ? 0 : -EIO;
}

bool container_is_running(Container *c)
{
        return c->monitor_source && !c->starting && c->state.status == CONTAINER_RUNNING;
}

int container_attach(Container *c, const AttachOptions *o, int *ret_fd)
{
        char header[ATTACH_HEADER_MAX];
        _cleanup_close_ int fd = -EBADF;
        int r;

        snprintf(header, sizeof(header),
                 "ATTACH stdin=%d stdout=%d stderr=%d stdin_once=%d lossless=%d rows=%u cols=%u\n",
                 o->want_stdin, o->want_stdout, o->want_stderr, o->stdin_once, o->lossless, o->rows,
                 o->columns);

        /* Not started yet, or "G" not sent yet: the stream waits and goes to the monitor with "G", so the
         * client cannot miss the first output. Once "G" is out the monitor listens, and we connect. */
        bool before_go = !c->monitor_source || (c->starting && !c->sync_source);
        if (o->before_start && before_go) {
                _cleanup_close_pair_ int pair[2] = { -EBADF, -EBADF };

                if (!c->pending_attach)
                        c->pending_attach = g_array_new(false, false, sizeof(int));
                if (c->pending_attach->len >= ATTACH_PENDING_MAX)
                        return -EBUSY;
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                        return negative_errno();
                r = write_header(pair[0], header);
                if (r < 0)
                        return r;
                g_array_append_val(c->pending_attach, pair[1]);
                pair[1] = -EBADF;
                *ret_fd = TAKE_FD(pair[0]);
                return 0;
        }
        if (!container_is_running(c) && !(o->before_start && c->starting))
                return -ESRCH;

        r = container_connect_monitor(c, &fd);
        if (r < 0)
                return r;
        r = write_header(fd, header);
        if (r < 0)
                return r;
        /* The client gets a blocking socket, as any fd it would open itself. */
        (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int container_resize_connect(Container *c, unsigned rows, unsigned columns, int *ret_fd)
{
        char header[ATTACH_HEADER_MAX];
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!container_is_running(c))
                return -ESRCH;
        r = container_connect_monitor(c, &fd);
        if (r < 0)
                return r;
        snprintf(header, sizeof(header), "RESIZE %u %u\n", rows, columns);
        r = write_header(fd, header);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int container_send_go(Container *c)
{
        size_t n_fds = c->pending_attach ? c->pending_attach->len : 0;
        int r;

        _Static_assert(ATTACH_PENDING_MAX <= FDS_MAX, "the pending attach connections fit in one message");
        r = fds_send(c->sync_fd, MONITOR_MSG_GO, strlen(MONITOR_MSG_GO),
                     n_fds > 0 ? (const int *) c->pending_attach->data : NULL, n_fds);
        /* Sent or not, they are the monitor's now (or nobody's: their clients see EOF). */
        container_drop_pending_attach(c);
        return r;
}

void container_drop_pending_attach(Container *c)
{
        if (!c->pending_attach)
                return;
        for (guint i = 0; i < c->pending_attach->len; i++)
                safe_close(g_array_index(c->pending_attach, int, i));
        g_array_set_size(c->pending_attach, 0);
}
