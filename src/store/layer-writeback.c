/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "shared/thread-util.h"
#include "store/layer-writeback.h"

#define WRITEBACK_STACK_SIZE (64 * 1024)

struct LayerWriteback {
        int fd;
        pthread_t thread;
        bool running;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        uint64_t unasked; /* bytes written since the last full batch: the producer's alone, no lock */
        bool asked;       /* a syncfs is wanted: the thread takes it (several asked meanwhile make one) */
        bool stopping;
        int error; /* the first failed syncfs, as negative errno */
};

static void *writeback_thread(void *userdata)
{
        LayerWriteback *w = userdata;

        pthread_mutex_lock(&w->lock);
        for (;;) {
                while (!w->stopping && !w->asked)
                        pthread_cond_wait(&w->wake, &w->lock);
                /* A syncfs asked for before the stop still runs: the stop then means "all asked for is
                 * done", which the tests can rely on. */
                if (!w->asked)
                        break;
                w->asked = false;
                pthread_mutex_unlock(&w->lock);

                int r = syncfs(w->fd) < 0 ? -errno : 0;

                pthread_mutex_lock(&w->lock);
                if (r < 0 && w->error == 0)
                        w->error = r;
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

int layer_writeback_start(int fd, LayerWriteback **ret)
{
        LayerWriteback *w;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->fd = fd;
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->wake, NULL);
        *ret = w;
        return 0;
}

/* The thread starts with the first full batch: most layers are smaller than one and never need it. */
static int start_thread(LayerWriteback *w)
{
        int r = helper_thread_start(&w->thread, WRITEBACK_STACK_SIZE, writeback_thread, w);
        if (r < 0)
                return r;
        w->running = true;
        return 0;
}

void layer_writeback_add(LayerWriteback *w, uint64_t bytes)
{
        if (!w)
                return;
        /* Called for every entry: the lock only once a batch is full. */
        w->unasked += bytes;
        if (w->unasked < LAYER_WRITEBACK_BYTES)
                return;
        w->unasked = 0;

        pthread_mutex_lock(&w->lock);
        if (w->running || start_thread(w) >= 0) {
                w->asked = true;
                pthread_cond_signal(&w->wake);
        } else if (syncfs(w->fd) < 0 && w->error == 0) /* no thread: the same syncfs, only not alongside */
                w->error = -errno;
        pthread_mutex_unlock(&w->lock);
}

int layer_writeback_stop(LayerWriteback *w)
{
        int r;

        if (!w)
                return 0;
        pthread_mutex_lock(&w->lock);
        w->stopping = true;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
        if (w->running)
                (void) pthread_join(w->thread, NULL);

        r = w->error;
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return r;
}
