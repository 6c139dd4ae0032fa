/* SPDX-License-Identifier: MIT */
/* Maintenance on the loop: a timer runs Zave's rules (maint.c); each
 * message they ask for becomes a call (GetSuccessorList, Notify, Ping or
 * FindSuccessor) whose answer, or failure, goes back to the rules. */
#include "node/maintain.h"

#include <stdlib.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "common/log.h"
#include "common/nodeinfo.h"
#include "node/node.h"
#include "node/peer.h"

void maintain_init(struct maintain *mt, uv_loop_t *loop, struct node *n)
{
  memset(mt, 0, sizeof(*mt));
  maint_init(&mt->m);
  uv_timer_init(loop, &mt->timer);
  mt->timer.data = n;
}

static const char *what_name(enum maint_what w)
{
  switch (w) {
  case MAINT_STAB_SUCC: return "stabilize query";
  case MAINT_STAB_PRED: return "stabilize query (new successor?)";
  case MAINT_NOTIFY: return "notify";
  case MAINT_RECTIFY: return "rectify ping";
  case MAINT_CHECK_PRED: return "predecessor check";
  case MAINT_FIX_FINGER: return "finger lookup";
  }
  return "?";
}

/* One message in flight. */
struct mcall {
  struct node *n;
  struct maint_msg msg;
};

static void send_all(struct node *n, const struct maint_out *out);

/* Whether a failed call means the peer is not there for the ring: gRPC
 * could not reach it or it stayed silent, or it said it is not a member
 * (joining, or left). Other errors are the peer's answer. */
static bool peer_gone(const struct rpc_status *st)
{
  if (!st->remote)
    return st->code == GRPC_STATUS_UNAVAILABLE ||
           st->code == GRPC_STATUS_DEADLINE_EXCEEDED;
  return st->code == GRPC_STATUS_UNAVAILABLE &&
         (strcmp(st->detail, RPC_DETAIL_NOT_MEMBER) == 0 ||
          strcmp(st->detail, RPC_DETAIL_JOINING) == 0);
}

/* Decodes a repeated NodeInfo into peers (at most max; bad ones skipped). */
static size_t peers_of(Chord__V1__NodeInfo **in, size_t n,
                       struct chord_peer *out, size_t max)
{
  size_t k = 0;
  const char *why;
  for (size_t i = 0; i < n && k < max; i++)
    if (nodeinfo_to_peer(in[i], &out[k], &why) == 0)
      k++;
  return k;
}

/* Feeds a successful answer to the rules; *out gets what they ask. */
static void on_answer(struct node *n, const struct maint_msg *msg,
                      const ProtobufCMessage *resp, struct maint_out *out)
{
  struct maint *m = &n->maintain.m;
  const char *why;
  switch (msg->what) {
  case MAINT_STAB_SUCC:
  case MAINT_STAB_PRED:
  case MAINT_CHECK_PRED: {
    const Chord__V1__GetSuccessorListResponse *r =
        (const Chord__V1__GetSuccessorListResponse *)resp;
    struct chord_peer list[FINGER_SUCC_MAX], pred;
    size_t k = peers_of(r->successors, r->n_successors, list, FINGER_SUCC_MAX);
    bool has_pred =
        r->predecessor && nodeinfo_to_peer(r->predecessor, &pred, &why) == 0;
    maint_on_list(m, &n->ring, msg->what, &msg->to, has_pred ? &pred : NULL,
                  list, k, out);
    break;
  }
  case MAINT_FIX_FINGER: {
    const Chord__V1__FindSuccessorResponse *r =
        (const Chord__V1__FindSuccessorResponse *)resp;
    struct chord_peer succ;
    if (r->successor && nodeinfo_to_peer(r->successor, &succ, &why) == 0)
      maint_on_found(m, &n->ring, msg->finger, &succ);
    break;
  }
  case MAINT_NOTIFY:
  case MAINT_RECTIFY: maint_on_ok(m, &n->ring, msg, out); break;
  }
}

static void on_done(struct rpc_result *r, void *ud)
{
  struct mcall *mc = ud;
  struct node *n = mc->n;
  struct maintain *mt = &n->maintain;
  struct maint_out out = {.n = 0};
  struct chord_peer old_pred = n->ring.ft.pred, old_succ = n->ring.ft.succ[0];
  if (mc->msg.what == MAINT_FIX_FINGER)
    mt->fix_inflight--;
  else if (mc->msg.what != MAINT_RECTIFY && mc->msg.what != MAINT_CHECK_PRED)
    mt->stab_inflight--;
  if (!n->d.stopping && mt->running) {
    if (r->status.code == GRPC_STATUS_OK) {
      on_answer(n, &mc->msg, r->resp, &out);
    } else if (peer_gone(&r->status)) {
      if (!ring_is_dead(&n->ring, &mc->msg.to.id))
        LOG_INFO("maintenance: %s is gone (%s)", mc->msg.to.addr,
                 r->status.message);
      if (!r->status.remote) /* dial afresh next time */
        rpc_client_forget(n->d.client, mc->msg.to.addr);
      maint_on_fail(&mt->m, &n->ring, &mc->msg, &out);
    }
    node_ring_changed(n, &old_pred, &old_succ);
    send_all(n, &out);
  }
  free(mc);
}

/* Starts the call for one message; a call that cannot start is a failure
 * fed back at once (peer_call runs the callback). */
static void send_one(struct node *n, const struct maint_msg *msg)
{
  struct maintain *mt = &n->maintain;
  struct mcall *mc = calloc(1, sizeof(*mc));
  Chord__V1__NodeInfo me;
  if (!mc)
    return; /* the next tick asks again */
  mc->n = n;
  mc->msg = *msg;
  LOG_DEBUG("maintenance: %s to %s", what_name(msg->what), msg->to.addr);
  nodeinfo_from_peer(&me, &n->self);
  mt->sent++;
  if (msg->what == MAINT_FIX_FINGER)
    mt->fix_inflight++;
  else if (msg->what != MAINT_RECTIFY && msg->what != MAINT_CHECK_PRED)
    mt->stab_inflight++;
  uint64_t ms = n->o.hop_timeout_ms;
  switch (msg->what) {
  case MAINT_STAB_SUCC:
  case MAINT_STAB_PRED:
  case MAINT_CHECK_PRED: {
    Chord__V1__GetSuccessorListRequest req =
        CHORD__V1__GET_SUCCESSOR_LIST_REQUEST__INIT;
    peer_call(n->d.client, msg->to.addr, PEER_GET_SUCC_LIST, &req.base, ms,
              on_done, mc);
    break;
  }
  case MAINT_NOTIFY: {
    Chord__V1__NotifyRequest req = CHORD__V1__NOTIFY_REQUEST__INIT;
    req.node = &me;
    peer_call(n->d.client, msg->to.addr, PEER_NOTIFY, &req.base, ms, on_done,
              mc);
    break;
  }
  case MAINT_RECTIFY: {
    Chord__V1__PingRequest req = CHORD__V1__PING_REQUEST__INIT;
    peer_call(n->d.client, msg->to.addr, PEER_PING, &req.base, ms, on_done, mc);
    break;
  }
  case MAINT_FIX_FINGER: {
    Chord__V1__FindSuccessorRequest req =
        CHORD__V1__FIND_SUCCESSOR_REQUEST__INIT;
    req.id.data = mc->msg.key.b;
    req.id.len = CHORD_ID_BYTES;
    peer_call(n->d.client, msg->to.addr, PEER_FIND_SUCCESSOR, &req.base,
              n->o.rpc_timeout_ms, on_done, mc);
    break;
  }
  }
}

static void send_all(struct node *n, const struct maint_out *out)
{
  for (size_t i = 0; i < out->n; i++)
    send_one(n, &out->msg[i]);
}

/* One tick: forget old dead marks, then stabilize (unless the last round
 * is still under way), check the predecessor and fix a few fingers. */
static void on_tick(uv_timer_t *t)
{
  struct node *n = t->data;
  struct maintain *mt = &n->maintain;
  struct maint_out out = {.n = 0};
  struct chord_peer old_pred = n->ring.ft.pred, old_succ = n->ring.ft.succ[0];
  if (n->d.stopping || !mt->running)
    return;
  mt->ticks++;
  metrics_inc(&n->met.stabilize_rounds, 1);
  ring_age_dead(&n->ring, MAINTAIN_DEAD_TICKS);
  if (mt->stab_inflight == 0)
    maint_stabilize(&mt->m, &n->ring, &out);
  maint_check_pred(&mt->m, &n->ring, &out);
  node_ring_changed(n, &old_pred, &old_succ);
  send_all(n, &out);
  out.n = 0;
  if (mt->fix_inflight == 0) {
    maint_fix_fingers(&mt->m, &n->ring, MAINTAIN_FINGERS_PER_TICK, &out);
    send_all(n, &out);
  }
  repair_tick(n);
}

void maintain_start(struct node *n)
{
  struct maintain *mt = &n->maintain;
  if (mt->running)
    return;
  mt->running = true;
  uv_timer_start(&mt->timer, on_tick, 0, n->o.stabilize_ms);
}

void maintain_stop(struct node *n)
{
  n->maintain.running = false;
  uv_timer_stop(&n->maintain.timer);
}

void maintain_hello(struct node *n)
{
  struct maint_msg msg;
  if (chord_id_eq(&n->ring.ft.pred.id, &n->self.id))
    return;
  memset(&msg, 0, sizeof(msg));
  msg.what = MAINT_NOTIFY;
  msg.to = n->ring.ft.pred;
  send_one(n, &msg);
}

void maintain_notified(struct node *n, const struct chord_peer *from)
{
  struct maint_out out = {.n = 0};
  struct chord_peer old_pred = n->ring.ft.pred, old_succ = n->ring.ft.succ[0];
  maint_on_notify(&n->maintain.m, &n->ring, from, &out);
  node_ring_changed(n, &old_pred, &old_succ);
  /* A predecessor between the old one and us (it came back, or joined
   * through another node) owns part of what we held: repair's hand-off
   * gives it what it lacks. */
  send_all(n, &out);
  repair_check(n);
}
