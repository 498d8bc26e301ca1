/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One file descriptor over a unix socket (SCM_RIGHTS), with one byte of payload: how a container or exec
 * child hands its terminal's master to berth-monitor. */
int fd_send(int sock, int fd);
/* Receives what fd_send() sent, without waiting; the fd arrives close-on-exec. -EBADMSG if the message is
 * not one fd. */
int fd_receive(int sock, int *ret_fd);
