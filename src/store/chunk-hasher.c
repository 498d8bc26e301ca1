/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "shared/thread-util.h"
#include "store/chunk-hasher.h"

#define HASHER_STACK_SIZE (64 * 1024)

struct ChunkHasher {
        pthread_t thread;
        bool running;
        size_t chunk_size;
        pthread_mutex_t lock;
        pthread_cond_t changed;
        uint8_t *chunks[CHUNK_HASHER_CHUNKS];
        size_t sizes[CHUNK_HASHER_CHUNKS];
        uint64_t queued, hashed; /* chunks ever queued and hashed: the ring's positions */
        bool stopping;           /* no more chunks will come */
        bool dropping;           /* and those queued are not wanted */
        int error;
        Sha256 *sha;
};

static void *hasher_thread(void *userdata)
{
        ChunkHasher *h = userdata;

        pthread_mutex_lock(&h->lock);
        for (;;) {
                while (h->hashed == h->queued && !h->stopping)
                        pthread_cond_wait(&h->changed, &h->lock);
                if (h->dropping || h->hashed == h->queued)
                        break;
                size_t i = h->hashed % CHUNK_HASHER_CHUNKS;
                pthread_mutex_unlock(&h->lock);

                /* The chunk is ours until hashed is bumped: the producer waits for it before reuse. */
                int r = h->error < 0 ? 0 : sha256_update(h->sha, h->chunks[i], h->sizes[i]);

                pthread_mutex_lock(&h->lock);
                if (r < 0)
                        h->error = r;
                h->hashed++;
                pthread_cond_signal(&h->changed);
        }
        pthread_mutex_unlock(&h->lock);
        return NULL;
}

static void hasher_stop(ChunkHasher *h, bool drop)
{
        if (!h->running)
                return;
        pthread_mutex_lock(&h->lock);
        h->stopping = true;
        h->dropping = drop;
        pthread_cond_signal(&h->changed);
        pthread_mutex_unlock(&h->lock);
        (void) pthread_join(h->thread, NULL);
        h->running = false;
}

ChunkHasher *chunk_hasher_free(ChunkHasher *h)
{
        if (!h)
                return NULL;
        hasher_stop(h, true);
        for (size_t i = 0; i < CHUNK_HASHER_CHUNKS; i++)
                free(h->chunks[i]);
        sha256_free(h->sha);
        pthread_cond_destroy(&h->changed);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return NULL;
}

int chunk_hasher_start(size_t chunk_size, ChunkHasher **ret)
{
        _cleanup_(chunk_hasher_freep) ChunkHasher *h = NULL;
        int r;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->chunk_size = chunk_size;
        pthread_mutex_init(&h->lock, NULL);
        pthread_cond_init(&h->changed, NULL);
        r = sha256_new(&h->sha);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(h);
        return 0;
}

/* Without the thread: what is queued, hashed here. */
static void hash_queued(ChunkHasher *h)
{
        for (; h->hashed < h->queued; h->hashed++) {
                size_t i = h->hashed % CHUNK_HASHER_CHUNKS;
                int r = h->error < 0 ? 0 : sha256_update(h->sha, h->chunks[i], h->sizes[i]);

                if (r < 0)
                        h->error = r;
        }
}

uint8_t *chunk_hasher_get(ChunkHasher *h)
{
        uint8_t *chunk;
        size_t i;

        pthread_mutex_lock(&h->lock);
        while (h->queued - h->hashed == CHUNK_HASHER_CHUNKS)
                pthread_cond_wait(&h->changed, &h->lock);
        i = h->queued % CHUNK_HASHER_CHUNKS;
        if (!h->chunks[i])
                h->chunks[i] = malloc(h->chunk_size); /* as the stream needs them: a tiny one, one */
        chunk = h->chunks[i];
        pthread_mutex_unlock(&h->lock);
        return chunk;
}

void chunk_hasher_put(ChunkHasher *h, size_t size)
{
        pthread_mutex_lock(&h->lock);
        h->sizes[h->queued % CHUNK_HASHER_CHUNKS] = size;
        h->queued++;
        /* The thread comes with the second chunk: a stream of one is hashed at the finish, without one. If
         * it cannot start, the hashing is done here. */
        if (!h->running && h->queued > 1) {
                if (helper_thread_start(&h->thread, HASHER_STACK_SIZE, hasher_thread, h) >= 0)
                        h->running = true;
                else
                        hash_queued(h);
        }
        pthread_cond_signal(&h->changed);
        pthread_mutex_unlock(&h->lock);
}

int chunk_hasher_finish(ChunkHasher *h, char ret[static SHA256_DIGEST_STRING_SIZE])
{
        hasher_stop(h, false);
        hash_queued(h);
        if (h->error < 0)
                return h->error;
        return sha256_final_to(h->sha, ret);
}
