/* SPDX-License-Identifier: MIT */
/* Supernode handlers: decode, check, call the registry, answer. */
#include <stdlib.h>
#include <string.h>

#include "chord/v1/supernode.pb-c.h"
#include "common/err.h"
#include "common/log.h"
#include "common/nodeinfo.h"
#include "supernode/identity.h"
#include "supernode/supernode.h"

/* How long a joiner's (or re-registering member's) address gets to answer
 * the Ping that proves it is the node it says. */
#define SN_IDENTITY_MS 2000

/* Answers members as a repeated NodeInfo via fill(resp, infos, ptrs, n). */
struct node_list {
  Chord__V1__NodeInfo *infos;
  Chord__V1__NodeInfo **ptrs;
};

static int node_list_make(struct node_list *l, const struct chord_peer *p,
                          size_t n)
{
  l->infos = calloc(n ? n : 1, sizeof(*l->infos));
  l->ptrs = calloc(n ? n : 1, sizeof(*l->ptrs));
  if (!l->infos || !l->ptrs) {
    free(l->infos);
    free(l->ptrs);
    return CHORD_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    nodeinfo_from_peer(&l->infos[i], &p[i]);
    l->ptrs[i] = &l->infos[i];
  }
  return 0;
}

static void node_list_free(struct node_list *l)
{
  free(l->infos);
  free(l->ptrs);
}

/* All live members, sorted; caller frees *out. */
static int members(struct supernode *sn, struct chord_peer **out, size_t *n)
{
  size_t total = registry_count(sn->reg);
  *out = calloc(total ? total : 1, sizeof(**out));
  if (!*out)
    return CHORD_ENOMEM;
  *n = registry_list(sn->reg, *out, total);
  if (*n > total)
    *n = total;
  return 0;
}

static bool check_node(struct rpc_srv_call *call, const Chord__V1__NodeInfo *n,
                       struct chord_peer *p)
{
  const char *why;
  if (nodeinfo_to_peer(n, p, &why) == 0)
    return true;
  rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT, "%s", why);
  return false;
}

/* A secret of a good length; answers INVALID_ARGUMENT and returns false
 * otherwise. */
static bool check_secret(struct rpc_srv_call *call,
                         const ProtobufCBinaryData *s)
{
  if (s->len >= AUTH_SECRET_MIN && s->len <= AUTH_SECRET_MAX)
    return true;
  rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT,
                      "the secret is %zu bytes, not %d to %d", s->len,
                      AUTH_SECRET_MIN, AUTH_SECRET_MAX);
  return false;
}

/* Whether the secret is the one id joined with; answers PERMISSION_DENIED
 * and returns false when another one is kept. unknown_ok: whether an id
 * with no secret kept passes. */
static bool check_owner(struct supernode *sn, struct rpc_srv_call *call,
                        const struct chord_peer *p,
                        const ProtobufCBinaryData *s, bool unknown_ok)
{
  enum identity_match m = identities_match(sn->ids, &p->id, s->data, s->len);
  if (m == IDENTITY_SAME || (m == IDENTITY_UNKNOWN && unknown_ok))
    return true;
  LOG_WARN("refused %s for %s: not the secret it joined with",
           rpc_srv_method(call), p->addr);
  rpc_srv_reply_error(call, GRPC_STATUS_PERMISSION_DENIED,
                      "%s: not the secret %s joined with", rpc_srv_method(call),
                      p->addr);
  return false;
}

/* Answers a Join refused by the registry (rc != 0). */
static void join_refused(struct supernode *sn, struct rpc_srv_call *call,
                         const struct chord_peer *p, int rc)
{
  struct chord_peer holder;
  char hex[CHORD_ID_HEX_LEN + 1];
  chord_id_to_hex(&p->id, hex);
  switch (rc) {
  case 0: break;
  case CHORD_EUNAVAIL:
    /* The lease may have ended since registry_join looked. */
    rpc_srv_reply_error_detail(
        call, GRPC_STATUS_UNAVAILABLE, RPC_DETAIL_BUSY,
        "busy: %s is joining; retry",
        registry_busy(sn->reg, &holder) ? holder.addr : "another node");
    return;
  case CHORD_EEXIST:
    LOG_WARN("join refused: id %s of %s is already in the ring", hex, p->addr);
    rpc_srv_reply_error(call, GRPC_STATUS_ALREADY_EXISTS,
                        "id %s is already taken by another node", hex);
    return;
  default:
    rpc_srv_reply_error(call, rpc_err_to_status(rc), "join failed: %s",
                        chord_strerror(rc));
    return;
  }
}

/* Takes (or renews) the join lock for a joiner whose address answered as
 * it, and answers the members. */
static void join_go(struct supernode *sn, struct rpc_srv_call *call,
                    const Chord__V1__JoinRequest *r, const struct chord_peer *p)
{
  struct chord_peer *list = NULL;
  struct node_list nl = {0};
  size_t n = 0;
  char hex[CHORD_ID_HEX_LEN + 1];
  chord_id_to_hex(&p->id, hex);
  int rc = registry_join(sn->reg, p, &list, &n);
  if (rc) {
    join_refused(sn, call, p, rc);
    return;
  }
  if (identities_put(sn->ids, &p->id, r->secret.data, r->secret.len) ||
      node_list_make(&nl, list, n)) {
    free(list);
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  Chord__V1__JoinResponse resp = CHORD__V1__JOIN_RESPONSE__INIT;
  resp.n_members = n;
  resp.members = nl.ptrs;
  resp.lease_ms = sn->lease_ms;
  LOG_INFO("join started: %s (%.8s), %zu members", p->addr, hex, n);
  rpc_srv_reply(call, &resp.base);
  node_list_free(&nl);
  free(list);
}

static void join_checked(struct rpc_srv_call *call, const ProtobufCMessage *req,
                         bool ok, void *ud)
{
  struct supernode *sn = ud;
  const Chord__V1__JoinRequest *r = (const Chord__V1__JoinRequest *)req;
  struct chord_peer p;
  if (!check_node(call, r->node, &p))
    return;
  if (!ok) {
    LOG_WARN("join refused: %s does not answer as that node", p.addr);
    rpc_srv_reply_error(call, GRPC_STATUS_FAILED_PRECONDITION,
                        "%s does not answer a Ping as this node (id and "
                        "incarnation): serve there before joining",
                        p.addr);
    return;
  }
  join_go(sn, call, r, &p);
}

/* A joiner: refused at once when the registry would refuse it; a renewal
 * by the lock holder (same secret) goes through; anyone else must answer
 * a Ping at its address as itself first. So an outsider cannot hold the
 * lock with a made-up address, nor claim a live node's id and address as
 * a "restart": the live node answers with another incarnation. */
static void on_join(struct rpc_srv_call *call, const ProtobufCMessage *req,
                    void *ud)
{
  struct supernode *sn = ud;
  const Chord__V1__JoinRequest *r = (const Chord__V1__JoinRequest *)req;
  struct chord_peer p, holder;
  if (!check_node(call, r->node, &p) || !check_secret(call, &r->secret))
    return;
  int rc = registry_join_check(sn->reg, &p);
  if (rc) {
    join_refused(sn, call, &p, rc);
    return;
  }
  if (registry_busy(sn->reg, &holder) && chord_id_cmp(&holder.id, &p.id) == 0) {
    if (check_owner(sn, call, &p, &r->secret, false))
      join_go(sn, call, r, &p);
    return;
  }
  identity_check(sn->d.client, call, req, &p, r->secret.data, r->secret.len,
                 SN_IDENTITY_MS, join_checked, sn);
}

static void on_post_join(struct rpc_srv_call *call, const ProtobufCMessage *req,
                         void *ud)
{
  struct supernode *sn = ud;
  const Chord__V1__PostJoinRequest *r = (const Chord__V1__PostJoinRequest *)req;
  struct chord_peer p, *list = NULL;
  struct node_list nl = {0};
  size_t n = 0;
  if (!check_node(call, r->node, &p) || !check_secret(call, &r->secret) ||
      !check_owner(sn, call, &p, &r->secret, true))
    return;
  int rc = registry_post_join(sn->reg, &p);
  if (rc == CHORD_ESTATE) {
    rpc_srv_reply_error(call, GRPC_STATUS_FAILED_PRECONDITION,
                        "%s does not hold the join lock (lease expired?); "
                        "join again",
                        p.addr);
    return;
  }
  if (rc) {
    /* Out of memory: the lock is kept, so PostJoin may simply be retried
     * (the node must not start its whole join over). */
    rpc_srv_reply_error(call, rpc_err_to_status(rc), "post-join failed: %s",
                        chord_strerror(rc));
    return;
  }
  if (members(sn, &list, &n) || node_list_make(&nl, list, n)) {
    free(list);
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  Chord__V1__PostJoinResponse resp = CHORD__V1__POST_JOIN_RESPONSE__INIT;
  resp.n_members = n;
  resp.members = nl.ptrs;
  LOG_INFO("joined: %s, %zu members", p.addr, n);
  metrics_inc(&sn->joins, 1);
  atomic_store_explicit(&sn->members, n, memory_order_relaxed);
  rpc_srv_reply(call, &resp.base);
  node_list_free(&nl);
  free(list);
}

static void on_get_node(struct rpc_srv_call *call, const ProtobufCMessage *req,
                        void *ud)
{
  struct supernode *sn = ud;
  struct chord_peer p;
  Chord__V1__NodeInfo ni;
  (void)req;
  if (registry_random(sn->reg, &p)) {
    rpc_srv_reply_error(call, GRPC_STATUS_NOT_FOUND,
                        "no node has joined the ring yet");
    return;
  }
  nodeinfo_from_peer(&ni, &p);
  Chord__V1__GetNodeResponse resp = CHORD__V1__GET_NODE_RESPONSE__INIT;
  resp.node = &ni;
  rpc_srv_reply(call, &resp.base);
}

static void on_leave(struct rpc_srv_call *call, const ProtobufCMessage *req,
                     void *ud)
{
  struct supernode *sn = ud;
  const Chord__V1__LeaveRequest *r = (const Chord__V1__LeaveRequest *)req;
  struct chord_peer p;
  if (!check_node(call, r->node, &p) || !check_secret(call, &r->secret) ||
      !check_owner(sn, call, &p, &r->secret, false))
    return;
  identities_drop(sn->ids, &p.id);
  if (registry_leave(sn->reg, &p.id)) {
    rpc_srv_reply_error(call, GRPC_STATUS_NOT_FOUND, "%s is not a member",
                        p.addr);
    return;
  }
  LOG_INFO("left: %s, %zu members", p.addr, registry_count(sn->reg));
  sn->last_count = registry_count(sn->reg);
  metrics_inc(&sn->leaves, 1);
  atomic_store_explicit(&sn->members, sn->last_count, memory_order_relaxed);
  Chord__V1__LeaveResponse resp = CHORD__V1__LEAVE_RESPONSE__INIT;
  rpc_srv_reply(call, &resp.base);
}

static void heartbeat_go(struct supernode *sn, struct rpc_srv_call *call,
                         const Chord__V1__HeartbeatRequest *r,
                         const struct chord_peer *p0)
{
  struct chord_peer p = *p0;
  bool known = true;
  int rc = registry_heartbeat(sn->reg, &p, &known);
  if (!rc && !known &&
      identities_put(sn->ids, &p.id, r->secret.data, r->secret.len)) {
    registry_leave(sn->reg, &p.id);
    rc = CHORD_ENOMEM;
  }
  if (rc == CHORD_EEXIST) {
    rpc_srv_reply_error(call, GRPC_STATUS_ALREADY_EXISTS,
                        "the id of %s is taken by another node", p.addr);
    return;
  }
  if (rc == CHORD_ESTATE) {
    rpc_srv_reply_error(call, GRPC_STATUS_FAILED_PRECONDITION,
                        "%s is still joining", p.addr);
    return;
  }
  if (rc) {
    rpc_srv_reply_error(call, rpc_err_to_status(rc), "heartbeat failed: %s",
                        chord_strerror(rc));
    return;
  }
  if (!known) {
    LOG_INFO("re-registered %s from its heartbeat, %zu members", p.addr,
             registry_count(sn->reg));
    sn->last_count = registry_count(sn->reg);
  }
  Chord__V1__HeartbeatResponse resp = CHORD__V1__HEARTBEAT_RESPONSE__INIT;
  resp.interval_ms = sn->heartbeat_interval_ms;
  resp.known = known;
  rpc_srv_reply(call, &resp.base);
}

static void heartbeat_checked(struct rpc_srv_call *call,
                              const ProtobufCMessage *req, bool ok, void *ud)
{
  struct supernode *sn = ud;
  const Chord__V1__HeartbeatRequest *r =
      (const Chord__V1__HeartbeatRequest *)req;
  struct chord_peer p;
  if (!check_node(call, r->node, &p))
    return;
  if (!ok) {
    rpc_srv_reply_error(call, GRPC_STATUS_FAILED_PRECONDITION,
                        "%s does not answer a Ping as this node: not "
                        "registered",
                        p.addr);
    return;
  }
  heartbeat_go(sn, call, r, &p);
}

/* A member's heartbeat (its secret must match), or an unknown node's after
 * a supernode restart: registered once its address answers as it. */
static void on_heartbeat(struct rpc_srv_call *call, const ProtobufCMessage *req,
                         void *ud)
{
  struct supernode *sn = ud;
  const Chord__V1__HeartbeatRequest *r =
      (const Chord__V1__HeartbeatRequest *)req;
  struct chord_peer p;
  if (!check_node(call, r->node, &p) || !check_secret(call, &r->secret) ||
      !check_owner(sn, call, &p, &r->secret, true))
    return;
  if (registry_knows(sn->reg, &p.id) &&
      identities_match(sn->ids, &p.id, r->secret.data, r->secret.len) ==
          IDENTITY_SAME) {
    heartbeat_go(sn, call, r, &p);
    return;
  }
  identity_check(sn->d.client, call, req, &p, r->secret.data, r->secret.len,
                 SN_IDENTITY_MS, heartbeat_checked, sn);
}

static void on_list_nodes(struct rpc_srv_call *call,
                          const ProtobufCMessage *req, void *ud)
{
  struct supernode *sn = ud;
  struct chord_peer *list = NULL;
  struct node_list nl = {0};
  size_t n = 0;
  (void)req;
  if (members(sn, &list, &n) || node_list_make(&nl, list, n)) {
    free(list);
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  Chord__V1__ListNodesResponse resp = CHORD__V1__LIST_NODES_RESPONSE__INIT;
  resp.n_nodes = n;
  resp.nodes = nl.ptrs;
  rpc_srv_reply(call, &resp.base);
  node_list_free(&nl);
  free(list);
}

int sn_svc_register(struct supernode *sn)
{
  const ProtobufCServiceDescriptor *svc = &chord__v1__supernode__descriptor;
  rpc_handler_cb h[8] = {0};
  unsigned char need[8];
  /* Membership needs the cluster token; finding a node is for clients. */
  static const struct {
    const char *name;
    rpc_handler_cb cb;
    enum auth_level need;
  } table[] = {
      {"Join", on_join, AUTH_RING},
      {"PostJoin", on_post_join, AUTH_RING},
      {"GetNode", on_get_node, AUTH_CLIENT},
      {"Leave", on_leave, AUTH_RING},
      {"Heartbeat", on_heartbeat, AUTH_RING},
      {"ListNodes", on_list_nodes, AUTH_CLIENT},
  };
  if (svc->n_methods > sizeof(h) / sizeof(h[0]))
    return CHORD_EINTERNAL;
  for (unsigned i = 0; i < svc->n_methods; i++) {
    need[i] = AUTH_RING;
    for (size_t k = 0; k < sizeof(table) / sizeof(table[0]); k++)
      if (strcmp(svc->methods[i].name, table[k].name) == 0) {
        h[i] = table[k].cb;
        need[i] = (unsigned char)table[k].need;
      }
  }
  int rc = rpc_server_add_service(sn->d.server, svc, h, sn);
  if (!rc)
    rpc_server_guard(sn->d.server, svc, need);
  return rc;
}
