/* SPDX-License-Identifier: MIT */
/* The ring face: UpdateDHT, FindSuccessor, GetPredecessor, Notify,
 * GetSuccessorList, Ping, and Status (its store figures read on a job). */
#include <stdlib.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "common/err.h"
#include "common/nodeinfo.h"
#include "node/node.h"
#include "node/svc.h"

/* Decodes a repeated NodeInfo into a malloc'd peer array. */
static int peers_from(Chord__V1__NodeInfo **in, size_t n,
                      struct chord_peer **out, const char **why)
{
  *out = calloc(n ? n : 1, sizeof(**out));
  if (!*out) {
    *why = "out of memory";
    return CHORD_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    if (nodeinfo_to_peer(in[i], &(*out)[i], why)) {
      free(*out);
      *out = NULL;
      return CHORD_EINVAL;
    }
  }
  return 0;
}

void svc_on_update_dht(struct rpc_srv_call *call, const ProtobufCMessage *req,
                       void *ud)
{
  struct node *n = ud;
  const Chord__V1__UpdateDHTRequest *r =
      (const Chord__V1__UpdateDHTRequest *)req;
  struct chord_peer *list;
  const char *why;
  if (peers_from(r->members, r->n_members, &list, &why)) {
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT, "bad member: %s",
                        why);
    return;
  }
  int rc = 0;
  if (n->state == NODE_JOINED)
    rc = node_install(n, list, r->n_members);
  free(list);
  if (rc) {
    rpc_srv_reply_error(call, rpc_err_to_status(rc), "cannot install: %s",
                        chord_strerror(rc));
    return;
  }
  Chord__V1__UpdateDHTResponse resp = CHORD__V1__UPDATE_DHTRESPONSE__INIT;
  rpc_srv_reply(call, &resp.base);
}

void svc_on_find_successor(struct rpc_srv_call *call,
                           const ProtobufCMessage *req, void *ud)
{
  struct node *n = ud;
  const Chord__V1__FindSuccessorRequest *r =
      (const Chord__V1__FindSuccessorRequest *)req;
  struct chord_id key;
  if (chord_id_from_bytes(&key, r->id.data, r->id.len)) {
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT,
                        "the id is not 20 bytes");
    return;
  }
  struct route_req rq = {key, false, false, r->hops};
  if (!svc_serve_here(n, call, req, svc_on_find_successor, &rq))
    return;
  Chord__V1__FindSuccessorResponse resp =
      CHORD__V1__FIND_SUCCESSOR_RESPONSE__INIT;
  Chord__V1__NodeInfo me;
  nodeinfo_from_peer(&me, &n->self);
  resp.successor = &me;
  resp.hops = r->hops;
  rpc_srv_reply(call, &resp.base);
}

void svc_on_get_predecessor(struct rpc_srv_call *call,
                            const ProtobufCMessage *req, void *ud)
{
  struct node *n = ud;
  Chord__V1__GetPredecessorResponse resp =
      CHORD__V1__GET_PREDECESSOR_RESPONSE__INIT;
  Chord__V1__NodeInfo p;
  (void)req;
  if (n->state != NODE_JOINING && n->ring.ft.has_pred) {
    nodeinfo_from_peer(&p, &n->ring.ft.pred);
    resp.predecessor = &p;
  }
  rpc_srv_reply(call, &resp.base);
}

void svc_on_notify(struct rpc_srv_call *call, const ProtobufCMessage *req,
                   void *ud)
{
  struct node *n = ud;
  const Chord__V1__NotifyRequest *r = (const Chord__V1__NotifyRequest *)req;
  struct chord_peer p;
  const char *why;
  if (nodeinfo_to_peer(r->node, &p, &why)) {
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT, "%s", why);
    return;
  }
  /* Chord's rule: a node between our predecessor and us is our new
   * predecessor. Adding it to the member list makes it so. */
  if (n->state == NODE_JOINED &&
      chord_id_in_oo(&p.id, &n->ring.ft.pred.id, &n->self.id))
    node_add_member(n, &p);
  Chord__V1__NotifyResponse resp = CHORD__V1__NOTIFY_RESPONSE__INIT;
  rpc_srv_reply(call, &resp.base);
}

void svc_on_get_successor_list(struct rpc_srv_call *call,
                               const ProtobufCMessage *req, void *ud)
{
  struct node *n = ud;
  Chord__V1__NodeInfo infos[FINGER_SUCC_MAX], *ptrs[FINGER_SUCC_MAX];
  (void)req;
  size_t k = n->ring.ft.nsucc;
  for (size_t i = 0; i < k; i++) {
    nodeinfo_from_peer(&infos[i], &n->ring.ft.succ[i]);
    ptrs[i] = &infos[i];
  }
  Chord__V1__GetSuccessorListResponse resp =
      CHORD__V1__GET_SUCCESSOR_LIST_RESPONSE__INIT;
  resp.n_successors = k;
  resp.successors = ptrs;
  rpc_srv_reply(call, &resp.base);
}

void svc_on_ping(struct rpc_srv_call *call, const ProtobufCMessage *req,
                 void *ud)
{
  struct node *n = ud;
  const Chord__V1__PingRequest *r = (const Chord__V1__PingRequest *)req;
  Chord__V1__PingResponse resp = CHORD__V1__PING_RESPONSE__INIT;
  Chord__V1__NodeInfo me;
  nodeinfo_from_peer(&me, &n->self);
  resp.node = &me;
  resp.payload = r->payload;
  rpc_srv_reply(call, &resp.base);
}

/* Answers Status with the store's figures (read off the loop). */
static void status_answer(struct node *n, struct rpc_srv_call *call,
                          bool all_fingers, uint64_t keys, uint64_t bytes)
{
  const struct finger_table *ft = &n->ring.ft;
  Chord__V1__StatusResponse resp = CHORD__V1__STATUS_RESPONSE__INIT;
  Chord__V1__NodeInfo me, pred, succ[FINGER_SUCC_MAX], *succp[FINGER_SUCC_MAX];
  Chord__V1__NodeInfo fnode[FINGER_COUNT];
  Chord__V1__Finger fing[FINGER_COUNT], *fingp[FINGER_COUNT];
  struct chord_peer distinct[FINGER_COUNT];
  unsigned idx[FINGER_COUNT];
  size_t nf;

  nodeinfo_from_peer(&me, &n->self);
  resp.self = &me;
  bool member = n->state == NODE_JOINED || n->state == NODE_LEAVING;
  if (member && ft->has_pred) {
    nodeinfo_from_peer(&pred, &ft->pred);
    resp.predecessor = &pred;
  }
  size_t ns = member ? ft->nsucc : 0;
  for (size_t i = 0; i < ns; i++) {
    nodeinfo_from_peer(&succ[i], &ft->succ[i]);
    succp[i] = &succ[i];
  }
  resp.n_successors = ns;
  resp.successors = succp;
  if (!member) {
    nf = 0;
  } else if (all_fingers) {
    for (size_t i = 0; i < FINGER_COUNT; i++) {
      distinct[i] = ft->finger[i];
      idx[i] = (unsigned)i;
    }
    nf = FINGER_COUNT;
  } else {
    nf = finger_distinct(ft, distinct, idx, FINGER_COUNT);
  }
  for (size_t i = 0; i < nf; i++) {
    chord__v1__finger__init(&fing[i]);
    nodeinfo_from_peer(&fnode[i], &distinct[i]);
    fing[i].index = idx[i];
    fing[i].node = &fnode[i];
    fingp[i] = &fing[i];
  }
  resp.n_fingers = nf;
  resp.fingers = fingp;
  resp.keys = keys;
  resp.bytes = bytes;
  resp.version = CHORD_VERSION;
  resp.uptime_ms = node_now_ms() - n->started_ms;
  resp.joined = member && n->mem.registered;
  rpc_srv_reply(call, &resp.base);
}

struct stat_job {
  struct job j;
  struct rpc_srv_call *call; /* NULL once the server answered it itself */
  bool all_fingers;
  uint64_t keys, bytes;
};

static void stat_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct stat_job *sj = ud;
  (void)call;
  sj->call = NULL;
}

/* The dir store's lock may be held across an fsync: not on the loop. */
static void stat_work(struct job *j)
{
  struct stat_job *sj = (struct stat_job *)j;
  store_stats(j->n->store, &sj->keys, &sj->bytes);
}

static void stat_done(struct job *j)
{
  struct stat_job *sj = (struct stat_job *)j;
  if (sj->call) {
    rpc_srv_on_cancel(sj->call, NULL, NULL);
    status_answer(j->n, sj->call, sj->all_fingers, sj->keys, sj->bytes);
  }
  free(sj);
}

void svc_on_status(struct rpc_srv_call *call, const ProtobufCMessage *req,
                   void *ud)
{
  struct node *n = ud;
  const Chord__V1__StatusRequest *r = (const Chord__V1__StatusRequest *)req;
  struct stat_job *sj = calloc(1, sizeof(*sj));
  if (!sj) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  sj->j.n = n;
  sj->j.work = stat_work;
  sj->j.done = stat_done;
  sj->call = call;
  sj->all_fingers = r->all_fingers;
  rpc_srv_on_cancel(call, stat_on_cancel, sj);
  jobs_submit(&n->jobs, &sj->j);
}
