/* SPDX-License-Identifier: MIT */
/* Structural checks of chord.v1.Manifest, shared by node and chordctl. */
#include "common/manifest.h"

#include "common/err.h"
#include "common/name.h"

uint64_t manifest_write_limit_us(uint64_t grace_us)
{
  return grace_us / 10 * 9;
}

uint64_t manifest_chunks_for(uint64_t size, uint64_t chunk_size)
{
  if (chunk_size == 0)
    return 0;
  return size / chunk_size + (size % chunk_size != 0);
}

uint64_t manifest_chunk_len(const Chord__V1__Manifest *m, uint64_t i)
{
  uint64_t start = i * m->chunk_size;
  if (start >= m->size)
    return 0;
  return m->size - start < m->chunk_size ? m->size - start : m->chunk_size;
}

int manifest_check(const Chord__V1__Manifest *m,
                   const struct manifest_limits *lim, const char **why)
{
  if (m->chunk_size == 0) {
    *why = "the manifest's chunk_size is 0";
    return CHORD_EINVAL;
  }
  if (m->chunk_size > lim->max_chunk) {
    *why = "the manifest's chunk_size is over this node's file size limit";
    return CHORD_ETOOBIG;
  }
  if (m->size > lim->max_object) {
    *why = "the file is over this node's object size limit";
    return CHORD_ETOOBIG;
  }
  if (manifest_chunks_for(m->size, m->chunk_size) > MANIFEST_MAX_CHUNKS) {
    *why = "the manifest lists more than 1048576 chunks: use larger chunks";
    return CHORD_ETOOBIG;
  }
  if (m->n_chunks != manifest_chunks_for(m->size, m->chunk_size)) {
    *why = "the manifest's chunk count does not match size / chunk_size";
    return CHORD_EINVAL;
  }
  for (size_t i = 0; i < m->n_chunks; i++)
    if (m->chunks[i].len != NAME_CHUNK_HASH_BYTES) {
      *why = "a chunk hash in the manifest is not 32 bytes";
      return CHORD_EINVAL;
    }
  if (m->sha256.len != NAME_CHUNK_HASH_BYTES) {
    *why = "the manifest's sha256 is not 32 bytes";
    return CHORD_EINVAL;
  }
  if (lim->now_us && lim->grace_us && m->started_us < lim->now_us &&
      lim->now_us - m->started_us > lim->grace_us) {
    *why = "the write took longer than the chunk grace period, so its first "
           "chunks may be gone: write the file again";
    return CHORD_ESTATE;
  }
  return 0;
}
