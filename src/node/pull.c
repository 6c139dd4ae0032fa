/* SPDX-License-Identifier: MIT */
/* The joiner's side of a hand-off: pages of (pred, self] from the
 * successor, stored as they come, then the release, after which the range
 * is ours. A failed page is asked for again a few times. */
#include "node/pull.h"

#include <stdlib.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "chord/v1/supernode.pb-c.h"
#include "common/err.h"
#include "common/log.h"
#include "common/nodeinfo.h"
#include "node/node.h"
#include "node/peer.h"
#include "node/transfer.h"

#define PULL_RETRIES 5

void pull_init(struct pull *p, uv_loop_t *loop)
{
  uv_timer_init(loop, &p->timer);
}

void pull_close(struct pull *p)
{
  free(p->members);
  p->members = NULL;
  p->nmembers = 0;
}

static struct node *node_of(uv_timer_t *t)
{
  return t->data;
}

static void send_next(struct node *n);

static void on_retry(uv_timer_t *t)
{
  send_next(node_of(t));
}

/* Counts a failure; stops the node after PULL_RETRIES in a row, else asks
 * again after a pause. */
static void retry_or_fail(struct node *n, const char *what, const char *why)
{
  struct pull *p = &n->pull;
  if (++p->attempts > PULL_RETRIES) {
    node_fail(n, "%s from %s failed %u times: %s", what, p->succ.addr,
              p->attempts, why);
    return;
  }
  LOG_WARN("%s from %s failed (%s); retrying", what, p->succ.addr, why);
  uv_timer_stop(&p->timer);
  uv_timer_start(&p->timer, on_retry, node_backoff_ms(p->attempts + 2), 0);
}

/* A received page (or the release), stored on a job. */
struct page_in {
  struct job j;
  struct xfer_batch batch;
  bool release;
  int rc;
};

static void page_work(struct job *j)
{
  struct page_in *pi = (struct page_in *)j;
  pi->rc = xfer_batch_apply(j->n->store, &pi->batch);
}

/* The range is ours: install the ring, serve what was parked, go on. */
static void finish(struct node *n)
{
  struct pull *p = &n->pull;
  node_install(n, p->members, p->nmembers);
  p->hold = false;
  node_set_state(n, NODE_JOINED);
  LOG_INFO("took over %zu keys from %s", p->pulled, p->succ.addr);
  handoff_unpark(&n->give);
  p->done(n);
}

static void page_done(struct job *j)
{
  struct page_in *pi = (struct page_in *)j;
  struct node *n = j->n;
  struct pull *p = &n->pull;
  bool release = pi->release, more = pi->batch.more;
  int rc = pi->rc;
  if (!rc) {
    p->pulled += pi->batch.n;
    if (pi->batch.n) {
      memcpy(p->after, pi->batch.entries[pi->batch.n - 1]->key.b,
             CHORD_ID_BYTES);
    }
  }
  bool any = pi->batch.n > 0;
  xfer_batch_clear(&pi->batch);
  free(pi);
  if (n->d.stopping)
    return;
  if (rc && !release) {
    /* The page did not land: ask for the same page again. */
    retry_or_fail(n, "storing keys", chord_strerror(rc));
    return;
  }
  if (rc)
    LOG_ERROR("storing the last changes handed over by %s failed (%s): "
              "some of them are lost",
              p->succ.addr, chord_strerror(rc));
  if (release) {
    finish(n);
    return;
  }
  if (more && any) {
    p->have_after = true;
    p->releasing = false;
  } else {
    p->releasing = true; /* every page is in: now the changes */
  }
  send_next(n);
}

static void on_page(struct rpc_result *r, void *ud)
{
  struct node *n = ud;
  struct pull *p = &n->pull;
  const char *why;
  uint64_t maxv = 0;
  if (n->d.stopping)
    return;
  if (r->status.code != GRPC_STATUS_OK) {
    retry_or_fail(n, "key transfer", r->status.message);
    return;
  }
  const Chord__V1__TransferKeysResponse *tr =
      (const Chord__V1__TransferKeysResponse *)r->resp;
  struct page_in *pi = calloc(1, sizeof(*pi));
  if (!pi) {
    node_fail(n, "bad key transfer from %s: out of memory", p->succ.addr);
    return;
  }
  if (xfer_batch_from_wire(&pi->batch, tr->files, tr->n_files, tr->deleted,
                           tr->n_deleted, n->o.max_file, &maxv, &why)) {
    free(pi);
    node_fail(n, "bad key transfer from %s: %s", p->succ.addr, why);
    return;
  }
  node_version_seen(n, maxv);
  pi->batch.more = tr->more;
  pi->release = p->releasing;
  p->attempts = 0;
  pi->j.n = n;
  pi->j.work = page_work;
  pi->j.done = page_done;
  jobs_submit(&n->jobs, &pi->j);
}

/* The supernode renews the lease of the lock holder that calls Join again
 * (the member list in the answer is not needed here). */
static void on_renew(struct rpc_result *r, void *ud)
{
  struct node *n = ud;
  if (n->d.stopping)
    return;
  if (r->status.code == GRPC_STATUS_OK)
    LOG_DEBUG("join lease renewed");
  else
    LOG_WARN("could not renew the join lease (%s); continuing",
             r->status.message);
  n->pull.lease_at = node_now_ms(); /* not again before the next half */
  send_next(n);
}

static void renew_lease(struct node *n)
{
  Chord__V1__JoinRequest req = CHORD__V1__JOIN_REQUEST__INIT;
  Chord__V1__NodeInfo me;
  nodeinfo_from_peer(&me, &n->self);
  req.node = &me;
  req.secret = (ProtobufCBinaryData){sizeof(n->secret), n->secret};
  peer_call(n->d.client, n->o.supernode, PEER_SN_JOIN, &req.base,
            n->o.rpc_timeout_ms, on_renew, n);
}

/* Asks for the next page, or for the release once every page is in. */
static void send_next(struct node *n)
{
  struct pull *p = &n->pull;
  if (p->lease_ms && node_now_ms() - p->lease_at > p->lease_ms / 2) {
    /* A long transfer: renew the lease before it runs out. */
    renew_lease(n);
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
  if (p->have_after && !p->releasing) {
    req.after.data = p->after;
    req.after.len = CHORD_ID_BYTES;
  }
  req.max_bytes = n->o.page_bytes;
  req.release = p->releasing;
  if (p->releasing)
    p->hold = true; /* hold our range until the changes are in */
  peer_call(n->d.client, p->succ.addr, PEER_TRANSFER_KEYS, &req.base,
            n->o.rpc_timeout_ms, on_page, n);
}

/* Works out our neighbours in members, takes (pred, self] as our range
 * and asks the successor for its first page. Loop thread. */
void pull_start(struct node *n, struct chord_peer *members, size_t k,
                uint64_t lease_ms, pull_done_cb done)
{
  struct pull *p = &n->pull;
  struct ring tmp;
  ring_init(&tmp, &n->self, n->o.succ_len);
  if (ring_install(&tmp, &n->self, members, k)) {
    ring_close(&tmp);
    free(members);
    node_fail(n, "out of memory working out the ring");
    return;
  }
  pull_close(p);
  p->members = members;
  p->nmembers = k;
  p->succ = tmp.ft.succ[0];
  ring_set_pred(&n->ring, &tmp.ft.pred); /* the range we take: (pred, self] */
  ring_close(&tmp);
  p->lease_ms = lease_ms;
  p->lease_at = node_now_ms();
  p->done = done;
  p->attempts = 0;
  p->timer.data = n;
  LOG_INFO("joining a ring of %zu: pulling keys from %s", k, p->succ.addr);
  p->have_after = false;
  p->releasing = false;
  p->pulled = 0;
  send_next(n);
}
