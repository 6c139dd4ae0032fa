/* SPDX-License-Identifier: MIT */
/* Supernode handlers: decode, check, call the registry, answer. */
#include <stdlib.h>
#include <string.h>

#include "chord/v1/supernode.pb-c.h"
#include "common/err.h"
#include "common/log.h"
#include "common/nodeinfo.h"
#include "supernode/supernode.h"

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

static void on_join(struct rpc_srv_call *call, const ProtobufCMessage *req,
                    void *ud)
{
  struct supernode *sn = ud;
  const Chord__V1__JoinRequest *r = (const Chord__V1__JoinRequest *)req;
  struct chord_peer p, holder, *list = NULL;
  struct node_list nl = {0};
  size_t n = 0;
  char hex[CHORD_ID_HEX_LEN + 1];
  if (!check_node(call, r->node, &p))
    return;
  chord_id_to_hex(&p.id, hex);
  int rc = registry_join(sn->reg, &p, &list, &n);
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
    LOG_WARN("join refused: id %s of %s is already in the ring", hex, p.addr);
    rpc_srv_reply_error(call, GRPC_STATUS_ALREADY_EXISTS,
                        "id %s is already taken by another node", hex);
    return;
  default:
    rpc_srv_reply_error(call, rpc_err_to_status(rc), "join failed: %s",
                        chord_strerror(rc));
    return;
  }
  if (node_list_make(&nl, list, n)) {
    free(list);
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  Chord__V1__JoinResponse resp = CHORD__V1__JOIN_RESPONSE__INIT;
  resp.n_members = n;
  resp.members = nl.ptrs;
  resp.lease_ms = sn->lease_ms;
  LOG_INFO("join started: %s (%.8s), %zu members", p.addr, hex, n);
  rpc_srv_reply(call, &resp.base);
  node_list_free(&nl);
  free(list);
}

static void on_post_join(struct rpc_srv_call *call, const ProtobufCMessage *req,
                         void *ud)
{
  struct supernode *sn = ud;
  const Chord__V1__PostJoinRequest *r = (const Chord__V1__PostJoinRequest *)req;
  struct chord_peer p, *list = NULL;
  struct node_list nl = {0};
  size_t n = 0;
  if (!check_node(call, r->node, &p))
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
  if (!check_node(call, r->node, &p))
    return;
  if (registry_leave(sn->reg, &p.id)) {
    rpc_srv_reply_error(call, GRPC_STATUS_NOT_FOUND, "%s is not a member",
                        p.addr);
    return;
  }
  LOG_INFO("left: %s, %zu members", p.addr, registry_count(sn->reg));
  sn->last_count = registry_count(sn->reg);
  Chord__V1__LeaveResponse resp = CHORD__V1__LEAVE_RESPONSE__INIT;
  rpc_srv_reply(call, &resp.base);
}

static void on_heartbeat(struct rpc_srv_call *call, const ProtobufCMessage *req,
                         void *ud)
{
  struct supernode *sn = ud;
  const Chord__V1__HeartbeatRequest *r =
      (const Chord__V1__HeartbeatRequest *)req;
  struct chord_peer p;
  bool known = true;
  if (!check_node(call, r->node, &p))
    return;
  int rc = registry_heartbeat(sn->reg, &p, &known);
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
  static const struct {
    const char *name;
    rpc_handler_cb cb;
  } table[] = {
      {"Join", on_join},           {"PostJoin", on_post_join},
      {"GetNode", on_get_node},    {"Leave", on_leave},
      {"Heartbeat", on_heartbeat}, {"ListNodes", on_list_nodes},
  };
  if (svc->n_methods > sizeof(h) / sizeof(h[0]))
    return CHORD_EINTERNAL;
  for (unsigned i = 0; i < svc->n_methods; i++)
    for (size_t k = 0; k < sizeof(table) / sizeof(table[0]); k++)
      if (strcmp(svc->methods[i].name, table[k].name) == 0)
        h[i] = table[k].cb;
  return rpc_server_add_service(sn->d.server, svc, h, sn);
}
