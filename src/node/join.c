/* SPDX-License-Identifier: MIT */
/* Membership: the join sequence (Join, pull keys from the successor,
 * UpdateDHT to every member, PostJoin), heartbeats, and the graceful leave
 * (push keys to the successor, UpdateDHT without us, Leave). Every step is
 * an async call whose completion starts the next. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chord/v1/supernode.pb-c.h"
#include "common/err.h"
#include "common/log.h"
#include "common/nodeinfo.h"
#include "node/node.h"
#include "node/transfer.h"

#define SN_SVC (&chord__v1__supernode__descriptor)

static const char *sn_method(const char *name)
{
  for (unsigned i = 0; i < SN_SVC->n_methods; i++)
    if (strcmp(SN_SVC->methods[i].name, name) == 0)
      return rpc_method_path(SN_SVC, i);
  return NULL;
}

static const char *node_method(const char *name)
{
  const ProtobufCServiceDescriptor *s = &chord__v1__node__descriptor;
  for (unsigned i = 0; i < s->n_methods; i++)
    if (strcmp(s->methods[i].name, name) == 0)
      return rpc_method_path(s, i);
  return NULL;
}

gpr_timespec node_deadline(const struct node *n)
{
  return rpc_deadline_in((int64_t)n->o.rpc_timeout_ms);
}

/* Starts an async call; on failure to start, runs cb with the error so
 * every step has one continuation path. */
static void call(struct node *n, const char *target, const char *method,
                 const ProtobufCMessage *msg,
                 const ProtobufCMessageDescriptor *resp_desc, rpc_done_cb cb,
                 void *ud)
{
  struct rpc_req r = {.target = target,
                      .method = method,
                      .msg = msg,
                      .resp_desc = resp_desc,
                      .deadline = node_deadline(n)};
  int rc = rpc_client_call(n->d.client, &r, cb, ud);
  if (rc) {
    struct rpc_result res;
    memset(&res, 0, sizeof(res));
    res.status.code = rpc_err_to_status(rc);
    snprintf(res.status.message, sizeof(res.status.message),
             "cannot start the call: %s", chord_strerror(rc));
    cb(&res, ud);
  }
}

static void timer_once(struct node *n, uint64_t ms, uv_timer_cb cb)
{
  uv_timer_stop(&n->hb_timer);
  uv_timer_start(&n->hb_timer, cb, ms, 0);
}

static void fail_join(struct node *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Logs why the join cannot go on and stops the node (exit 1). */
static void fail_join(struct node *n, const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  LOG_ERROR("%s", msg);
  node_stop(n, 1);
}

/* ---- join ---------------------------------------------------------------- */

static void join_send(struct node *n);
static void transfer_page(struct node *n, const uint8_t *after);
static void broadcast(struct node *n, const struct chord_peer *members,
                      size_t k, const struct chord_peer *skip,
                      void (*done)(struct node *n));
static void post_join(struct node *n);

static void on_join_retry(uv_timer_t *t)
{
  join_send(t->data);
}

static uint64_t backoff_ms(unsigned attempt)
{
  uint64_t ms = 50u << (attempt < 5 ? attempt : 5); /* 50 ms .. 1.6 s */
  if (ms > 1000)
    ms = 1000;
  return ms / 2 + (uint64_t)(rand() % (int)(ms / 2 + 1));
}

static void on_join(struct rpc_result *r, void *ud)
{
  struct node *n = ud;
  if (n->d.stopping)
    return;
  if (r->status.code == GRPC_STATUS_UNAVAILABLE &&
      strncmp(r->status.message, "busy", 4) == 0) {
    if (node_now_ms() - n->join_started_ms > n->o.join_timeout_ms) {
      fail_join(n, "gave up joining: the supernode stayed busy (%s)",
                r->status.message);
      return;
    }
    LOG_DEBUG("supernode busy (%s); retrying", r->status.message);
    timer_once(n, backoff_ms(n->join_attempts < 5 ? 3 : 5), on_join_retry);
    return;
  }
  if (r->status.code == GRPC_STATUS_UNAVAILABLE ||
      r->status.code == GRPC_STATUS_DEADLINE_EXCEEDED) {
    if (++n->join_attempts >= n->o.join_retries) {
      LOG_ERROR("cannot reach the supernode at %s after %u attempts (%s: %s)",
                n->o.supernode, n->join_attempts,
                rpc_status_name(r->status.code), r->status.message);
      uv_timer_stop(&n->hb_timer);
      node_stop(n, 1);
      return;
    }
    LOG_WARN("supernode %s unreachable (%s); retry %u of %u",
             n->o.supernode, r->status.message, n->join_attempts,
             n->o.join_retries);
    timer_once(n, backoff_ms(n->join_attempts + 2), on_join_retry);
    return;
  }
  if (r->status.code != GRPC_STATUS_OK) {
    fail_join(n, "join refused by the supernode: %s (%s)", r->status.message,
              rpc_status_name(r->status.code));
    return;
  }
  const Chord__V1__JoinResponse *jr = (const Chord__V1__JoinResponse *)r->resp;
  n->lease_ms = jr->lease_ms;
  n->lease_at = node_now_ms();
  struct chord_peer *list = calloc(jr->n_members + 1, sizeof(*list));
  const char *why = "out of memory";
  size_t k = 0;
  if (!list)
    goto bad;
  for (size_t i = 0; i < jr->n_members; i++) {
    if (nodeinfo_to_peer(jr->members[i], &list[k], &why))
      goto bad;
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
  /* Our would-be neighbours: pull (pred, self] from the successor. */
  struct ring tmp;
  ring_init(&tmp, &n->self);
  if (ring_install(&tmp, &n->self, list, k, n->o.succ_len)) {
    ring_close(&tmp);
    goto bad;
  }
  free(n->pending_members);
  n->pending_members = list;
  n->npending_members = k;
  n->succ_at_join = tmp.ft.succ[0];
  n->ring.ft.pred = tmp.ft.pred; /* the range we take: (pred, self] */
  n->ring.ft.has_pred = true;
  ring_close(&tmp);
  LOG_INFO("joining a ring of %zu: pulling keys from %s", k,
           n->succ_at_join.addr);
  n->transfer_attempts = 0;
  transfer_page(n, NULL);
  return;
bad:
  free(list);
  fail_join(n, "the supernode's member list is unusable: %s", why);
}

/* Join: the first one takes the lock; the lock holder's next ones renew
 * its lease. */
static void join_call(struct node *n, rpc_done_cb cb)
{
  Chord__V1__JoinRequest req = CHORD__V1__JOIN_REQUEST__INIT;
  Chord__V1__NodeInfo me;
  nodeinfo_from_peer(&me, &n->self);
  req.node = &me;
  call(n, n->o.supernode, sn_method("Join"), &req.base,
       &chord__v1__join_response__descriptor, cb, n);
}

static void join_send(struct node *n)
{
  join_call(n, on_join);
}

void node_join_start(struct node *n)
{
  n->state = NODE_JOINING;
  n->join_attempts = 0;
  n->join_started_ms = node_now_ms();
  join_send(n);
}

/* Pulling keys from the successor: pages, then the release. */
struct pull {
  struct job j;
  struct store_entry **entries;
  size_t n;
  struct chord_id *deleted;
  size_t ndeleted;
  bool more, release;
  uint8_t last[CHORD_ID_BYTES];
  int rc; /* the first store failure */
};

static void pull_work(struct job *j)
{
  struct pull *p = (struct pull *)j;
  for (size_t i = 0; i < p->n && !p->rc; i++) {
    int rc = store_put(j->n->store, p->entries[i], STORE_PUT_IF_NEWER);
    if (rc && rc != CHORD_EEXIST) /* EEXIST: ours is newer */
      p->rc = rc;
  }
  for (size_t i = 0; i < p->ndeleted && !p->rc; i++) {
    int rc = store_del(j->n->store, &p->deleted[i]);
    if (rc && rc != CHORD_ENOTFOUND)
      p->rc = rc;
  }
}

static void on_transfer_retry(uv_timer_t *t);

static void pull_done(struct job *j)
{
  struct pull *p = (struct pull *)j;
  struct node *n = j->n;
  bool more = p->more, release = p->release;
  int rc = p->rc;
  uint8_t last[CHORD_ID_BYTES];
  memcpy(last, p->last, sizeof(last));
  if (!rc)
    n->pulled += p->n;
  for (size_t i = 0; i < p->n; i++)
    store_entry_unref(p->entries[i]);
  free(p->entries);
  free(p->deleted);
  free(p);
  if (n->d.stopping)
    return;
  if (rc && !release) {
    /* The page did not land: ask for the same page again. */
    if (++n->transfer_attempts > 5) {
      fail_join(n, "cannot store the keys taken over from %s: %s",
                n->succ_at_join.addr, chord_strerror(rc));
      return;
    }
    LOG_WARN("storing keys from %s failed (%s); retrying",
             n->succ_at_join.addr, chord_strerror(rc));
    timer_once(n, backoff_ms(n->transfer_attempts + 2), on_transfer_retry);
    return;
  }
  if (rc)
    LOG_ERROR("storing the last changes handed over by %s failed (%s): "
              "some of them are lost",
              n->succ_at_join.addr, chord_strerror(rc));
  if (!release) {
    transfer_page(n, more ? last : NULL);
    return;
  }
  /* The range is ours: install the ring, serve what was parked, tell the
   * others. */
  node_install(n, n->pending_members, n->npending_members);
  n->park_own = false;
  n->state = NODE_JOINED;
  LOG_INFO("took over %zu keys from %s", n->pulled, n->succ_at_join.addr);
  node_svc_unpark(n);
  broadcast(n, n->ring.members, n->ring.nmembers, &n->succ_at_join,
            post_join);
}

static void on_transfer(struct rpc_result *r, void *ud)
{
  struct node *n = ud;
  bool release = n->releasing;
  if (n->d.stopping)
    return;
  if (r->status.code != GRPC_STATUS_OK) {
    if (++n->transfer_attempts > 5) {
      fail_join(n, "cannot take keys over from %s: %s", n->succ_at_join.addr,
                r->status.message);
      return;
    }
    LOG_WARN("key transfer from %s failed (%s); retrying",
             n->succ_at_join.addr, r->status.message);
    timer_once(n, backoff_ms(n->transfer_attempts + 2), on_transfer_retry);
    return;
  }
  const Chord__V1__TransferKeysResponse *tr =
      (const Chord__V1__TransferKeysResponse *)r->resp;
  struct pull *p = calloc(1, sizeof(*p));
  const char *why = "out of memory";
  if (!p)
    goto bad;
  p->j.n = n;
  if (node_entries_from_files(n, tr->files, tr->n_files, &p->entries, &why))
    goto bad;
  p->n = tr->n_files;
  p->deleted = calloc(tr->n_deleted ? tr->n_deleted : 1, sizeof(*p->deleted));
  if (!p->deleted)
    goto bad;
  for (size_t i = 0; i < tr->n_deleted; i++)
    if (chord_id_from_bytes(&p->deleted[p->ndeleted], tr->deleted[i].data,
                            tr->deleted[i].len) == 0)
      p->ndeleted++;
  p->more = tr->more;
  p->release = release;
  if (tr->n_files)
    memcpy(p->last, tr->files[tr->n_files - 1]->key.data,
           tr->files[tr->n_files - 1]->key.len == CHORD_ID_BYTES
               ? CHORD_ID_BYTES
               : 0);
  n->transfer_attempts = 0;
  p->j.work = pull_work;
  p->j.done = pull_done;
  node_job_submit(n, &p->j);
  return;
bad:
  if (p) {
    for (size_t i = 0; p->entries && i < p->n; i++)
      store_entry_unref(p->entries[i]);
    free(p->entries);
    free(p->deleted);
    free(p);
  }
  fail_join(n, "bad key transfer from %s: %s", n->succ_at_join.addr, why);
}

static void transfer_send(struct node *n);

/* The supernode renews the lease of the lock holder that calls Join again
 * (the member list in the answer is not needed here). */
static void on_renew(struct rpc_result *r, void *ud)
{
  struct node *n = ud;
  if (n->d.stopping)
    return;
  if (r->status.code == GRPC_STATUS_OK) {
    n->lease_at = node_now_ms();
    LOG_DEBUG("join lease renewed");
  } else {
    LOG_WARN("could not renew the join lease (%s); continuing",
             r->status.message);
    n->lease_at = node_now_ms(); /* do not ask again before the next half */
  }
  transfer_send(n);
}

static void transfer_send(struct node *n)
{
  if (n->lease_ms && node_now_ms() - n->lease_at > n->lease_ms / 2) {
    /* A long transfer: renew the lease before it runs out. */
    join_call(n, on_renew);
    return;
  }
  Chord__V1__TransferKeysRequest req = CHORD__V1__TRANSFER_KEYS_REQUEST__INIT;
  Chord__V1__NodeInfo me;
  nodeinfo_from_peer(&me, &n->self);
  req.requester = &me;
  req.from.data = n->ring.ft.pred.id.b;
  req.from.len = CHORD_ID_BYTES;
  req.to.data = n->self.id.b;
  req.to.len = CHORD_ID_BYTES;
  if (n->have_after) {
    req.after.data = n->transfer_after;
    req.after.len = CHORD_ID_BYTES;
  }
  req.max_bytes = n->o.page_bytes;
  req.release = n->releasing;
  if (n->releasing)
    n->park_own = true; /* hold our range until the changes are in */
  call(n, n->succ_at_join.addr, node_method("TransferKeys"), &req.base,
       &chord__v1__transfer_keys_response__descriptor, on_transfer, n);
}

static void on_transfer_retry(uv_timer_t *t)
{
  transfer_send(t->data);
}

/* Asks for the page after `after` (NULL: the release, or the first page
 * when nothing was pulled yet). */
static void transfer_page(struct node *n, const uint8_t *after)
{
  if (after) {
    memcpy(n->transfer_after, after, CHORD_ID_BYTES);
    n->have_after = true;
    n->releasing = false;
  } else if (!n->transfer_started) {
    n->transfer_started = true;
    n->have_after = false;
    n->releasing = false;
  } else {
    n->releasing = true;
  }
  transfer_send(n);
}

/* Telling every member the new list, in parallel, each with a deadline. */
struct bcast {
  struct node *n;
  size_t left;
  void (*done)(struct node *n);
};

static void on_update_dht(struct rpc_result *r, void *ud)
{
  struct bcast *b = ud;
  (void)r;
  if (r->status.code != GRPC_STATUS_OK)
    LOG_WARN("UpdateDHT: %s", r->status.message);
  if (--b->left == 0) {
    struct node *n = b->n;
    void (*done)(struct node *) = b->done;
    free(b);
    if (!n->d.stopping || n->state == NODE_LEAVING)
      done(n);
  }
}

static void broadcast(struct node *n, const struct chord_peer *members,
                      size_t k, const struct chord_peer *skip,
                      void (*done)(struct node *n))
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
  const struct chord_peer *all = n->ring.members;
  size_t nall = n->ring.nmembers;
  for (size_t i = 0; i < nall; i++) {
    if (chord_id_eq(&all[i].id, &n->self.id))
      continue;
    if (skip && chord_id_eq(&all[i].id, &skip->id) &&
        n->state != NODE_LEAVING)
      continue; /* it learned of us at the hand-off */
    b->left++;
    call(n, all[i].addr, node_method("UpdateDHT"), &req.base,
         &chord__v1__update_dhtresponse__descriptor, on_update_dht, b);
  }
  free(infos);
  free(ptrs);
  struct rpc_result none;
  memset(&none, 0, sizeof(none));
  on_update_dht(&none, b);
}

static void heartbeat_send(struct node *n);

static void on_heartbeat_timer(uv_timer_t *t)
{
  heartbeat_send(t->data);
}

static void on_heartbeat(struct rpc_result *r, void *ud)
{
  struct node *n = ud;
  if (n->d.stopping || n->state != NODE_JOINED)
    return;
  if (r->status.code == GRPC_STATUS_OK) {
    const Chord__V1__HeartbeatResponse *hr =
        (const Chord__V1__HeartbeatResponse *)r->resp;
    if (n->hb_failing)
      LOG_INFO("supernode %s reachable again%s", n->o.supernode,
               hr->known ? "" : " (it had forgotten us: re-registered)");
    n->hb_failing = false;
    if (hr->interval_ms >= 100 && hr->interval_ms <= 60000)
      n->hb_interval_ms = hr->interval_ms;
  } else if (!n->hb_failing) {
    n->hb_failing = true;
    LOG_WARN("heartbeat to %s failed (%s: %s); still serving, retrying",
             n->o.supernode, rpc_status_name(r->status.code),
             r->status.message);
  }
  timer_once(n, n->hb_interval_ms, on_heartbeat_timer);
}

static void heartbeat_send(struct node *n)
{
  Chord__V1__HeartbeatRequest req = CHORD__V1__HEARTBEAT_REQUEST__INIT;
  Chord__V1__NodeInfo me;
  nodeinfo_from_peer(&me, &n->self);
  req.node = &me;
  struct rpc_req r = {.target = n->o.supernode,
                      .method = sn_method("Heartbeat"),
                      .msg = &req.base,
                      .resp_desc = &chord__v1__heartbeat_response__descriptor,
                      .deadline = rpc_deadline_in((int64_t)n->hb_interval_ms)};
  if (rpc_client_call(n->d.client, &r, on_heartbeat, n))
    timer_once(n, n->hb_interval_ms, on_heartbeat_timer);
}

static void on_post_join(struct rpc_result *r, void *ud)
{
  struct node *n = ud;
  if (n->d.stopping)
    return;
  if (r->status.code == GRPC_STATUS_FAILED_PRECONDITION) {
    /* The lease ran out: our keys stay, the supernode wants a new join. */
    LOG_WARN("PostJoin refused (%s); joining again", r->status.message);
    n->transfer_started = false;
    n->pulled = 0;
    node_join_start(n);
    return;
  }
  if (r->status.code != GRPC_STATUS_OK) {
    if (++n->join_attempts >= n->o.join_retries) {
      fail_join(n, "PostJoin failed: %s (%s)", r->status.message,
                rpc_status_name(r->status.code));
      return;
    }
    timer_once(n, backoff_ms(n->join_attempts), on_join_retry);
    return;
  }
  n->state = NODE_JOINED;
  n->registered = true;
  n->d.serving = true;
  uint64_t took = node_now_ms() - n->join_started_ms;
  LOG_INFO("joined the ring: %zu members, pred %s, succ %s (%llu ms)",
           n->ring.nmembers, n->ring.ft.pred.addr, n->ring.ft.succ[0].addr,
           (unsigned long long)took);
  heartbeat_send(n);
}

static void post_join(struct node *n)
{
  Chord__V1__PostJoinRequest req = CHORD__V1__POST_JOIN_REQUEST__INIT;
  Chord__V1__NodeInfo me;
  if (n->state == NODE_JOINING)
    n->state = NODE_JOINED;
  nodeinfo_from_peer(&me, &n->self);
  req.node = &me;
  n->join_attempts = 0;
  call(n, n->o.supernode, sn_method("PostJoin"), &req.base,
       &chord__v1__post_join_response__descriptor, on_post_join, n);
}

/* ---- graceful leave ------------------------------------------------------ */

static void leave_push(struct node *n);

static void leave_finish(struct node *n)
{
  LOG_INFO("left the ring");
  uv_timer_stop(&n->hb_timer);
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
  Chord__V1__LeaveRequest req = CHORD__V1__LEAVE_REQUEST__INIT;
  Chord__V1__NodeInfo me;
  nodeinfo_from_peer(&me, &n->self);
  req.node = &me;
  call(n, n->o.supernode, sn_method("Leave"), &req.base,
       &chord__v1__leave_response__descriptor, on_leave, n);
}

/* One page of our range pushed to the successor with Replicate. */
struct push {
  struct job j;
  struct chord_id from, upto, after;
  bool has_after, final;
  struct chord_id *changed; /* final: the keys changed during the leave */
  size_t nchanged;
  struct xfer_batch batch;
  int rc;
};

static void push_free(struct push *p)
{
  xfer_batch_clear(&p->batch);
  free(p->changed);
  free(p);
}

/* Off the loop: the next page of our range, or the final changes. */
static void push_work(struct job *j)
{
  struct push *p = (struct push *)j;
  if (p->final)
    p->rc = xfer_collect_changes(j->n->store, p->changed, p->nchanged,
                                 &p->batch);
  else
    p->rc = xfer_collect_range(j->n->store, &p->from, &p->upto,
                               p->has_after ? &p->after : NULL,
                               j->n->o.page_bytes, &p->batch);
}

static void on_replicate(struct rpc_result *r, void *ud);

/* The hand-off cannot go on: our files stay here (the successor does not
 * have them all), and we leave the ring anyway, as asked. */
static void leave_handoff_failed(struct node *n, const char *why)
{
  LOG_ERROR("handing keys to %s failed (%s): its files stay only here",
            n->give.to.addr, why);
  n->park_own = false;
  node_svc_unpark(n);
  leave_tell_supernode(n);
}

static void push_send(struct node *n, struct push *p)
{
  Chord__V1__ReplicateRequest req = CHORD__V1__REPLICATE_REQUEST__INIT;
  Chord__V1__NodeInfo me;
  struct xfer_wire w;
  if (p->rc || xfer_wire_make(&p->batch, &w)) {
    const char *why = p->rc ? chord_strerror(p->rc) : "out of memory";
    push_free(p);
    leave_handoff_failed(n, why);
    return;
  }
  nodeinfo_from_peer(&me, &n->self);
  req.from = &me;
  req.n_files = p->batch.n;
  req.files = w.ptrs;
  req.n_deleted = p->batch.ndeleted;
  req.deleted = w.deleted;
  n->pushed += p->batch.n;
  call(n, n->give.to.addr, node_method("Replicate"), &req.base,
       &chord__v1__replicate_response__descriptor, on_replicate, p);
  xfer_wire_free(&w);
}

static void push_done(struct job *j)
{
  struct push *p = (struct push *)j;
  push_send(j->n, p);
}

static void leave_after_update(struct node *n)
{
  leave_tell_supernode(n);
}

static void on_replicate(struct rpc_result *r, void *ud)
{
  struct push *p = ud;
  struct node *n = p->j.n;
  bool final = p->final, more = p->batch.more;
  struct chord_id last;
  bool has_last = p->batch.n > 0;
  if (has_last)
    last = p->batch.entries[p->batch.n - 1]->key;
  push_free(p);
  if (r->status.code != GRPC_STATUS_OK) {
    leave_handoff_failed(n, r->status.message);
    return;
  }
  if (!final) {
    struct push *np = calloc(1, sizeof(*np));
    if (!np) {
      leave_tell_supernode(n);
      return;
    }
    np->j.n = n;
    np->from = n->give.from;
    np->upto = n->give.upto;
    if (more && has_last) {
      np->after = last;
      np->has_after = true;
    } else {
      /* Every page is across; now the changes made meanwhile, with our
       * range held still. */
      np->final = true;
      n->park_own = true;
      np->changed = n->give.changed.keys;
      np->nchanged = n->give.changed.n;
      n->give.changed.keys = NULL;
      n->give.changed.n = n->give.changed.cap = 0;
    }
    np->j.work = push_work;
    np->j.done = push_done;
    if (np->final && n->jobs) {
      /* Let writes under way land first; they are in the change list. */
      n->leave_final = np;
      return;
    }
    node_job_submit(n, &np->j);
    return;
  }
  /* Our successor has everything: it serves our range from now on, and
   * our copies go (a dir store would otherwise bring them back, deleted
   * or stale, when the node returns). */
  n->state = NODE_LEFT;
  n->park_own = false;
  LOG_INFO("handed %zu keys to %s", n->pushed, n->give.to.addr);
  node_drop_range(n, &n->give.from, &n->give.upto);
  node_svc_unpark(n);
  struct chord_peer *others =
      calloc(n->ring.nmembers ? n->ring.nmembers : 1, sizeof(*others));
  size_t k = 0;
  for (size_t i = 0; others && i < n->ring.nmembers; i++)
    if (!chord_id_eq(&n->ring.members[i].id, &n->self.id))
      others[k++] = n->ring.members[i];
  n->state = NODE_LEAVING; /* broadcast reaches the successor too */
  broadcast(n, others, k, NULL, leave_after_update);
  n->state = NODE_LEFT;
  free(others);
}

/* Called when store jobs drain: starts a deferred final push. */
void node_leave_jobs_drained(struct node *n)
{
  if (!n->leave_final || n->jobs)
    return;
  struct push *p = n->leave_final;
  n->leave_final = NULL;
  node_job_submit(n, &p->j);
}

static void leave_push(struct node *n)
{
  struct push *p = calloc(1, sizeof(*p));
  if (!p) {
    leave_tell_supernode(n);
    return;
  }
  p->j.n = n;
  p->from = n->give.from;
  p->upto = n->give.upto;
  p->j.work = push_work;
  p->j.done = push_done;
  node_job_submit(n, &p->j);
}

void node_leave_start(struct node *n)
{
  if (n->state != NODE_JOINED || n->ring.nmembers <= 1) {
    /* Not a member, or alone: nobody to hand anything to. */
    if (n->state == NODE_JOINED)
      leave_tell_supernode(n);
    else
      leave_finish(n);
    return;
  }
  LOG_INFO("leaving: handing keys to %s", n->ring.ft.succ[0].addr);
  uv_timer_stop(&n->hb_timer);
  n->state = NODE_LEAVING;
  node_handoff_clear(&n->give);
  n->give.active = true;
  n->give.to = n->ring.ft.succ[0];
  n->give.from = n->ring.ft.pred.id;
  n->give.upto = n->self.id;
  n->give.last_ms = node_now_ms();
  n->pushed = 0;
  leave_push(n);
}
