/* SPDX-License-Identifier: MIT */
/* The end of a repair round: keys this node holds outside its own range
 * that it no longer replicates. For the range such a key lies in, the
 * owner is looked up and asked for its successor list; when this node is
 * not among the owner's R - 1 replicas, the keys go to the owner and its
 * replicas, and our copies are dropped once every one of them took them.
 * A few ranges per round; the rest wait for the next. */
#ifndef CHORD_NODE_REPAIR_GC_H
#define CHORD_NODE_REPAIR_GC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/finger.h"
#include "node/store.h"

struct node;

typedef void (*repair_gc_done_cb)(struct node *n);

struct repair_gc {
  repair_gc_done_cb done;
  struct store_kv *kv; /* held outside our range, clockwise from us */
  size_t nkv;
  unsigned groups;          /* ranges looked at this round */
  struct chord_peer owner;  /* of the range at work */
  struct chord_id range_lo; /* the owner's predecessor */
  struct chord_peer to[FINGER_SUCC_MAX];
  size_t nto, ti;        /* the owner's replica set, the one at work */
  struct chord_id *keys; /* ours in the owner's range */
  uint64_t *versions;    /* of each, as listed: dropped only if unchanged */
  size_t nkeys;
  uint64_t handed; /* total keys handed on and dropped */
};

/* Runs the hand-off step, then done(n). */
void repair_gc_start(struct node *n, repair_gc_done_cb done);
/* Frees what it holds (at exit). */
void repair_gc_close(struct repair_gc *g);

#endif
