/* SPDX-License-Identifier: MIT */
/* Forwarding a request to the next hop and relaying its answer, with the
 * caller's deadline inherited (shortened at each hop, capped at a per-hop
 * timeout) and the hop count advanced; a hop that fails is routed around
 * within the caller's deadline. */
#ifndef CHORD_NODE_FORWARD_H
#define CHORD_NODE_FORWARD_H

#include <uv.h>

#include <stdbool.h>
#include <stdint.h>

#include "common/finger.h"
#include "common/rpc.h"
#include "node/route.h"

#define FORWARD_RETRIES 3      /* other ways tried after a hop fails */
#define FORWARD_PATH_RETRIES 5 /* tries after a failure further on */
#define FORWARD_MARGIN_MS 100  /* a hop gives up this much before its caller */

/* Finds another next hop for rq after `failed` did not answer (dead: it
 * is unreachable or silent; else a node behind it was). true with *next
 * (copied at once) and *direct, or false when there is no other way. */
typedef bool (*forward_reroute_cb)(void *ud, const struct route_req *rq,
                                   const struct chord_peer *failed, bool dead,
                                   const struct chord_peer **next,
                                   bool *direct);

struct forward_opts {
  uint64_t cap_ms;            /* the deadline when the caller set none */
  uint64_t hop_ms;            /* the longest wait for one hop */
  forward_reroute_cb reroute; /* NULL: a failed hop is reported */
  void *ud;
  uv_loop_t *loop;      /* for the pause before a retry */
  rpc_handler_cb rerun; /* after the pause: the request's handler, run
                         * again on it (routing afresh: it may be ours
                         * now); NULL: reroute only */
  uint64_t pause_ms;    /* first pause after a failure further on */
};

/* Sends msg to peer and answers call with whatever comes back (no retry:
 * msg is only borrowed). */
void forward_send(struct rpc_client *c, struct rpc_srv_call *call,
                  const struct chord_peer *peer, const ProtobufCMessage *msg,
                  const struct forward_opts *o);
/* The node a client called finds every way towards the key marked dead
 * (hops 0): instead of failing at once, waits one maintenance round
 * (o->pause_ms, at most half the caller's time left) and runs o->rerun on
 * the request again, as after a failure further on. False when there is
 * no deadline, too little time or no rerun: the caller answers. */
bool forward_wait(struct rpc_client *c, struct rpc_srv_call *call,
                  const ProtobufCMessage *req, const struct route_req *rq,
                  const struct forward_opts *o);
/* Sends a copy of req with its hops field advanced and its direct field
 * set (fields found by name, so any routed message works); when the hop
 * fails and o->reroute finds another, sends it there instead. */
void forward_next(struct rpc_client *c, struct rpc_srv_call *call,
                  const struct chord_peer *peer, const ProtobufCMessage *req,
                  bool direct, const struct route_req *rq,
                  const struct forward_opts *o);

/* How long one outbound call may take on behalf of a call whose deadline
 * is in_deadline: half its time left less FORWARD_MARGIN_MS, at most
 * hop_ms; cap_ms when it has none. At least 1. */
int64_t forward_budget_ms(gpr_timespec in_deadline, uint64_t hop_ms,
                          uint64_t cap_ms);
/* What a message of len bytes adds to a hop's wait: a second per MiB, so
 * that a big write on a loaded machine is slow, not dead. */
uint64_t forward_size_ms(uint64_t len);

#endif
