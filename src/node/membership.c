/* SPDX-License-Identifier: MIT */
/* Membership: the join sequence, heartbeats and the graceful leave, each
 * step an async call whose completion starts the next. The key transfers
 * are pull.c's and push.c's; the ring's upkeep after the join is
 * maintain.c's. */
#include "node/membership.h"

#include <stdlib.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "chord/v1/supernode.pb-c.h"
#include "common/err.h"
#include "common/log.h"
#include "common/nodeinfo.h"
#include "node/node.h"
#include "node/peer.h"

void membership_init(struct membership *m, uv_loop_t *loop, struct node *n)
{
  memset(m, 0, sizeof(*m));
  uv_timer_init(loop, &m->timer);
  m->timer.data = n;
  m->hb_interval_ms = 1000;
}

static void timer_once(struct node *n, uint64_t ms, uv_timer_cb cb)
{
  uv_timer_stop(&n->mem.timer);
  uv_timer_start(&n->mem.timer, cb, ms, 0);
}

/* Calls the supernode with a message that names this node. */
static void sn_call(struct node *n, enum peer_method m, rpc_done_cb cb)
{
  Chord__V1__NodeInfo me;
  nodeinfo_from_peer(&me, &n->self);
  union {
    Chord__V1__JoinRequest join;
    Chord__V1__PostJoinRequest post;
    Chord__V1__LeaveRequest leave;
  } u;
  const ProtobufCMessage *msg;
  switch (m) {
  case PEER_SN_POST_JOIN:
    chord__v1__post_join_request__init(&u.post);
    u.post.node = &me;
    u.post.secret = (ProtobufCBinaryData){sizeof(n->secret), n->secret};
    msg = &u.post.base;
    break;
  case PEER_SN_LEAVE:
    chord__v1__leave_request__init(&u.leave);
    u.leave.node = &me;
    u.leave.secret = (ProtobufCBinaryData){sizeof(n->secret), n->secret};
    msg = &u.leave.base;
    break;
  default:
    chord__v1__join_request__init(&u.join);
    u.join.node = &me;
    u.join.secret = (ProtobufCBinaryData){sizeof(n->secret), n->secret};
    msg = &u.join.base;
    break;
  }
  peer_call(n->d.client, n->o.supernode, m, msg, n->o.rpc_timeout_ms, cb, n);
}

/* ---- heartbeats ---------------------------------------------------------- */

static void heartbeat_send(struct node *n);

static void on_heartbeat_timer(uv_timer_t *t)
{
  struct node *n = t->data;
  if (n->d.exhausted) {
    /* Out of descriptors: fall silent, so that the supernode drops us and
     * sends no client here, until they free up. */
    timer_once(n, n->mem.hb_interval_ms, on_heartbeat_timer);
    return;
  }
  heartbeat_send(n);
}

static void on_heartbeat(struct rpc_result *r, void *ud)
{
  struct node *n = ud;
  struct membership *m = &n->mem;
  if (n->d.stopping || n->state != NODE_JOINED)
    return;
  if (r->status.code == GRPC_STATUS_OK) {
    const Chord__V1__HeartbeatResponse *hr =
        (const Chord__V1__HeartbeatResponse *)r->resp;
    if (m->hb_failing)
      LOG_INFO("supernode %s reachable again%s", n->o.supernode,
               hr->known ? "" : " (it had forgotten us: re-registered)");
    m->hb_failing = false;
    if (hr->interval_ms >= 100 && hr->interval_ms <= 60000)
      m->hb_interval_ms = hr->interval_ms;
  } else if (!m->hb_failing) {
    m->hb_failing = true;
    LOG_WARN("heartbeat to %s failed (%s: %s); still serving, retrying",
             n->o.supernode, rpc_status_name(r->status.code),
             r->status.message);
  }
  timer_once(n, m->hb_interval_ms, on_heartbeat_timer);
}

/* A heartbeat's deadline is its interval: a late answer is worth no more
 * than the next heartbeat. */
static void heartbeat_send(struct node *n)
{
  Chord__V1__HeartbeatRequest req = CHORD__V1__HEARTBEAT_REQUEST__INIT;
  Chord__V1__NodeInfo me;
  nodeinfo_from_peer(&me, &n->self);
  req.node = &me;
  req.secret = (ProtobufCBinaryData){sizeof(n->secret), n->secret};
  peer_call(n->d.client, n->o.supernode, PEER_SN_HEARTBEAT, &req.base,
            n->mem.hb_interval_ms, on_heartbeat, n);
}

/* ---- join ---------------------------------------------------------------- */

static void join_send(struct node *n);

static void on_join_retry(uv_timer_t *t)
{
  join_send(t->data);
}

static void on_post_join(struct rpc_result *r, void *ud)
{
  struct node *n = ud;
  struct membership *m = &n->mem;
  if (n->d.stopping)
    return;
  if (r->status.code == GRPC_STATUS_FAILED_PRECONDITION) {
    /* The lease ran out: our keys stay, the supernode wants a new join. */
    LOG_WARN("PostJoin refused (%s); joining again", r->status.message);
    membership_join_start(n);
    return;
  }
  if (r->status.code != GRPC_STATUS_OK) {
    if (++m->attempts >= n->o.join_retries) {
      node_fail(n, "PostJoin failed: %s (%s)", r->status.message,
                rpc_status_name(r->status.code));
      return;
    }
    timer_once(n, node_backoff_ms(m->attempts), on_join_retry);
    return;
  }
  node_set_state(n, NODE_JOINED);
  m->registered = true;
  n->d.serving = true;
  LOG_INFO("joined the ring: %zu members, pred %s, succ %s (%llu ms)",
           n->ring.nmembers, n->ring.ft.pred.addr, n->ring.ft.succ[0].addr,
           (unsigned long long)(node_now_ms() - m->started_ms));
  heartbeat_send(n);
  maintain_start(n);
  repair_start(n);
  chunk_gc_start(n);
}

static void post_join(struct node *n)
{
  if (n->state == NODE_JOINING)
    node_set_state(n, NODE_JOINED);
  n->mem.attempts = 0;
  sn_call(n, PEER_SN_POST_JOIN, on_post_join);
}

/* The range is ours, and our successor took us as its predecessor at the
 * hand-off; our predecessor hears a hello and stabilizes at once; the
 * rest of the ring learns of us through stabilize and fix_fingers, so no
 * one else needs telling. Register. */
static void on_pulled(struct node *n)
{
  maintain_hello(n); /* our predecessor adopts us at once */
  post_join(n);
}

/* Handles the supernode's busy answer: true when it was one (a retry is
 * set, or the node stops once the wait exceeds --join-timeout). */
static bool join_busy(struct node *n, const struct rpc_status *st)
{
  struct membership *m = &n->mem;
  if (st->code != GRPC_STATUS_UNAVAILABLE || !st->remote ||
      strcmp(st->detail, RPC_DETAIL_BUSY) != 0)
    return false;
  if (node_now_ms() - m->started_ms > n->o.join_timeout_ms) {
    node_fail(n, "gave up joining: the supernode stayed busy (%s)",
              st->message);
    return true;
  }
  LOG_DEBUG("supernode busy (%s); retrying", st->message);
  timer_once(n, node_backoff_ms(m->attempts < 5 ? 3 : 5), on_join_retry);
  return true;
}

/* Handles an unreachable supernode: true when it was (a retry is set, or
 * the node stops after --join-retries). */
static bool join_unreachable(struct node *n, const struct rpc_status *st)
{
  struct membership *m = &n->mem;
  if (st->code != GRPC_STATUS_UNAVAILABLE &&
      st->code != GRPC_STATUS_DEADLINE_EXCEEDED)
    return false;
  if (++m->attempts >= n->o.join_retries) {
    node_fail(n, "cannot reach the supernode at %s after %u attempts (%s: %s)",
              n->o.supernode, m->attempts, rpc_status_name(st->code),
              st->message);
    return true;
  }
  LOG_WARN("supernode %s unreachable (%s); retry %u of %u", n->o.supernode,
           st->message, m->attempts, n->o.join_retries);
  timer_once(n, node_backoff_ms(m->attempts + 2), on_join_retry);
  return true;
}

static void on_join(struct rpc_result *r, void *ud)
{
  struct node *n = ud;
  if (n->d.stopping || join_busy(n, &r->status) ||
      join_unreachable(n, &r->status))
    return;
  if (r->status.code != GRPC_STATUS_OK) {
    node_fail(n, "join refused by the supernode: %s (%s)", r->status.message,
              rpc_status_name(r->status.code));
    return;
  }
  const Chord__V1__JoinResponse *jr = (const Chord__V1__JoinResponse *)r->resp;
  struct chord_peer *list = calloc(jr->n_members + 1, sizeof(*list));
  const char *why = "out of memory";
  size_t k = 0;
  if (!list)
    goto fail_list;
  for (size_t i = 0; i < jr->n_members; i++) {
    if (nodeinfo_to_peer(jr->members[i], &list[k], &why))
      goto fail_list;
    if (!chord_id_eq(&list[k].id, &n->self.id))
      k++;
  }
  if (k == 0) {
    /* The first node: the whole ring is ours. */
    free(list);
    node_install(n, NULL, 0);
    post_join(n);
    return;
  }
  pull_start(n, list, k, jr->lease_ms, on_pulled); /* takes list */
  return;
fail_list:
  free(list);
  node_fail(n, "the supernode's member list is unusable: %s", why);
}

static void join_send(struct node *n)
{
  sn_call(n, PEER_SN_JOIN, on_join);
}

void membership_join_start(struct node *n)
{
  node_set_state(n, NODE_JOINING);
  n->mem.attempts = 0;
  n->mem.started_ms = node_now_ms();
  join_send(n);
}

/* ---- graceful leave ------------------------------------------------------ */

static void leave_finish(struct node *n)
{
  LOG_INFO("left the ring");
  node_stop(n, n->d.exit_hint);
}

static void on_leave(struct rpc_result *r, void *ud)
{
  struct node *n = ud;
  if (r->status.code != GRPC_STATUS_OK &&
      r->status.code != GRPC_STATUS_NOT_FOUND)
    LOG_WARN("Leave at the supernode failed (%s); it will drop us by "
             "heartbeat timeout",
             r->status.message);
  leave_finish(n);
}

static void leave_tell_supernode(struct node *n)
{
  sn_call(n, PEER_SN_LEAVE, on_leave);
}

static void on_leaving_notified(struct rpc_result *r, void *ud)
{
  struct node *n = ud;
  if (r->status.code != GRPC_STATUS_OK)
    LOG_WARN("telling %s it now follows %s failed (%s); stabilize will",
             n->give.to.addr, n->ring.ft.pred.addr, r->status.message);
  leave_tell_supernode(n);
}

/* Our files are with the successor (or, when handed is false, stay
 * here). The successor hears that our predecessor is now its own; our
 * predecessor finds us gone at its next stabilize. Then the supernode. */
static void on_pushed(struct node *n, bool handed, const char *why)
{
  (void)why; /* push.c logged it */
  if (!handed) {
    leave_tell_supernode(n);
    return;
  }
  Chord__V1__NotifyRequest req = CHORD__V1__NOTIFY_REQUEST__INIT;
  Chord__V1__NodeInfo pred;
  nodeinfo_from_peer(&pred, &n->ring.ft.pred);
  req.node = &pred;
  req.leaving = true;
  peer_call(n->d.client, n->give.to.addr, PEER_NOTIFY, &req.base,
            n->o.rpc_timeout_ms, on_leaving_notified, n);
}

void membership_leave_start(struct node *n)
{
  if (n->state != NODE_JOINED ||
      chord_id_eq(&n->ring.ft.succ[0].id, &n->self.id)) {
    /* Not a member, or alone: nobody to hand anything to. */
    if (n->state == NODE_JOINED)
      leave_tell_supernode(n);
    else
      leave_finish(n);
    return;
  }
  uv_timer_stop(&n->mem.timer);
  maintain_stop(n);
  repair_stop(n);
  uv_timer_stop(&n->chunk_gc.timer);
  node_set_state(n, NODE_LEAVING);
  push_start(n, on_pushed);
}
