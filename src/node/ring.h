/* SPDX-License-Identifier: MIT */
/* A node's view of the ring: the member list it was given, its finger
 * table, and the routing decision for a key. Pure: no I/O. */
#ifndef CHORD_NODE_RING_H
#define CHORD_NODE_RING_H

#include <stdbool.h>
#include <stddef.h>

#include "common/finger.h"

struct ring {
  struct finger_table ft;     /* fingers, predecessor, successor list */
  struct chord_peer pred2;    /* the predecessor's predecessor */
  bool has_pred2;
  struct chord_peer *members; /* sorted by id, self included */
  size_t nmembers;
};

enum ring_verdict {
  RING_LOCAL,   /* the key is ours: serve it */
  RING_FORWARD, /* send it to *next */
};

/* A ring of self alone. */
void ring_init(struct ring *r, const struct chord_peer *self);
/* Frees the member list. */
void ring_close(struct ring *r);
/* Installs members (any order; self is added when missing, and self's
 * address always wins for self's id) with a successor list of length
 * succ_len, clamped to 1..FINGER_SUCC_MAX. 0, or CHORD_ENOMEM with r
 * unchanged. */
int ring_install(struct ring *r, const struct chord_peer *self,
                 const struct chord_peer *members, size_t n, size_t succ_len);
/* Where a request for key goes: served here when key is in (pred, self];
 * to the predecessor when key is in (pred2, pred]; to the successor when
 * key is in (self, succ]; else to the closest preceding finger. *next is
 * set for RING_FORWARD and points into r. */
enum ring_verdict ring_route(const struct ring *r, const struct chord_id *key,
                             const struct chord_peer **next);
/* Whether key is in (pred, self]. */
bool ring_owns(const struct ring *r, const struct chord_id *key);
/* The member that owns key (successor of key). r has >= 1 member. */
const struct chord_peer *ring_owner(const struct ring *r,
                                    const struct chord_id *key);

#endif
