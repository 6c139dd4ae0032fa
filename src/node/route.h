/* SPDX-License-Identifier: MIT */
/* The routing decision for one request: serve it here, forward it (and
 * where), park it while a hand-off settles, or refuse it. Pure: it reads
 * the node's state through a view and does no I/O. */
#ifndef CHORD_NODE_ROUTE_H
#define CHORD_NODE_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "node/handoff.h"
#include "node/ring.h"
#include "node/state.h"

/* What the decision reads. */
struct route_view {
  enum node_state state;
  const struct ring *ring;
  const struct handoff *give;         /* our range going elsewhere */
  const struct chord_peer *join_succ; /* joining: who serves us, or NULL */
  bool join_hold;                     /* joining: hold (pred, self] */
  unsigned hop_limit;
};

/* One request as routing sees it. */
struct route_req {
  struct chord_id key;
  bool mutating; /* a write or a delete */
  bool direct;   /* sent by a neighbour handing its range over */
  uint32_t hops; /* hops taken so far */
};

enum route_verdict {
  ROUTE_LOCAL,     /* serve it here */
  ROUTE_FORWARD,   /* send it to *next (direct: to be served there) */
  ROUTE_PARK,      /* hold it until the hand-off settles */
  ROUTE_HOP_LIMIT, /* too many hops: the ring is changing; refuse */
  ROUTE_NOT_READY, /* still joining with nowhere to send it; refuse */
  ROUTE_NO_ROUTE,  /* every way on is marked dead; refuse */
};

/* Decides where rq goes. For ROUTE_FORWARD sets *next (pointing into the
 * view's state) and *direct. */
enum route_verdict route_decide(const struct route_view *v,
                                const struct route_req *rq,
                                const struct chord_peer **next, bool *direct);
/* Whether a request flagged direct may be served here. */
bool route_direct_allowed(const struct route_view *v,
                          const struct chord_id *key);

#endif
