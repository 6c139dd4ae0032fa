/* SPDX-License-Identifier: MIT */
/* Handing a range back to a predecessor that owns it now: pages of
 * entries collected on store jobs, sent with Replicate (the taker keeps
 * whatever it has that is newer), and our copies dropped at the end. */
#include "node/handback.h"

#include <stddef.h>
#include <stdlib.h>

#include "chord/v1/node.pb-c.h"
#include "common/log.h"
#include "common/nodeinfo.h"
#include "node/node.h"
#include "node/peer.h"
#include "node/transfer.h"

struct hb_page {
  struct job j;
  struct chord_id from, upto, after;
  bool has_after;
  struct xfer_batch batch;
  int rc;
};

static void page_free(struct hb_page *p)
{
  xfer_batch_clear(&p->batch);
  free(p);
}

static void page_work(struct job *j)
{
  struct hb_page *p = (struct hb_page *)j;
  p->rc = xfer_collect_range(j->n->store, &p->from, &p->upto,
                             p->has_after ? &p->after : NULL,
                             j->n->o.page_bytes, &p->batch);
}

static void finish(struct node *n, const char *why)
{
  struct handback *hb = &n->handback;
  if (why) {
    LOG_WARN("handing keys back to %s failed (%s): they stay here", hb->to.addr,
             why);
  } else {
    LOG_INFO("handed %zu keys back to %s, our new predecessor", hb->sent,
             hb->to.addr);
    if (handoff_drop_range(&n->jobs, n, &hb->from, &hb->to.id))
      LOG_WARN("out of memory: handed-back entries stay in the store");
  }
  hb->active = false;
}

static void page_submit(struct node *n);

static void on_replicated(struct rpc_result *r, void *ud)
{
  struct hb_page *p = ud;
  struct node *n = p->j.n;
  struct handback *hb = &n->handback;
  bool more = p->batch.more && p->batch.n > 0;
  if (more) {
    hb->after = p->batch.entries[p->batch.n - 1]->key;
    hb->has_after = true;
  }
  page_free(p);
  if (n->d.stopping) {
    hb->active = false;
    return;
  }
  if (r->status.code != GRPC_STATUS_OK) {
    finish(n, r->status.message);
    return;
  }
  if (more)
    page_submit(n);
  else
    finish(n, NULL);
}

static void page_send(struct job *j)
{
  struct hb_page *p = (struct hb_page *)j;
  struct node *n = j->n;
  struct handback *hb = &n->handback;
  Chord__V1__ReplicateRequest req = CHORD__V1__REPLICATE_REQUEST__INIT;
  Chord__V1__NodeInfo me;
  struct xfer_wire w;
  if (p->rc || xfer_wire_make(&p->batch, &w)) {
    page_free(p);
    finish(n, "cannot read the range");
    return;
  }
  if (p->batch.n == 0) {
    xfer_wire_free(&w);
    page_free(p);
    finish(n, NULL);
    return;
  }
  nodeinfo_from_peer(&me, &n->self);
  req.from = &me;
  req.n_files = p->batch.n;
  req.files = w.ptrs;
  hb->sent += p->batch.n;
  peer_call(n->d.client, hb->to.addr, PEER_REPLICATE, &req.base,
            n->o.rpc_timeout_ms, on_replicated, p);
  xfer_wire_free(&w);
}

static void page_submit(struct node *n)
{
  struct handback *hb = &n->handback;
  struct hb_page *p = calloc(1, sizeof(*p));
  if (!p) {
    finish(n, "out of memory");
    return;
  }
  p->j.n = n;
  p->j.work = page_work;
  p->j.done = page_send;
  p->from = hb->from;
  p->upto = hb->to.id;
  p->after = hb->after;
  p->has_after = hb->has_after;
  jobs_submit(&n->jobs, &p->j);
}

/* Writes under way land first, so that the pages hold them. */
static void on_idle(struct jobs_waiter *w)
{
  struct node *n =
      (struct node *)((char *)w - offsetof(struct node, handback.wait));
  page_submit(n);
}

void handback_start(struct node *n, const struct chord_id *from,
                    const struct chord_peer *to)
{
  struct handback *hb = &n->handback;
  if (hb->active)
    return;
  hb->active = true;
  hb->to = *to;
  hb->from = *from;
  hb->has_after = false;
  hb->sent = 0;
  jobs_when_idle(&n->jobs, &hb->wait, on_idle);
}
