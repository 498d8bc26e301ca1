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
