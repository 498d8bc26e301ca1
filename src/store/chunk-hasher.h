/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "oci/sha256.h"

/* sha256 of a stream on a thread of its own. The producer fills chunks of a small ring and queues them; the
 * thread hashes them in order and gives them back. A layer's decompressing thread uses it for the diff_id,
 * so that inflating and the two hashes are not all on one CPU: with ISA-L, that thread took 324 ms of CPU
 * for the debian layer against 188 ms for the tar side, and the 121 MB tar's sha256 was 67 ms of it. With a
 * third thread the scheduler can keep both CPUs busy whichever side is slower. */
typedef struct ChunkHasher ChunkHasher;

#define CHUNK_HASHER_CHUNKS 4

int chunk_hasher_start(size_t chunk_size, ChunkHasher **ret);

/* The next chunk to fill, chunk_size bytes; waits until the thread has hashed what it held before. NULL when
 * out of memory (chunks are allocated as they are first needed). The thread starts with the second chunk
 * queued: a stream of one chunk is hashed by chunk_hasher_finish(), on the caller's thread. */
uint8_t *chunk_hasher_get(ChunkHasher *h);

/* Queues the first size bytes of the chunk from the last chunk_hasher_get(). The caller may go on reading
 * it (say, to write it somewhere) until its next chunk_hasher_get(). */
void chunk_hasher_put(ChunkHasher *h, size_t size);

/* Waits until every queued chunk is hashed, then writes "sha256:<hex>" to ret. The hasher is done after it:
 * only chunk_hasher_free() is left. */
int chunk_hasher_finish(ChunkHasher *h, char ret[static SHA256_DIGEST_STRING_SIZE]);

/* Stops the thread (what is still queued is dropped) and frees h. NULL is fine. */
ChunkHasher *chunk_hasher_free(ChunkHasher *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(ChunkHasher *, chunk_hasher_free);
