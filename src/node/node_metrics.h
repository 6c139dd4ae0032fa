/* SPDX-License-Identifier: MIT */
/* The node's figures for the metrics endpoint. Events are counted where
 * they happen (loop thread, relaxed atomic adds); the store and repair
 * figures are copied in by a timer while metrics are served, so that a
 * scrape reads atomics only and never waits on the loop. */
#ifndef CHORD_NODE_METRICS_H
#define CHORD_NODE_METRICS_H

#include <stdbool.h>

#include <uv.h>

#include "common/metrics.h"

#define NODE_METRICS_MS 1000 /* how often the copied figures refresh */
/* The store's keys are counted every this many refreshes: a count lists
 * the node's whole range, too much to do every second on a big store. */
#define NODE_METRICS_COUNT_EVERY 5

struct node_metrics {
  /* Counted as they happen. */
  atomic_uint_fast64_t forwards;         /* requests sent on to a next hop */
  atomic_uint_fast64_t ring_changes;     /* predecessor or successor moved */
  atomic_uint_fast64_t peers_dead;       /* peers marked unreachable */
  atomic_uint_fast64_t stabilize_rounds; /* maintenance ticks */
  struct metrics_hist hops;              /* hops of requests served here */
  /* Copied every NODE_METRICS_MS. */
  atomic_uint_fast64_t keys, primary, bytes, tombstones, chunks;
  atomic_uint_fast64_t under_replicated, repair_running, repair_rounds;
  atomic_uint_fast64_t repair_pushed, repair_pulled, repair_bytes;
  atomic_uint_fast64_t chunks_collected, successors, marked_dead, joined;
  uv_timer_t timer; /* data = the node */
  bool timer_on;
  bool job_busy;  /* a store count is under way */
  unsigned ticks; /* refreshes so far */
};

struct node;

/* Readies the counters (always: counting costs an add). */
void node_metrics_init(struct node *n);
/* Adds the node's collector to the daemon's metrics and starts copying the
 * store and repair figures. 0 or CHORD_ENOMEM. */
int node_metrics_start(struct node *n);
/* Stops the copying timer (idempotent). Loop thread. */
void node_metrics_stop(struct node *n);

#endif
