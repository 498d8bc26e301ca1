/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <sys/socket.h>

#include "shared/fd-passing.h"
#include "shared/macro.h"

typedef union {
        struct cmsghdr cmsg;
        char buf[CMSG_SPACE(sizeof(int))];
} FdControl;

int fd_send(int sock, int fd)
{
        char byte = 'M';
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        FdControl control = {};
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? negative_errno() : 0;
}

int fd_receive(int sock, int *ret_fd)
{
        char byte;
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        FdControl control = {};
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        struct cmsghdr *c;
        ssize_t n;

        n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0)
                return negative_errno();
        c = CMSG_FIRSTHDR(&mh);
        if (n != 1 || !c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
            c->cmsg_len != CMSG_LEN(sizeof(int)))
                return -EBADMSG;
        memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
        return 0;
}

typedef union {
        struct cmsghdr cmsg;
        char buf[CMSG_SPACE(sizeof(int) * FDS_MAX)];
} FdsControl;

int fds_send(int sock, const void *data, size_t size, const int *fds, size_t n_fds)
{
        struct iovec iov = { .iov_base = (void *) data, .iov_len = size };
        FdsControl control = {};
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (n_fds > FDS_MAX)
                return -E2BIG;
        if (n_fds > 0) {
                struct cmsghdr *c;

                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? negative_errno() : 0;
}

ssize_t fds_receive(int sock, void *buf, size_t size, int *fds, size_t max_fds, size_t *ret_n_fds)
{
        struct iovec iov = { .iov_base = buf, .iov_len = size };
        FdsControl control = {};
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = CMSG_SPACE(sizeof(int) * MIN(max_fds, (size_t) FDS_MAX)),
        };
        ssize_t n;

        *ret_n_fds = 0;
        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                size_t k;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                k = MIN((c->cmsg_len - CMSG_LEN(0)) / sizeof(int), max_fds - *ret_n_fds);
                memcpy(fds + *ret_n_fds, CMSG_DATA(c), k * sizeof(int));
                *ret_n_fds += k;
        }
        if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
                return -EMSGSIZE;
        return n;
}
