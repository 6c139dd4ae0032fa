/* SPDX-License-Identifier: MIT */
/* Membership: the join sequence, heartbeats and the graceful leave, each
 * step an async call whose completion starts the next. The key transfers
 * themselves are pull.c's and push.c's. */
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

/* 25..50 ms, doubling per attempt up to 0.5..1 s. */
static uint64_t backoff_ms(unsigned attempt)
{
  uint64_t ms = 50u << (attempt < 5 ? attempt : 5);
  if (ms > 1000)
    ms = 1000;
  return ms / 2 + (uint64_t)(rand() % (int)(ms / 2 + 1));
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
    msg = &u.post.base;
    break;
  case PEER_SN_LEAVE:
    chord__v1__leave_request__init(&u.leave);
    u.leave.node = &me;
    msg = &u.leave.base;
    break;
  default:
    chord__v1__join_request__init(&u.join);
    u.join.node = &me;
    msg = &u.join.base;
    break;
  }
  peer_call(n->d.client, n->o.supernode, m, msg, n->o.rpc_timeout_ms, cb, n);
}

/* ---- telling every member the new list ---------------------------------- */

typedef void (*bcast_done_cb)(struct node *n);

struct bcast {
  struct node *n;
  size_t left;
  bcast_done_cb done;
};

static void on_update_dht(struct rpc_result *r, void *ud)
{
  struct bcast *b = ud;
  if (r->status.code != GRPC_STATUS_OK)
    LOG_WARN("UpdateDHT: %s", r->status.message);
  if (--b->left == 0) {
    struct node *n = b->n;
    bcast_done_cb done = b->done;
    free(b);
    if (!n->d.stopping || n->state == NODE_LEAVING)
      done(n);
  }
}

/* Sends UpdateDHT(members) to every member of our ring but us (and skip,
 * when given), in parallel, each with a deadline; then runs done. */
static void broadcast(struct node *n, const struct chord_peer *members,
                      size_t k, const struct chord_peer *skip,
                      bcast_done_cb done)
{
  Chord__V1__NodeInfo *infos = calloc(k ? k : 1, sizeof(*infos));
  Chord__V1__NodeInfo **ptrs = calloc(k ? k : 1, sizeof(*ptrs));
  struct bcast *b = calloc(1, sizeof(*b));
  if (!infos || !ptrs || !b) {
    free(infos);
    free(ptrs);
    free(b);
    done(n);
    return;
  }
  for (size_t i = 0; i < k; i++) {
    nodeinfo_from_peer(&infos[i], &members[i]);
    ptrs[i] = &infos[i];
  }
  Chord__V1__UpdateDHTRequest req = CHORD__V1__UPDATE_DHTREQUEST__INIT;
  req.n_members = k;
  req.members = ptrs;
  b->n = n;
  b->done = done;
  b->left = 1; /* held until every call is started */
  for (size_t i = 0; i < n->ring.nmembers; i++) {
    const struct chord_peer *to = &n->ring.members[i];
    if (chord_id_eq(&to->id, &n->self.id))
      continue;
    if (skip && chord_id_eq(&to->id, &skip->id))
      continue;
    b->left++;
    peer_call(n->d.client, to->addr, PEER_UPDATE_DHT, &req.base,
              n->o.rpc_timeout_ms, on_update_dht, b);
  }
  free(infos);
  free(ptrs);
  struct rpc_result none;
  memset(&none, 0, sizeof(none));
  on_update_dht(&none, b);
}

/* ---- heartbeats ---------------------------------------------------------- */

static void heartbeat_send(struct node *n);

static void on_heartbeat_timer(uv_timer_t *t)
{
  heartbeat_send(t->data);
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
    timer_once(n, backoff_ms(m->attempts), on_join_retry);
    return;
  }
  node_set_state(n, NODE_JOINED);
  m->registered = true;
  n->d.serving = true;
  LOG_INFO("joined the ring: %zu members, pred %s, succ %s (%llu ms)",
           n->ring.nmembers, n->ring.ft.pred.addr, n->ring.ft.succ[0].addr,
           (unsigned long long)(node_now_ms() - m->started_ms));
  heartbeat_send(n);
}

static void post_join(struct node *n)
{
  if (n->state == NODE_JOINING)
    node_set_state(n, NODE_JOINED);
  n->mem.attempts = 0;
  sn_call(n, PEER_SN_POST_JOIN, on_post_join);
}

/* The range is ours: tell the others (the successor learned of us at the
 * hand-off), then register. */
static void on_pulled(struct node *n)
{
  broadcast(n, n->ring.members, n->ring.nmembers, &n->pull.succ, post_join);
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
  timer_once(n, backoff_ms(m->attempts < 5 ? 3 : 5), on_join_retry);
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
  timer_once(n, backoff_ms(m->attempts + 2), on_join_retry);
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
  node_stop(n, 0);
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

/* Our files are with the successor (or, when handed is false, stay here):
 * the others learn the list without us, then the supernode. */
static void on_pushed(struct node *n, bool handed, const char *why)
{
  (void)why; /* push.c logged it */
  if (!handed) {
    leave_tell_supernode(n);
    return;
  }
  struct chord_peer *others =
      calloc(n->ring.nmembers ? n->ring.nmembers : 1, sizeof(*others));
  size_t k = 0;
  for (size_t i = 0; others && i < n->ring.nmembers; i++)
    if (!chord_id_eq(&n->ring.members[i].id, &n->self.id))
      others[k++] = n->ring.members[i];
  broadcast(n, others, k, NULL, leave_tell_supernode);
  free(others);
}

void membership_leave_start(struct node *n)
{
  if (n->state != NODE_JOINED || n->ring.nmembers <= 1) {
    /* Not a member, or alone: nobody to hand anything to. */
    if (n->state == NODE_JOINED)
      leave_tell_supernode(n);
    else
      leave_finish(n);
    return;
  }
  uv_timer_stop(&n->mem.timer);
  node_set_state(n, NODE_LEAVING);
  push_start(n, on_pushed);
}
