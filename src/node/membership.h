/* SPDX-License-Identifier: MIT */
/* The node's dealings with the supernode and the member list: the join
 * (Join, the key pull, PostJoin), heartbeats, and the graceful leave (the
 * key push, the successor told of its new predecessor, Leave). */
#ifndef CHORD_NODE_MEMBERSHIP_H
#define CHORD_NODE_MEMBERSHIP_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

struct node;

struct membership {
  uv_timer_t timer;        /* heartbeats, join retries */
  uint64_t hb_interval_ms; /* as the supernode asks */
  unsigned attempts;       /* join/PostJoin failures in a row */
  uint64_t started_ms;     /* when this join began */
  bool hb_failing;         /* the last heartbeat failed (logged once) */
  bool registered;         /* PostJoin done: a full member */
};

/* Sets up the timer on loop. */
void membership_init(struct membership *m, uv_loop_t *loop, struct node *n);
/* Starts joining the ring through the supernode. */
void membership_join_start(struct node *n);
/* Starts the graceful leave; the node stops when it is over. */
void membership_leave_start(struct node *n);

#endif
