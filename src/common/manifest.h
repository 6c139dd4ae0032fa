/* SPDX-License-Identifier: MIT */
/* Manifests of chunked files (chord.v1.Manifest): the structural checks a
 * node makes before storing one and a client makes before following one,
 * and the arithmetic of chunk boundaries. */
#ifndef CHORD_MANIFEST_H
#define CHORD_MANIFEST_H

#include <stdint.h>

#include "chord/v1/common.pb-c.h"

/* Most chunks one manifest lists (at 1 MiB chunks, 1 TiB). */
#define MANIFEST_MAX_CHUNKS ((uint64_t)1 << 20)
/* Default limit on a whole chunked file. */
#define MANIFEST_DEFAULT_MAX_OBJECT ((uint64_t)1 << 40)

/* The limits a manifest is checked against. */
struct manifest_limits {
  uint64_t max_object; /* largest size */
  uint64_t max_chunk;  /* largest chunk_size (a node's --max-file-size) */
  uint64_t now_us;     /* the checker's clock; 0 skips the age check */
  uint64_t grace_us;   /* the write must have begun within this */
};

/* How long a chunked write may take under a chunk grace period of
 * grace_us: nine tenths of it, the rest a margin for the clocks of the
 * nodes that collect chunks running ahead. */
uint64_t manifest_write_limit_us(uint64_t grace_us);
/* Chunks a file of size bytes has at chunk_size (0 for an empty file). */
uint64_t manifest_chunks_for(uint64_t size, uint64_t chunk_size);
/* Bytes in chunk i of m. */
uint64_t manifest_chunk_len(const Chord__V1__Manifest *m, uint64_t i);
/* Checks m: chunk_size 1 to max_chunk, size at most max_object, exactly
 * manifest_chunks_for(size, chunk_size) hashes of 32 bytes (at most
 * MANIFEST_MAX_CHUNKS), a 32-byte sha256, and a write begun no longer than
 * grace ago. 0, or CHORD_EINVAL (malformed), CHORD_ETOOBIG (over a limit)
 * or CHORD_ESTATE (too old), with *why a static reason. */
int manifest_check(const Chord__V1__Manifest *m,
                   const struct manifest_limits *lim, const char **why);

#endif
