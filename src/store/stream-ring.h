/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/sha256.h"

/* A layer's decompressed stream, in a small ring of chunks with two consumers. The producer (the
 * decompressing thread) fills a chunk and queues it; a thread of the ring's own hashes the chunks in order
 * (the diff_id), and the reader (the tar reader, on the extracting thread) reads the same chunks in place. A
 * chunk is reused only once both are done with it.
 *
 * Why: inflating and both hashes on one thread made it the slow side of a pull (with ISA-L, 324 ms of CPU
 * for the debian layer against 188 ms for the tar side, 67 ms of it the 121 MB tar's sha256); a third thread
 * lets the scheduler keep both CPUs busy whichever side is slower. And a pipe to the reader copied every
 * byte twice (in and out), about 35 ms of CPU for that layer on the two busiest threads; the reader now
 * gets the chunk itself. */
typedef struct StreamRing StreamRing;

/* 16 MiB of 1 MiB chunks, allocated as the stream first needs them: the tar side stalls in the kernel now
 * and then (file creation waiting on the journal or on the writeback's syncfs), and a deeper ring lets
 * inflating run on meanwhile. The debian layer on ext4, alternating runs: 385 ms with 4 chunks, 370 with 8,
 * 355 with 16.
 */
#define STREAM_RING_CHUNKS 16

typedef enum StreamRingFlags {
        /* A reader will read the stream (stream_ring_read()); without one, the chunks are only hashed. */
        STREAM_RING_READER = 1 << 0,
        /* Producer, hasher and reader are the one calling thread: the producer queues the whole stream
         * first, each chunk hashed as it is queued, then the reader reads it. No thread is started, and the
         * producer never waits: it gets -ENOBUFS once all the chunks hold what the reader has yet to read
         * (a stream of more than STREAM_RING_CHUNKS chunks needs the threads). */
        STREAM_RING_ONE_THREAD = 1 << 1,
} StreamRingFlags;

int stream_ring_new(size_t chunk_size, StreamRingFlags flags, StreamRing **ret);

/* Producer. The next chunk to fill, chunk_size bytes, in *ret; waits until the hasher and the reader are
 * done with what it held before. -ENOMEM (chunks are allocated as they are first needed), or -ENOBUFS on
 * one thread with every chunk still to be read. */
int stream_ring_get(StreamRing *r, uint8_t **ret);

/* Queues the first size bytes of the chunk from the last stream_ring_get(). The hashing thread starts with
 * the second chunk queued: a stream of one chunk is hashed by stream_ring_finish(), on the caller's thread.
 * On one thread, the chunk is hashed here. */
void stream_ring_put(StreamRing *r, size_t size);

/* No more chunks: once it has read the last one, the reader gets the end of the stream. The producer calls
 * it on success and failure alike (a reader waiting for more would otherwise wait forever). */
void stream_ring_end(StreamRing *r);

/* Reader. The next chunk queued, valid until the next call or stream_ring_close_reader(); its size, 0 at the
 * end of the stream (on one thread, also when nothing more is queued: no one else could queue it). */
size_t stream_ring_read(StreamRing *r, const uint8_t **ret);

/* The reader is done (the tar ended, or it failed): what is still queued or to come is only hashed. */
void stream_ring_close_reader(StreamRing *r);

/* After stream_ring_end(): waits until every queued chunk is hashed, then writes "sha256:<hex>" to ret. */
int stream_ring_finish(StreamRing *r, char ret[static SHA256_DIGEST_STRING_SIZE]);

/* Stops the thread (what is still queued is dropped) and frees r. NULL is fine. */
StreamRing *stream_ring_free(StreamRing *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(StreamRing *, stream_ring_free);
