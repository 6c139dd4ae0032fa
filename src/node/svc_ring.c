/* SPDX-License-Identifier: MIT */
/* The ring face: UpdateDHT, FindSuccessor, GetPredecessor, Notify,
 * GetSuccessorList and Ping. */
#include <stdlib.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "common/err.h"
#include "common/nodeinfo.h"
#include "node/node.h"
#include "node/svc.h"
#include "node/vouch.h"

/* Largest member list UpdateDHT takes: every member is pinged first. */
#define UPDATE_DHT_MAX VOUCH_MAX

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

/* Every member of an UpdateDHT list answered as itself: installs it. */
static void update_dht_vouched(struct node *n, struct rpc_srv_call *call,
                               const ProtobufCMessage *req, bool ok,
                               const struct chord_peer *bad)
{
  const Chord__V1__UpdateDHTRequest *r =
      (const Chord__V1__UpdateDHTRequest *)req;
  struct chord_peer *list;
  const char *why;
  if (!ok) {
    rpc_srv_reply_error(call, GRPC_STATUS_FAILED_PRECONDITION,
                        "member %s does not answer as itself: nothing "
                        "installed",
                        bad->addr);
    return;
  }
  if (peers_from(r->members, r->n_members, &list, &why)) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "%s", why);
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

/* A full member list to install. It must name this node, hold no id
 * twice, and every other member must answer a Ping as itself before the
 * list replaces the ring (maintenance finds the same by itself; this is
 * the seed's broadcast, kept for clients that send it). */
void svc_on_update_dht(struct rpc_srv_call *call, const ProtobufCMessage *req,
                       void *ud)
{
  struct node *n = ud;
  const Chord__V1__UpdateDHTRequest *r =
      (const Chord__V1__UpdateDHTRequest *)req;
  struct chord_peer *list = NULL, *others = NULL;
  const char *why;
  size_t k = 0;
  bool self = false;
  if (r->n_members == 0 || r->n_members > UPDATE_DHT_MAX) {
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT,
                        "%zu members: a list has 1 to %d", r->n_members,
                        UPDATE_DHT_MAX);
    return;
  }
  if (peers_from(r->members, r->n_members, &list, &why)) {
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT, "bad member: %s",
                        why);
    return;
  }
  others = calloc(r->n_members, sizeof(*others));
  if (!others) {
    free(list);
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  for (size_t i = 0; i < r->n_members; i++) {
    bool is_me = chord_id_cmp(&list[i].id, &n->self.id) == 0;
    if (is_me && strcmp(list[i].addr, n->self.addr) != 0)
      why = "a member has this node's id at another address";
    for (size_t j = 0; j < i && !why; j++)
      if (chord_id_cmp(&list[i].id, &list[j].id) == 0)
        why = "an id is listed twice";
    if (why)
      break;
    self |= is_me;
    if (!is_me)
      others[k++] = list[i];
  }
  if (!why && !self)
    why = "the list does not name this node";
  free(list);
  if (why) {
    free(others);
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT, "%s", why);
    return;
  }
  vouch_peers(n, call, req, others, k, n->o.rpc_timeout_ms, update_dht_vouched);
  free(others);
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

/* Acts on a Notify whose node has answered as itself. */
static void notify_vouched(struct node *n, struct rpc_srv_call *call,
                           const ProtobufCMessage *req, bool ok,
                           const struct chord_peer *bad)
{
  const Chord__V1__NotifyRequest *r = (const Chord__V1__NotifyRequest *)req;
  struct chord_peer p;
  const char *why;
  if (!ok) {
    rpc_srv_reply_error(call, GRPC_STATUS_FAILED_PRECONDITION,
                        "%s does not answer as itself: not adopted", bad->addr);
    return;
  }
  if (nodeinfo_to_peer(r->node, &p, &why) || n->state != NODE_JOINED) {
    rpc_srv_reply_error_detail(call, GRPC_STATUS_UNAVAILABLE,
                               RPC_DETAIL_NOT_MEMBER,
                               "this node is not a settled member; retry");
    return;
  }
  if (r->leaving) {
    /* Our predecessor has handed us its keys and is leaving: its own
     * predecessor is ours now. */
    struct chord_peer old_pred = n->ring.ft.pred;
    struct chord_peer old_succ = n->ring.ft.succ[0];
    ring_mark_dead(&n->ring, &old_pred.id);
    ring_set_pred(&n->ring, &p);
    ring_set_pred2(&n->ring, NULL);
    node_ring_changed(n, &old_pred, &old_succ);
  } else {
    maintain_notified(n, &p);
  }
  Chord__V1__NotifyResponse resp = CHORD__V1__NOTIFY_RESPONSE__INIT;
  rpc_srv_reply(call, &resp.base);
}

/* A node that may be our predecessor, or (leaving) our predecessor's own
 * predecessor, ours once it leaves. Adopted only once it answers a Ping
 * as itself; a notifier that already is our live predecessor is not asked
 * again. A leaving predecessor's successor must come before it. */
void svc_on_notify(struct rpc_srv_call *call, const ProtobufCMessage *req,
                   void *ud)
{
  struct node *n = ud;
  const Chord__V1__NotifyRequest *r = (const Chord__V1__NotifyRequest *)req;
  const struct finger_table *ft = &n->ring.ft;
  struct chord_peer p;
  const char *why;
  if (nodeinfo_to_peer(r->node, &p, &why)) {
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT, "%s", why);
    return;
  }
  if (n->state != NODE_JOINED) {
    rpc_srv_reply_error_detail(call, GRPC_STATUS_UNAVAILABLE,
                               RPC_DETAIL_NOT_MEMBER,
                               "this node is not a settled member; retry");
    return;
  }
  bool is_me = chord_id_cmp(&p.id, &n->self.id) == 0;
  if (is_me && strcmp(p.addr, n->self.addr) != 0) {
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT,
                        "the node has this node's id at another address");
    return;
  }
  if (r->leaving && ft->has_pred && !is_me &&
      chord_id_in_oo(&p.id, &ft->pred.id, &n->self.id)) {
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT,
                        "a leaving predecessor's predecessor comes before "
                        "it, not between it and this node");
    return;
  }
  bool known = ft->has_pred && chord_id_cmp(&p.id, &ft->pred.id) == 0 &&
               strcmp(p.addr, ft->pred.addr) == 0 &&
               !ring_is_dead(&n->ring, &p.id);
  if (is_me || (known && !r->leaving)) {
    notify_vouched(n, call, req, true, NULL);
    return;
  }
  if (ring_is_dead(&n->ring, &p.id)) /* back: dial it afresh */
    rpc_client_forget(n->d.client, p.addr);
  vouch_peers(n, call, req, &p, 1, n->o.rpc_timeout_ms, notify_vouched);
}

void svc_on_get_successor_list(struct rpc_srv_call *call,
                               const ProtobufCMessage *req, void *ud)
{
  struct node *n = ud;
  Chord__V1__NodeInfo infos[FINGER_SUCC_MAX], *ptrs[FINGER_SUCC_MAX], pred;
  (void)req;
  if (n->state != NODE_JOINED && n->state != NODE_LEAVING) {
    /* Not to be adopted as anyone's neighbour: joining, or gone. */
    rpc_srv_reply_error_detail(call, GRPC_STATUS_UNAVAILABLE,
                               RPC_DETAIL_NOT_MEMBER,
                               "this node is not a settled member");
    return;
  }
  size_t k = n->ring.ft.nsucc;
  for (size_t i = 0; i < k; i++) {
    nodeinfo_from_peer(&infos[i], &n->ring.ft.succ[i]);
    ptrs[i] = &infos[i];
  }
  Chord__V1__GetSuccessorListResponse resp =
      CHORD__V1__GET_SUCCESSOR_LIST_RESPONSE__INIT;
  resp.n_successors = k;
  resp.successors = ptrs;
  if (n->ring.ft.has_pred && !ring_is_dead(&n->ring, &n->ring.ft.pred.id)) {
    nodeinfo_from_peer(&pred, &n->ring.ft.pred);
    resp.predecessor = &pred;
  }
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
  resp.incarnation = n->incarnation;
  rpc_srv_reply(call, &resp.base);
}
