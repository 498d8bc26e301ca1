/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "network/port-proxy.h"
#include "shared/fs-util.h"
#include "shared/log.h"

#define RELAY_BUFFER 65536
/* Connections at once per published port; more are closed at accept. */
#define RELAYS_MAX 256

static sd_event *proxy_event;

void port_proxy_set_event(sd_event *event)
{
        proxy_event = event;
}

/* One end of a relayed connection: buf holds what was read from it and is not yet written to the other. */
typedef struct RelaySide {
        int fd;
        sd_event_source *source;
        char *buf;
        size_t len, off;
        bool eof;
} RelaySide;

/* side[0] the client on [::1], side[1] the container. */
typedef struct Relay {
        PortProxy *proxy;
        RelaySide side[2];
        bool connected;
} Relay;

struct PortProxy {
        int listen_fd;
        sd_event_source *accept_source;
        struct sockaddr_in6 target;
        GHashTable *relays; /* Relay set */
};

static void relay_free(Relay *r)
{
        for (int i = 0; i < 2; i++) {
                sd_event_source_disable_unref(r->side[i].source);
                safe_close(r->side[i].fd);
                g_free(r->side[i].buf);
        }
        g_free(r);
}

static void relay_end(Relay *r)
{
        g_hash_table_remove(r->proxy->relays, r);
}

/* What each end waits for now; an end that waits for nothing is off (epoll reports a hang-up anyway). */
static int relay_update(Relay *r)
{
        for (int i = 0; i < 2; i++) {
                const RelaySide *s = &r->side[i], *o = &r->side[1 - i];
                uint32_t events = 0;
                int q;

                if (r->connected && !s->eof && s->len == 0)
                        events |= EPOLLIN;
                if ((i == 1 && !r->connected) || o->len > o->off)
                        events |= EPOLLOUT;
                q = sd_event_source_set_io_events(s->source, events);
                if (q >= 0)
                        q = sd_event_source_set_enabled(s->source, events ? SD_EVENT_ON : SD_EVENT_OFF);
                if (q < 0)
                        return q;
        }
        return 0;
}

/* Writes what side from holds to its other end; passes an EOF on once all is written. */
static int relay_flush(Relay *r, int from)
{
        RelaySide *s = &r->side[from], *to = &r->side[1 - from];

        while (s->off < s->len) {
                ssize_t n = write(to->fd, s->buf + s->off, s->len - s->off);

                if (n < 0)
                        return errno == EAGAIN ? 0 : -errno;
                s->off += (size_t) n;
        }
        s->len = s->off = 0;
        if (s->eof)
                (void) shutdown(to->fd, SHUT_WR);
        return 0;
}

static int relay_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        Relay *r = userdata;
        int i = fd == r->side[0].fd ? 0 : 1, q = 0;
        RelaySide *s = &r->side[i];

        if (i == 1 && !r->connected) {
                int error = 0;
                socklen_t len = sizeof(error);

                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0 || error != 0) {
                        log_debug("Cannot reach the container for a connection on [::1]: %s",
                                  strerror(error ?: errno));
                        relay_end(r);
                        return 0;
                }
                r->connected = true;
        } else if (revents & EPOLLOUT)
                q = relay_flush(r, 1 - i);
        if (q >= 0 && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && r->connected && !s->eof &&
            s->len == 0) {
                ssize_t n = read(fd, s->buf, RELAY_BUFFER);

                if (n < 0 && errno != EAGAIN)
                        q = -errno;
                else if (n == 0)
                        s->eof = true;
                else if (n > 0)
                        s->len = (size_t) n;
                if (q >= 0 && n >= 0)
                        q = relay_flush(r, i);
        }
        if (q >= 0 && r->side[0].eof && r->side[1].eof && r->side[0].len == 0 && r->side[1].len == 0)
                q = -ECONNRESET; /* both ways done */
        if (q >= 0)
                q = relay_update(r);
        if (q < 0)
                relay_end(r);
        return 0;
}

static int proxy_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        PortProxy *p = userdata;
        _cleanup_close_ int client = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), ctr = -EBADF;
        Relay *r;
        int q;

        if (client < 0 || g_hash_table_size(p->relays) >= RELAYS_MAX)
                return 0;
        ctr = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (ctr < 0)
                return 0;
        if (connect(ctr, (const struct sockaddr *) &p->target, sizeof(p->target)) < 0 &&
            errno != EINPROGRESS)
                return 0;
        r = g_new0(Relay, 1);
        r->proxy = p;
        r->side[0].fd = TAKE_FD(client);
        r->side[1].fd = TAKE_FD(ctr);
        g_hash_table_add(p->relays, r);
        q = 0;
        for (int i = 0; q >= 0 && i < 2; i++) {
                r->side[i].buf = g_malloc(RELAY_BUFFER);
                q = sd_event_add_io(proxy_event, &r->side[i].source, r->side[i].fd, 0, relay_io, r);
        }
        if (q >= 0)
                q = relay_update(r);
        if (q < 0)
                relay_end(r);
        return 0;
}

int port_proxy_new(int listen_fd, const struct in6_addr *target, uint16_t port, PortProxy **ret)
{
        PortProxy *p;
        int flags, q;

        *ret = NULL;
        if (!proxy_event)
                return 0;
        flags = fcntl(listen_fd, F_GETFL);
        if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        /* The socket listened with a backlog of 1 while it only held the port. */
        if (listen(listen_fd, SOMAXCONN) < 0)
                return -errno;
        p = g_new0(PortProxy, 1);
        p->listen_fd = listen_fd;
        p->target = (struct sockaddr_in6){ .sin6_family = AF_INET6,
                                           .sin6_addr = *target,
                                           .sin6_port = htons(port) };
        p->relays = g_hash_table_new_full(g_direct_hash, g_direct_equal, (GDestroyNotify) relay_free, NULL);
        q = sd_event_add_io(proxy_event, &p->accept_source, listen_fd, EPOLLIN, proxy_accept, p);
        if (q < 0) {
                port_proxy_free(p);
                return q;
        }
        *ret = p;
        return 0;
}

PortProxy *port_proxy_free(PortProxy *p)
{
        if (!p)
                return NULL;
        sd_event_source_disable_unref(p->accept_source);
        g_hash_table_destroy(p->relays);
        g_free(p);
        return NULL;
}
