/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "daemon/durable.h"
#include "shared/macro.h"
#include "shared/thread-util.h"

typedef struct Durable {
        int *fds;
        size_t n_fds;
        int result;
        int event_fd;
        pthread_t thread;
        bool joinable;
        sd_event_source *source;
        DurableDone done;
        void *userdata;
} Durable;

static Durable *durable_free(Durable *d)
{
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n_fds; i++)
                safe_close(d->fds[i]);
        free(d->fds);
        sd_event_source_disable_unref(d->source);
        safe_close(d->event_fd);
        free(d);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Durable *, durable_free);

static void durable_run(Durable *d)
{
        for (size_t i = 0; i < d->n_fds; i++) {
                if (fsync(d->fds[i]) < 0 && d->result == 0)
                        d->result = -errno;
                d->fds[i] = safe_close(d->fds[i]);
        }
}

/* The thread: only fsync, close and the eventfd's write, no lock taken (berthd forks children meanwhile). */
static void *durable_thread(void *p)
{
        Durable *d = p;

        durable_run(d);
        (void) eventfd_write(d->event_fd, 1);
        return NULL;
}

static int on_durable(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Durable *d = userdata;

        if (d->joinable)
                (void) pthread_join(d->thread, NULL);
        d->done(d->userdata, d->result);
        durable_free(d);
        return 0;
}

int durable_fsync_async(sd_event *event, int *fds, size_t n_fds, DurableDone done, void *userdata)
{
        _cleanup_(durable_freep) Durable *d = calloc(1, sizeof(*d));
        int r;

        if (d) {
                d->event_fd = -EBADF;
                d->fds = malloc(MAX(n_fds, (size_t) 1) * sizeof(int));
        }
        if (!d || !d->fds) {
                for (size_t i = 0; i < n_fds; i++)
                        safe_close(fds[i]);
                return -ENOMEM;
        }
        /* Ours from here on: durable_free() closes them. */
        for (size_t i = 0; i < n_fds; i++)
                d->fds[i] = fds[i];
        d->n_fds = n_fds;
        d->done = done;
        d->userdata = userdata;
        d->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (d->event_fd < 0)
                return negative_errno();
        r = sd_event_add_io(event, &d->source, d->event_fd, EPOLLIN, on_durable, d);
        if (r < 0)
                return r;
        r = helper_thread_start(&d->thread, 0, durable_thread, d);
        if (r >= 0)
                d->joinable = true;
        else {
                /* No thread to be had: in the loop, as before, answered through the same path. */
                durable_run(d);
                (void) eventfd_write(d->event_fd, 1);
        }
        TAKE_PTR(d); /* on_durable() frees it */
        return 0;
}
