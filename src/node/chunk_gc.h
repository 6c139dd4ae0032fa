/* SPDX-License-Identifier: MIT */
/* Collection of unreferenced chunks. Every chunk's name carries its file's
 * name (see Manifest in common.proto), so the one manifest that may list
 * it is known. A periodic sweep takes the chunks this node owns that are
 * older than the chunk grace period, reads each file's current entry
 * through the ring (its manifest, a plain file or a tombstone) and deletes
 * the chunks it does not list, once that entry is itself older than the
 * grace period: a chunk goes only after being unreferenced that long, so
 * a reader of the previous version has the grace period to finish. The
 * delete is exact (DeleteRequest.version), so a write of the same chunk
 * racing it survives. A read that fails keeps every chunk it concerns. */
#ifndef CHORD_NODE_CHUNK_GC_H
#define CHORD_NODE_CHUNK_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct node;
struct gc_item;

struct chunk_gc {
  uv_timer_t timer;
  bool running;          /* a sweep is under way */
  struct gc_item *items; /* this sweep's candidates, by file name */
  size_t n, group, next; /* candidates; the file at work: [group, next) */
  unsigned pending;      /* deletes in flight for the file at work */
  uint64_t collected;    /* chunks deleted since start */
  uint64_t sweeps;       /* sweeps finished */
};

void chunk_gc_init(struct chunk_gc *g, uv_loop_t *loop, struct node *n);
/* Starts the periodic sweep (once joined). */
void chunk_gc_start(struct node *n);
/* Frees what a sweep cut short holds (at exit). */
void chunk_gc_close(struct chunk_gc *g);

#endif
