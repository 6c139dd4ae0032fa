/* SPDX-License-Identifier: MIT */
/* Anti-entropy: the owner of a range keeps its replica set in step. A
 * round compares the range's digest with each other replica (one bucket
 * first, then finer buckets where they differ), pulls what is newer
 * there, pushes what is newer here, a page at a time and one replica
 * after another, so that repair never crowds out client requests. Then
 * the keys this node holds but no longer replicates go to the nodes that
 * should hold them (repair_gc.c). Rounds run on a slow timer and as soon
 * as the range or the replica set changes. */
#ifndef CHORD_NODE_REPAIR_H
#define CHORD_NODE_REPAIR_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "common/finger.h"
#include "node/store.h"

struct node;

struct repair {
  uv_timer_t timer; /* the slow timer */
  bool running;     /* a round is under way */
  bool again;       /* something changed during it: another one after */
  /* The round: our range (lo, hi], the replicas, and the one at work. */
  struct chord_id lo, hi;
  struct chord_peer targets[FINGER_SUCC_MAX];
  size_t ntargets, ti;
  struct store_kv *kv; /* what we hold in the range, clockwise */
  size_t nkv;
  struct chord_id *push, *pull; /* keys the replica at work lacks / has newer */
  size_t npush, npull, pulled_i;
  unsigned bits;          /* of the digest in flight */
  bool digests_only;      /* the digest in flight asks no keys */
  uint64_t round_missing; /* keys some replica lacked, this round */
  /* What the last round started from, to notice a change. */
  struct chord_id last_lo;
  struct chord_peer last_targets[FINGER_SUCC_MAX];
  size_t last_ntargets;
  bool have_last;
  /* Whether our range is known in step with the replicas: false from
   * the start, after a change of range or replica set, and after a
   * pause (the process stopped, the machine slept) until a round ends
   * with every replica answered. Reads ask the replicas meanwhile. */
  bool synced;
  bool round_ok;         /* every replica of this round answered */
  uint64_t epoch;        /* bumped on each loss of sync */
  uint64_t round_epoch;  /* the epoch the round started in */
  uint64_t last_tick_ms; /* the last maintenance tick */
  /* Totals, for Status. */
  uint64_t rounds, pushed, pulled;
  uint64_t bytes;            /* of the requests sent */
  uint64_t under_replicated; /* keys some replica lacked, last round */
};

/* Sets up the timer on loop. */
void repair_init(struct repair *rp, uv_loop_t *loop, struct node *n);
/* Starts the slow timer (a member now). */
void repair_start(struct node *n);
/* Stops it (leaving); a round under way ends at its next step. */
void repair_stop(struct node *n);
/* Starts a round when our range or replica set changed since the last
 * one (cheap; called on every maintenance tick). */
void repair_check(struct node *n);
/* Called on every maintenance tick: notices a pause, then as
 * repair_check. */
void repair_tick(struct node *n);
/* Whether reads may trust our copies alone (see synced); notices a pause
 * that the tick has not seen yet. */
bool repair_synced(struct node *n);
/* Frees what a round holds (at exit). */
void repair_close(struct repair *rp);

#endif
