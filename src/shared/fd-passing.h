/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* One file descriptor over a unix socket (SCM_RIGHTS), with one byte of payload: how a container or exec
 * child hands its terminal's master to berth-monitor. */
int fd_send(int sock, int fd);
/* Receives what fd_send() sent, without waiting; the fd arrives close-on-exec. -EBADMSG if the message is
 * not one fd. */
int fd_receive(int sock, int *ret_fd);

/* Messages that carry several fds (SCM_RIGHTS) beside their bytes: berthd's "G" to the monitor with the
 * attach connections made before the start, and the fork server's requests. At most FDS_MAX fds. */
#define FDS_MAX 16
/* Sends size bytes of data with n_fds fds, as one message (MSG_NOSIGNAL). */
int fds_send(int sock, const void *data, size_t size, const int *fds, size_t n_fds);
/* Receives one message into buf (blocking; EINTR retried), its fds (close-on-exec, at most max_fds) into fds
 * and their number into *ret_n_fds. Returns the number of bytes, 0 at EOF, or a negative errno: -EMSGSIZE
 * when the bytes or the fds did not fit (the fds that came are in fds all the same, for the caller to
 * close). */
ssize_t fds_receive(int sock, void *buf, size_t size, int *fds, size_t max_fds, size_t *ret_n_fds);
