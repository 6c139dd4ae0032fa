/* SPDX-License-Identifier: MIT */
/* Keys a new predecessor owns now, sent to it: when a node takes as its
 * predecessor a node between its old predecessor and itself (one that
 * came back after it was thought dead, or that joined through another
 * node), it sends it (old, new] with Replicate, then drops its copies. */
#ifndef CHORD_NODE_HANDBACK_H
#define CHORD_NODE_HANDBACK_H

#include <stdbool.h>
#include <stddef.h>

#include "common/finger.h"
#include "node/jobs.h"

struct node;

struct handback {
  bool active;
  struct chord_peer to;
  struct chord_id from, after; /* the range (from, to.id], pages after */
  bool has_after;
  size_t sent; /* entries sent */
  struct jobs_waiter wait;
};

/* Sends (from, to] to `to` unless a hand-back is under way (then the
 * next stabilize round finds the range again). */
void handback_start(struct node *n, const struct chord_id *from,
                    const struct chord_peer *to);

#endif
