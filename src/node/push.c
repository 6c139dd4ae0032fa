/* SPDX-License-Identifier: MIT */
/* The leaver's side of a hand-off: pages of (pred, self] to the successor
 * with Replicate, then the keys changed meanwhile, read once the writes
 * under way have landed and new ones are held. */
#include "node/push.h"

#include <stddef.h>
#include <stdlib.h>

#include "chord/v1/node.pb-c.h"
#include "common/err.h"
#include "common/log.h"
#include "common/nodeinfo.h"
#include "node/node.h"
#include "node/peer.h"
#include "node/transfer.h"

/* One page of our range pushed to the successor. */
struct push_page {
  struct job j;
  struct chord_id from, upto, after;
  bool has_after, final;
  struct chord_id *changed; /* final: the keys changed during the leave */
  size_t nchanged;
  struct xfer_batch batch;
  int rc;
};

static void page_free(struct push_page *p)
{
  xfer_batch_clear(&p->batch);
  free(p->changed);
  free(p);
}

/* Off the loop: the next page of our range, or the final changes. */
static void page_work(struct job *j)
{
  struct push_page *p = (struct push_page *)j;
  if (p->final)
    p->rc =
        xfer_collect_changes(j->n->store, p->changed, p->nchanged, &p->batch);
  else
    p->rc = xfer_collect_range(j->n->store, &p->from, &p->upto,
                               p->has_after ? &p->after : NULL,
                               j->n->o.page_bytes, &p->batch);
}

/* The hand-off cannot go on: our files stay here (the successor does not
 * have them all); the caller leaves anyway, as asked. */
static void fail(struct node *n, const char *why)
{
  LOG_ERROR("handing keys to %s failed (%s): its files stay only here",
            n->give.to.addr, why);
  handoff_unpark(&n->give);
  n->push.done(n, false, why);
}

/* Every page and the changes are across: the successor serves our range
 * from now on and our copies go (a dir store would otherwise bring them
 * back, deleted or stale, when the node returns). */
static void succeed(struct node *n)
{
  node_set_state(n, NODE_LEFT);
  LOG_INFO("handed %zu keys to %s", n->push.pushed, n->give.to.addr);
  if (handoff_drop_range(&n->jobs, n, &n->give.from, &n->give.upto))
    LOG_WARN("out of memory: handed-over entries stay in the store");
  handoff_unpark(&n->give);
  n->push.done(n, true, NULL);
}

static void on_replicated(struct rpc_result *r, void *ud);

static void page_send(struct job *j)
{
  struct push_page *p = (struct push_page *)j;
  struct node *n = j->n;
  Chord__V1__ReplicateRequest req = CHORD__V1__REPLICATE_REQUEST__INIT;
  Chord__V1__NodeInfo me;
  struct xfer_wire w;
  if (p->rc || xfer_wire_make(&p->batch, &w)) {
    const char *why = p->rc ? chord_strerror(p->rc) : "out of memory";
    page_free(p);
    fail(n, why);
    return;
  }
  nodeinfo_from_peer(&me, &n->self);
  req.from = &me;
  req.n_files = p->batch.n;
  req.files = w.ptrs;
  req.n_deleted = p->batch.ndeleted;
  req.deleted = w.deleted;
  n->push.pushed += p->batch.n;
  peer_call(n->d.client, n->give.to.addr, PEER_REPLICATE, &req.base,
            n->o.rpc_timeout_ms, on_replicated, p);
  xfer_wire_free(&w);
}

static struct push_page *page_new(struct node *n)
{
  struct push_page *p = calloc(1, sizeof(*p));
  if (!p)
    return NULL;
  p->j.n = n;
  p->from = n->give.from;
  p->upto = n->give.upto;
  p->j.work = page_work;
  p->j.done = page_send;
  return p;
}

/* Runs the final page once the writes under way have landed. */
static void on_idle(struct jobs_waiter *w)
{
  struct node *n =
      (struct node *)((char *)w - offsetof(struct node, push.wait));
  struct push_page *p = n->push.final;
  n->push.final = NULL;
  if (p)
    jobs_submit(&n->jobs, &p->j);
}

static void on_replicated(struct rpc_result *r, void *ud)
{
  struct push_page *p = ud;
  struct node *n = p->j.n;
  bool final = p->final, more = p->batch.more;
  struct chord_id last;
  bool has_last = p->batch.n > 0;
  if (has_last)
    last = p->batch.entries[p->batch.n - 1]->key;
  page_free(p);
  if (r->status.code != GRPC_STATUS_OK) {
    fail(n, r->status.message);
    return;
  }
  if (final) {
    succeed(n);
    return;
  }
  struct push_page *np = page_new(n);
  if (!np) {
    fail(n, "out of memory");
    return;
  }
  if (more && has_last) {
    np->after = last;
    np->has_after = true;
    jobs_submit(&n->jobs, &np->j);
    return;
  }
  /* Every page is across; now the changes made meanwhile, with our range
   * held still and the writes under way landed first (they are in the
   * change list). */
  np->final = true;
  n->give.hold = true;
  handoff_take_changes(&n->give, &np->changed, &np->nchanged);
  n->push.final = np;
  jobs_when_idle(&n->jobs, &n->push.wait, on_idle);
}

/* Starts handing our range to our first successor. Loop thread. */
void push_start(struct node *n, push_done_cb done)
{
  n->push.done = done;
  n->push.pushed = 0;
  handoff_begin(&n->give, &n->ring.ft.succ[0], &n->ring.ft.pred.id, &n->self.id,
                node_now_ms());
  LOG_INFO("leaving: handing keys to %s", n->give.to.addr);
  struct push_page *p = page_new(n);
  if (!p) {
    fail(n, "out of memory");
    return;
  }
  jobs_submit(&n->jobs, &p->j);
}

void push_close(struct push *p)
{
  if (p->final)
    page_free(p->final);
  p->final = NULL;
}
