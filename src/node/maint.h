/* SPDX-License-Identifier: MIT */
/* Chord maintenance by Zave's rules as pure functions: each takes the
 * node's ring and an event (a tick, a reply, a failure, a notify) and
 * changes the ring and writes the messages to send. No I/O, no clock:
 * maintain.c sends the messages, and the simulator delivers them. */
#ifndef CHORD_NODE_MAINT_H
#define CHORD_NODE_MAINT_H

#include <stdbool.h>
#include <stddef.h>

#include "node/ring.h"

#define MAINT_OUT_MAX 8 /* messages one event can produce */

enum maint_what {
  MAINT_STAB_SUCC,  /* ask our first successor for its pred and list */
  MAINT_STAB_PRED,  /* ask that pred (between us) for its list */
  MAINT_NOTIFY,     /* tell our first successor we may be its pred */
  MAINT_RECTIFY,    /* ping our pred: a notifier replaces it if dead */
  MAINT_CHECK_PRED, /* query our pred (alive? its own pred?) */
  MAINT_FIX_FINGER, /* FindSuccessor(key) through `to`, for finger i */
};

struct maint_msg {
  enum maint_what what;
  struct chord_peer to;
  unsigned finger;     /* MAINT_FIX_FINGER: which */
  struct chord_id key; /* MAINT_FIX_FINGER: its start, self + 2^finger */
};

struct maint_out {
  struct maint_msg msg[MAINT_OUT_MAX];
  size_t n;
};

/* What maintenance keeps besides the ring. */
struct maint {
  struct chord_peer candidate; /* a notifier waiting on a rectify ping */
  bool has_candidate;
  unsigned next_finger; /* fix_fingers' round-robin cursor */
};

/* A fresh state (no candidate, fingers from 0). */
void maint_init(struct maint *m);

/* Stabilize, step 1: query the first live successor (or, alone, our
 * predecessor, which may be the ring's second member). */
void maint_stabilize(struct maint *m, struct ring *r, struct maint_out *out);
/* A peer answered a query (STAB_SUCC, STAB_PRED or CHECK_PRED) with its
 * predecessor (NULL: none) and its successor list: reconcile, adopt a
 * node between us, notify; or (CHECK_PRED) learn the predecessor's own
 * predecessor. */
void maint_on_list(struct maint *m, struct ring *r, enum maint_what what,
                   const struct chord_peer *from, const struct chord_peer *pred,
                   const struct chord_peer *list, size_t n,
                   struct maint_out *out);
/* A peer answered a ping (RECTIFY) or a notify. */
void maint_on_ok(struct maint *m, struct ring *r, const struct maint_msg *msg,
                 struct maint_out *out);
/* A message found its peer dead (no answer, or refused as not a member). */
void maint_on_fail(struct maint *m, struct ring *r, const struct maint_msg *msg,
                   struct maint_out *out);
/* from (alive: it called) believes it may be our predecessor; or, when it
 * lies between us and our successor, it has just joined there. */
void maint_on_notify(struct maint *m, struct ring *r,
                     const struct chord_peer *from, struct maint_out *out);
/* check_predecessor: ping the predecessor. */
void maint_check_pred(struct maint *m, struct ring *r, struct maint_out *out);
/* fix_fingers: sets the fingers that fall within our first successor and
 * asks for up to `count` others (round robin). */
void maint_fix_fingers(struct maint *m, struct ring *r, unsigned count,
                       struct maint_out *out);
/* A FindSuccessor for finger i answered succ. */
void maint_on_found(struct maint *m, struct ring *r, unsigned finger,
                    const struct chord_peer *succ);

#endif
