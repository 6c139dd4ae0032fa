/* SPDX-License-Identifier: MIT */
/* The routing decision, in order: parking for a held hand-off range,
 * direct requests, the hop limit, the node's state (joining, left), and
 * last the ring's own choice. */
#include "node/route.h"

#include <stddef.h>

/* A request flagged direct comes from a neighbour handing its range over:
 * it is honoured only for keys of ours or of our predecessor (the range a
 * leaving predecessor hands us), and only by a member; anything else is
 * routed as usual, so a client cannot plant a file on a node that does
 * not own it. */
bool route_direct_allowed(const struct route_view *v,
                          const struct chord_id *key)
{
  const struct ring *r = v->ring;
  if (v->state != NODE_JOINED && v->state != NODE_LEAVING)
    return false;
  if (ring_owns(r, key) || !r->has_pred2)
    return true;
  return ring_pred_owns(r, key);
}

static enum route_verdict decide(const struct route_view *v,
                                 const struct route_req *rq,
                                 const struct chord_peer **next, bool *direct)
{
  const struct ring *r = v->ring;
  *direct = false;
  *next = NULL;
  if (handoff_must_park(v->give, &rq->key, rq->mutating))
    return ROUTE_PARK;
  if (rq->direct && route_direct_allowed(v, &rq->key))
    return ROUTE_LOCAL;
  if (rq->hops >= v->hop_limit)
    return ROUTE_HOP_LIMIT;
  switch (v->state) {
  case NODE_JOINING:
    if (!v->join_succ)
      return ROUTE_NOT_READY;
    /* The range we are taking over: wait until its last changes are in. */
    if (v->join_hold &&
        chord_id_in_oc(&rq->key, &r->ft.pred.id, &r->ft.self.id))
      return ROUTE_PARK;
    *next = v->join_succ;
    return ROUTE_FORWARD;
  case NODE_LEFT:
    /* The range we gave away is the taker's, whatever our ring says. */
    if (handoff_covers(v->give, &rq->key)) {
      *next = &v->give->to;
      *direct = true;
      return ROUTE_FORWARD;
    }
    break;
  case NODE_JOINED:
  case NODE_LEAVING: break;
  }
  if (ring_route(r, &rq->key, next) == RING_LOCAL)
    return ROUTE_LOCAL;
  return ROUTE_FORWARD;
}

/* As decide, but a forward to a peer marked dead is no route: the ring
 * had nothing better, and the call would only fail again. */
enum route_verdict route_decide(const struct route_view *v,
                                const struct route_req *rq,
                                const struct chord_peer **next, bool *direct)
{
  enum route_verdict rv = decide(v, rq, next, direct);
  if (rv == ROUTE_FORWARD && ring_is_dead(v->ring, &(*next)->id))
    return ROUTE_NO_ROUTE;
  return rv;
}
