/* SPDX-License-Identifier: MIT */
/* A node's view of the ring: predecessor, successor list and fingers, each
 * settable on its own, peers known dead, and the routing choice for a key.
 * Pure: no I/O, loop thread only. */
#ifndef CHORD_NODE_RING_H
#define CHORD_NODE_RING_H

#include <stdbool.h>
#include <stddef.h>

#include "common/finger.h"

#define RING_DEAD_MAX 64 /* peers remembered as dead; the oldest goes */

struct ring {
  struct finger_table ft;  /* self, fingers, predecessor, successors */
  size_t succ_len;         /* successor list length asked for (r) */
  struct chord_peer pred2; /* the predecessor's predecessor */
  bool has_pred2;
  struct chord_peer *members; /* the last full list installed, by id */
  size_t nmembers;
  struct chord_id dead[RING_DEAD_MAX]; /* peers found dead, oldest first */
  unsigned dead_age[RING_DEAD_MAX];    /* ring_age_dead calls since marked */
  size_t ndead;
};

enum ring_verdict {
  RING_LOCAL,   /* the key is ours: serve it */
  RING_FORWARD, /* send it to *next */
};

/* A ring of self alone, successor lists of succ_len (clamped). */
void ring_init(struct ring *r, const struct chord_peer *self, size_t succ_len);
/* Frees the member list. */
void ring_close(struct ring *r);

/* Sets the predecessor (NULL: none known). */
void ring_set_pred(struct ring *r, const struct chord_peer *p);
/* Sets the predecessor's predecessor (NULL: none known). */
void ring_set_pred2(struct ring *r, const struct chord_peer *p);
/* Sets the successor list (n >= 1, nearest first; cut to succ_len). */
void ring_set_successors(struct ring *r, const struct chord_peer *list,
                         size_t n);
/* Sets finger i (0 <= i < FINGER_COUNT). */
void ring_set_finger(struct ring *r, unsigned i, const struct chord_peer *p);
/* Marks a peer dead: routing skips it until it is marked alive. */
void ring_mark_dead(struct ring *r, const struct chord_id *id);
/* Marks a peer alive again (a no-op when it was not marked dead). */
void ring_mark_alive(struct ring *r, const struct chord_id *id);
/* Ages every dead mark by one and forgets those max_age old: a peer
 * wrongly suspected is tried again, a dead one is found dead again. */
void ring_age_dead(struct ring *r, unsigned max_age);
/* Whether a peer is marked dead. */
bool ring_is_dead(const struct ring *r, const struct chord_id *id);
/* The first successor not marked dead, or NULL when every one is. */
const struct chord_peer *ring_first_live_successor(const struct ring *r);

/* Installs a full member list through the setters (any order; self is
 * added when missing, and self's address always wins for self's id).
 * 0, or CHORD_ENOMEM with r unchanged. */
int ring_install(struct ring *r, const struct chord_peer *self,
                 const struct chord_peer *members, size_t n);
/* Adds one member to the installed list and installs it again. */
int ring_add_member(struct ring *r, const struct chord_peer *p);

/* Where a request for key goes: served here when key is in (pred, self];
 * to the predecessor when key is in (pred2, pred]; to the first live
 * successor when key is up to it; else to the closest preceding live
 * finger or successor. *next points into r. */
enum ring_verdict ring_route(const struct ring *r, const struct chord_id *key,
                             const struct chord_peer **next);
/* Whether key is in (pred, self]. */
bool ring_owns(const struct ring *r, const struct chord_id *key);
/* The member of the installed list that owns key (successor of key). */
const struct chord_peer *ring_owner(const struct ring *r,
                                    const struct chord_id *key);
/* The range this node serves as owner: (pred, self], or (pred2, self]
 * while the predecessor is marked dead (we are its first replica).
 * False when no predecessor is known. */
bool ring_served_range(const struct ring *r, struct chord_id *lo,
                       struct chord_id *hi);
/* Live peers this node knows (predecessors, successors, fingers) in
 * (key, self), counted up to limit: with R of them, this node is surely
 * not among key's R replicas. */
unsigned ring_known_before(const struct ring *r, const struct chord_id *key,
                           unsigned limit);
/* Whether key is in (pred2, pred]: the predecessor's own range. */
bool ring_pred_owns(const struct ring *r, const struct chord_id *key);

#endif
