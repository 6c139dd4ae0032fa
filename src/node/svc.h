/* SPDX-License-Identifier: MIT */
/* The node's gRPC handlers (svc_client.c, svc_ring.c, svc_transfer.c) and
 * what they share (svc.c): name checks and the routing step that serves,
 * forwards, parks or refuses. main.c registers the handlers. */
#ifndef CHORD_NODE_SVC_H
#define CHORD_NODE_SVC_H

#include <stdbool.h>

#include "common/rpc.h"
#include "node/forward.h"
#include "node/jobs.h"
#include "node/route.h"

struct node;

/* What the handlers keep between calls (svc_transfer.c writes it). */
struct svc_state {
  struct rpc_srv_call *release_call; /* a release waiting for store jobs */
  const ProtobufCMessage *release_req;
  struct jobs_waiter release_wait;
};

/* Answers INVALID_ARGUMENT for a bad name; true when the name is good. */
bool svc_check_name(struct rpc_srv_call *call, const char *name);
/* Routes a request: true when this node serves it; otherwise it has been
 * forwarded (hops advanced), parked (self_cb runs it again) or refused. */
bool svc_serve_here(struct node *n, struct rpc_srv_call *call,
                    const ProtobufCMessage *req, rpc_handler_cb self_cb,
                    const struct route_req *rq);
/* As svc_serve_here, but leaves a ROUTE_FORWARD to the caller (*next). */
enum route_verdict svc_route(struct node *n, struct rpc_srv_call *call,
                             const ProtobufCMessage *req,
                             rpc_handler_cb self_cb, const struct route_req *rq,
                             const struct chord_peer **next, bool *direct);

/* The node's forwarding options: deadlines, and rerouting around a hop
 * that failed (marked dead when it was). */
void svc_forward_opts(struct node *n, struct forward_opts *o);

/* svc_client.c: the client face. */
void svc_on_read(struct rpc_srv_call *c, const ProtobufCMessage *req, void *n);
void svc_on_write(struct rpc_srv_call *c, const ProtobufCMessage *req, void *n);
void svc_on_delete(struct rpc_srv_call *c, const ProtobufCMessage *req,
                   void *n);
void svc_on_lookup(struct rpc_srv_call *c, const ProtobufCMessage *req,
                   void *n);
/* svc_ring.c: the ring face and Status. */
void svc_on_update_dht(struct rpc_srv_call *c, const ProtobufCMessage *req,
                       void *n);
void svc_on_find_successor(struct rpc_srv_call *c, const ProtobufCMessage *req,
                           void *n);
void svc_on_get_predecessor(struct rpc_srv_call *c, const ProtobufCMessage *req,
                            void *n);
void svc_on_notify(struct rpc_srv_call *c, const ProtobufCMessage *req,
                   void *n);
void svc_on_get_successor_list(struct rpc_srv_call *c,
                               const ProtobufCMessage *req, void *n);
void svc_on_ping(struct rpc_srv_call *c, const ProtobufCMessage *req, void *n);
void svc_on_status(struct rpc_srv_call *c, const ProtobufCMessage *req,
                   void *n);
/* svc_transfer.c: ranges handed over (giving and taking side). */
void svc_on_transfer_keys(struct rpc_srv_call *c, const ProtobufCMessage *req,
                          void *n);
void svc_on_replicate(struct rpc_srv_call *c, const ProtobufCMessage *req,
                      void *n);
/* svc_repair.c: replication's reads (Fetch) and repair's digests. */
void svc_on_fetch(struct rpc_srv_call *c, const ProtobufCMessage *req, void *n);
void svc_on_sync_digest(struct rpc_srv_call *c, const ProtobufCMessage *req,
                        void *n);

#endif
