/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "runtime/loopback.h"
#include "shared/macro.h"

/* A fresh namespace's lo already has 127.0.0.1/8 and ::1 configured by the kernel; only IFF_UP is missing,
 * so one ioctl does what a netlink conversation would. */
int loopback_up(void)
{
        _cleanup_close_ int fd = -EBADF;
        struct ifreq ifr = { .ifr_name = "lo" };

        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return negative_errno();
        if (ifr.ifr_flags & IFF_UP)
                return 0;
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return negative_errno();
        return 0;
}
