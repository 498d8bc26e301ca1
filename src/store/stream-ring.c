/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "shared/thread-util.h"
#include "store/stream-ring.h"

#define HASHER_STACK_SIZE (64 * 1024)

/* Positions count chunks ever queued, hashed and taken; chunk n lives in slot n % STREAM_RING_CHUNKS. */
struct StreamRing {
        pthread_t thread;
        bool running;
        bool one_thread; /* STREAM_RING_ONE_THREAD */
        size_t chunk_size;
        pthread_mutex_t lock;
        pthread_cond_t queued_more; /* the hasher and the reader wait on it */
        pthread_cond_t released;    /* the producer waits on it */
        uint8_t *chunks[STREAM_RING_CHUNKS];
        size_t sizes[STREAM_RING_CHUNKS];
        uint64_t queued, hashed;
        uint64_t taken; /* by the reader */
        bool holding;   /* the reader still uses the last chunk it took */
        bool reading;   /* a reader is there and not done */
        bool ended;     /* the producer queues no more */
        bool stopping;  /* the hasher: finish what is queued, then go */
        bool dropping;  /* and drop it instead */
        int error;
        Sha256 *sha;
};

/* The oldest chunk either consumer still needs: slots before it may be filled again. */
static uint64_t released_until(const StreamRing *r)
{
        uint64_t read = r->holding ? r->taken - 1 : r->taken;

        return r->reading ? MIN(r->hashed, read) : r->hashed;
}

static void *hasher_thread(void *userdata)
{
        StreamRing *r = userdata;

        pthread_mutex_lock(&r->lock);
        for (;;) {
                while (r->hashed == r->queued && !r->stopping)
                        pthread_cond_wait(&r->queued_more, &r->lock);
                if (r->dropping || r->hashed == r->queued)
                        break;
                size_t i = r->hashed % STREAM_RING_CHUNKS;
                pthread_mutex_unlock(&r->lock);

                /* The chunk stays put until hashed is bumped: the producer waits for that before reuse. */
                int k = r->error < 0 ? 0 : sha256_update(r->sha, r->chunks[i], r->sizes[i]);

                pthread_mutex_lock(&r->lock);
                if (k < 0)
                        r->error = k;
                r->hashed++;
                pthread_cond_signal(&r->released);
        }
        pthread_mutex_unlock(&r->lock);
        return NULL;
}

static void hasher_stop(StreamRing *r, bool drop)
{
        if (!r->running)
                return;
        pthread_mutex_lock(&r->lock);
        r->stopping = true;
        r->dropping = drop;
        pthread_cond_broadcast(&r->queued_more);
        pthread_mutex_unlock(&r->lock);
        (void) pthread_join(r->thread, NULL);
        r->running = false;
}

StreamRing *stream_ring_free(StreamRing *r)
{
        if (!r)
                return NULL;
        hasher_stop(r, true);
        for (size_t i = 0; i < STREAM_RING_CHUNKS; i++)
                free(r->chunks[i]);
        sha256_free(r->sha);
        pthread_cond_destroy(&r->released);
        pthread_cond_destroy(&r->queued_more);
        pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
}

int stream_ring_new(size_t chunk_size, StreamRingFlags flags, StreamRing **ret)
{
        _cleanup_(stream_ring_freep) StreamRing *r = NULL;
        int k;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->chunk_size = chunk_size;
        r->reading = flags & STREAM_RING_READER;
        r->one_thread = flags & STREAM_RING_ONE_THREAD;
        pthread_mutex_init(&r->lock, NULL);
        pthread_cond_init(&r->queued_more, NULL);
        pthread_cond_init(&r->released, NULL);
        k = sha256_new(&r->sha);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

/* Without the thread: what is queued, hashed here. */
static void hash_queued(StreamRing *r)
{
        for (; r->hashed < r->queued; r->hashed++) {
                size_t i = r->hashed % STREAM_RING_CHUNKS;
                int k = r->error < 0 ? 0 : sha256_update(r->sha, r->chunks[i], r->sizes[i]);

                if (k < 0)
                        r->error = k;
        }
}

static bool all_held(const StreamRing *r)
{
        return r->queued - released_until(r) >= STREAM_RING_CHUNKS;
}

int stream_ring_get(StreamRing *r, uint8_t **ret)
{
        size_t i;
        int k = 0;

        pthread_mutex_lock(&r->lock);
        while (all_held(r) && !r->one_thread)
                pthread_cond_wait(&r->released, &r->lock);
        i = r->queued % STREAM_RING_CHUNKS;
        if (all_held(r))
                k = -ENOBUFS; /* on one thread, no one else can release a chunk */
        else {
                if (!r->chunks[i])
                        r->chunks[i] = malloc(r->chunk_size); /* as the stream needs them: a tiny one, one */
                if (!r->chunks[i])
                        k = -ENOMEM;
        }
        *ret = k < 0 ? NULL : r->chunks[i];
        pthread_mutex_unlock(&r->lock);
        return k;
}

void stream_ring_put(StreamRing *r, size_t size)
{
        if (size == 0)
                return; /* the reader would take it for the end */
        pthread_mutex_lock(&r->lock);
        r->sizes[r->queued % STREAM_RING_CHUNKS] = size;
        r->queued++;
        /* If the thread cannot start, the hashing is done here. */
        if (r->one_thread)
                hash_queued(r);
        else if (!r->running && r->queued > 1) {
                if (helper_thread_start(&r->thread, HASHER_STACK_SIZE, hasher_thread, r) >= 0)
                        r->running = true;
                else
                        hash_queued(r);
        }
        pthread_cond_broadcast(&r->queued_more);
        pthread_mutex_unlock(&r->lock);
}

void stream_ring_end(StreamRing *r)
{
        pthread_mutex_lock(&r->lock);
        r->ended = true;
        pthread_cond_broadcast(&r->queued_more);
        pthread_mutex_unlock(&r->lock);
}

size_t stream_ring_read(StreamRing *r, const uint8_t **ret)
{
        size_t i, size = 0;

        pthread_mutex_lock(&r->lock);
        /* Asking for the next chunk gives the last one back. */
        r->holding = false;
        pthread_cond_signal(&r->released);
        while (r->reading && r->taken == r->queued && !r->ended && !r->one_thread)
                pthread_cond_wait(&r->queued_more, &r->lock);
        if (r->reading && r->taken < r->queued) {
                i = r->taken % STREAM_RING_CHUNKS;
                r->taken++;
                r->holding = true;
                *ret = r->chunks[i];
                size = r->sizes[i];
        }
        pthread_mutex_unlock(&r->lock);
        return size;
}

void stream_ring_close_reader(StreamRing *r)
{
        pthread_mutex_lock(&r->lock);
        r->reading = false;
        r->holding = false;
        pthread_cond_signal(&r->released);
        pthread_mutex_unlock(&r->lock);
}

int stream_ring_finish(StreamRing *r, char ret[static SHA256_DIGEST_STRING_SIZE])
{
        hasher_stop(r, false);
        hash_queued(r);
        if (r->error < 0)
                return r->error;
        return sha256_final_to(r->sha, ret);
}
