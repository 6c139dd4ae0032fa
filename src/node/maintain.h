/* SPDX-License-Identifier: MIT */
/* The maintenance loop of a member: on each tick stabilize, check the
 * predecessor and fix a few fingers, sending what maint.c's rules ask and
 * feeding the answers back to them. */
#ifndef CHORD_NODE_MAINTAIN_H
#define CHORD_NODE_MAINTAIN_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "node/maint.h"

#define MAINTAIN_FINGERS_PER_TICK 4 /* FindSuccessor calls per tick */
#define MAINTAIN_DEAD_TICKS 30      /* ticks a dead mark lasts */

struct node;

struct maintain {
  uv_timer_t timer; /* the tick */
  struct maint m;   /* the rules' own state */
  bool running;
  unsigned stab_inflight; /* stabilize/notify calls under way */
  unsigned fix_inflight;  /* FindSuccessor calls under way */
  uint64_t ticks;         /* ticks run */
  uint64_t sent;          /* maintenance calls sent */
};

/* Sets up the timer on loop. */
void maintain_init(struct maintain *mt, uv_loop_t *loop, struct node *n);
/* Starts the ticks (a member now). */
void maintain_start(struct node *n);
/* Stops the ticks (leaving); calls under way finish unheeded. */
void maintain_stop(struct node *n);
/* A joiner's hello to its predecessor, so that it stabilizes at once
 * rather than at its next tick. */
void maintain_hello(struct node *n);
/* Runs the rules for a Notify from `from` and sends what they ask. */
void maintain_notified(struct node *n, const struct chord_peer *from);

#endif
