/* SPDX-License-Identifier: MIT */
/* The steps every routed handler shares: the name check, and acting on the
 * routing decision (serve, forward, park or refuse). */
#include "node/svc.h"

#include <string.h>

#include "common/err.h"
#include "common/name.h"
#include "node/forward.h"
#include "node/node.h"

bool svc_check_name(struct rpc_srv_call *call, const char *name)
{
  const char *why;
  if (name_check(name, strlen(name), &why) == 0)
    return true;
  rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT, "bad name: %s", why);
  return false;
}

static void view_of(const struct node *n, struct route_view *v)
{
  v->state = n->state;
  v->ring = &n->ring;
  v->give = &n->give;
  v->join_succ = n->pull.succ.addr[0] ? &n->pull.succ : NULL;
  v->join_hold = n->pull.hold;
  v->hop_limit = n->o.hop_limit;
}

/* Decides, and carries out the verdicts that need no next hop: parks the
 * request (self_cb replays it), or refuses it with its reason. Loop
 * thread. */
enum route_verdict svc_route(struct node *n, struct rpc_srv_call *call,
                             const ProtobufCMessage *req,
                             rpc_handler_cb self_cb, const struct route_req *rq,
                             const struct chord_peer **next, bool *direct)
{
  struct route_view v;
  view_of(n, &v);
  enum route_verdict rv = route_decide(&v, rq, next, direct);
  switch (rv) {
  case ROUTE_LOCAL:
    metrics_hist_observe(&n->met.hops, (uint64_t)rq->hops * 1000000u);
    break;
  case ROUTE_FORWARD: metrics_inc(&n->met.forwards, 1); break;
  case ROUTE_PARK:
    if (handoff_park(&n->give, call, req, self_cb, n))
      rpc_srv_reply_error(call, GRPC_STATUS_UNAVAILABLE,
                          "node busy with a hand-off; retry");
    break;
  case ROUTE_HOP_LIMIT:
    rpc_srv_reply_error_detail(call, GRPC_STATUS_ABORTED, RPC_DETAIL_HOP_LIMIT,
                               "hop limit (%u) reached: the ring is changing "
                               "or inconsistent; retry",
                               n->o.hop_limit);
    break;
  case ROUTE_NO_ROUTE: {
    /* Every way on was just marked dead: the ring closes over it within
     * a round or two, so the node the client called waits for that. */
    struct forward_opts o;
    svc_forward_opts(n, &o);
    o.rerun = self_cb;
    if (forward_wait(n->d.client, call, req, rq, &o))
      break;
    rpc_srv_reply_error_detail(call, GRPC_STATUS_UNAVAILABLE,
                               RPC_DETAIL_UNREACHABLE,
                               "no live route towards the key: every way on "
                               "is down; retry");
    break;
  }
  case ROUTE_NOT_READY:
    rpc_srv_reply_error_detail(call, GRPC_STATUS_UNAVAILABLE,
                               RPC_DETAIL_JOINING,
                               "this node is still joining the ring; retry");
    break;
  }
  return rv;
}

/* A forward's next hop failed: mark it dead when it was (routing skips it
 * from now on) and route the request again. */
static bool reroute(void *ud, const struct route_req *rq,
                    const struct chord_peer *failed, bool dead,
                    const struct chord_peer **next, bool *direct)
{
  struct node *n = ud;
  struct route_view v;
  if (dead)
    node_peer_failed(n, failed);
  view_of(n, &v);
  return route_decide(&v, rq, next, direct) == ROUTE_FORWARD;
}

void svc_forward_opts(struct node *n, struct forward_opts *o)
{
  o->cap_ms = n->o.forward_timeout_ms;
  o->hop_ms = n->o.hop_timeout_ms;
  o->reroute = reroute;
  o->ud = n;
  o->loop = &n->d.loop;
  o->pause_ms = n->o.stabilize_ms;
  o->rerun = NULL;
}

bool svc_serve_here(struct node *n, struct rpc_srv_call *call,
                    const ProtobufCMessage *req, rpc_handler_cb self_cb,
                    const struct route_req *rq)
{
  const struct chord_peer *next;
  bool direct;
  switch (svc_route(n, call, req, self_cb, rq, &next, &direct)) {
  case ROUTE_LOCAL: return true;
  case ROUTE_FORWARD: {
    struct forward_opts o;
    svc_forward_opts(n, &o);
    o.rerun = self_cb;
    forward_next(n->d.client, call, next, req, direct, rq, &o);
    return false;
  }
  default: return false;
  }
}
