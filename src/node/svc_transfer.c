/* SPDX-License-Identifier: MIT */
/* Ranges handed over between neighbours: TransferKeys gives a joiner its
 * range page by page and then releases it with the changes made meanwhile;
 * Replicate takes the files a leaving predecessor pushes. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "common/err.h"
#include "common/log.h"
#include "common/nodeinfo.h"
#include "node/node.h"
#include "node/svc.h"
#include "node/vouch.h"
#include "node/transfer.h"

struct page {
  struct job j;
  struct rpc_srv_call *call;
  struct chord_id from, upto, after;
  bool has_after;
  uint64_t max_bytes;
  struct chord_id *changed; /* release: the keys changed during the hand-off */
  size_t nchanged;
  struct xfer_batch batch; /* what goes back */
  int rc;
};

static void page_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct page *p = ud;
  (void)call;
  p->call = NULL;
}

/* Off the loop: the next page of the range. */
static void page_work(struct job *j)
{
  struct page *p = (struct page *)j;
  p->rc = xfer_collect_range(j->n->store, &p->from, &p->upto,
                             p->has_after ? &p->after : NULL, p->max_bytes,
                             &p->batch);
}

/* Off the loop: the current state of every changed key. */
static void release_work(struct job *j)
{
  struct page *p = (struct page *)j;
  p->rc = xfer_collect_changes(j->n->store, p->changed, p->nchanged, &p->batch);
}

static void page_free(struct page *p)
{
  xfer_batch_clear(&p->batch);
  free(p->changed);
  free(p);
}

static void page_reply(struct page *p)
{
  Chord__V1__TransferKeysResponse resp =
      CHORD__V1__TRANSFER_KEYS_RESPONSE__INIT;
  struct xfer_wire w;
  if (xfer_wire_make(&p->batch, &w)) {
    rpc_srv_reply_error(p->call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                        "out of memory");
    return;
  }
  resp.n_files = p->batch.n;
  resp.files = w.ptrs;
  resp.more = p->batch.more;
  resp.n_deleted = p->batch.ndeleted;
  resp.deleted = w.deleted;
  rpc_srv_reply(p->call, &resp.base);
  xfer_wire_free(&w);
}

static void page_done(struct job *j)
{
  struct page *p = (struct page *)j;
  if (p->call) {
    rpc_srv_on_cancel(p->call, NULL, NULL);
    if (p->rc)
      rpc_srv_reply_error(p->call, rpc_err_to_status(p->rc),
                          "cannot read the range: %s", chord_strerror(p->rc));
    else
      page_reply(p);
  }
  page_free(p);
}

static void release_done(struct job *j)
{
  struct page *p = (struct page *)j;
  struct node *n = j->n;
  struct chord_peer to = n->give.to;
  struct chord_id from = n->give.from, upto = n->give.upto;
  enum handoff_touch what;
  if (p->rc || !p->call) {
    /* The joiner gets no changes (they could not be read, or it went
     * away): keep the range and the hand-off, changes included, so that
     * its retry of the release finds them. */
    for (size_t i = 0; i < p->nchanged; i++)
      if (handoff_touch(&n->give, &p->changed[i], node_now_ms(), false, &what))
        node_touch(n, &p->changed[i]); /* out of memory: stops loudly */
    page_done(j); /* answers the error, if anyone still waits */
    LOG_WARN("release of the range up to %s failed: the range stays here",
             to.addr);
    handoff_unpark(&n->give);
    return;
  }
  page_done(j); /* answers the joiner with the changes */
  /* From now on the range is the joiner's: it is our predecessor, and
   * our old predecessor comes before it. */
  struct chord_peer old_pred = n->ring.ft.pred, old_succ = n->ring.ft.succ[0];
  ring_set_pred2(&n->ring,
                 chord_id_eq(&old_pred.id, &n->self.id) ? NULL : &old_pred);
  ring_set_pred(&n->ring, &to);
  ring_mark_alive(&n->ring, &to.id);
  /* A joiner on the address of a node that died: dial it afresh. */
  rpc_client_forget(n->d.client, to.addr);
  node_ring_changed(n, &old_pred, &old_succ);
  handoff_clear(&n->give);
  /* With replicas we stay the joiner's first one: our copies stay, and
   * repair's hand-off drops what we no longer replicate. */
  if (n->o.replicas <= 1 && handoff_drop_range(&n->jobs, n, &from, &upto))
    LOG_WARN("out of memory: handed-over entries stay in the store");
  LOG_INFO("handed the range up to %s over to it", to.addr);
  handoff_unpark(&n->give);
}

/* Runs a release that waited for the store jobs started before it. */
static void on_release_idle(struct jobs_waiter *w)
{
  struct node *n =
      (struct node *)((char *)w - offsetof(struct node, svc.release_wait));
  struct rpc_srv_call *c = n->svc.release_call;
  const ProtobufCMessage *r = n->svc.release_req;
  if (!c)
    return;
  n->svc.release_call = NULL;
  n->svc.release_req = NULL;
  rpc_srv_on_cancel(c, NULL, NULL);
  svc_on_transfer_keys(c, r, n);
}

static void release_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct node *n = ud;
  (void)call;
  n->svc.release_call = NULL;
  n->svc.release_req = NULL;
  jobs_cancel_wait(&n->jobs, &n->svc.release_wait);
  n->give.hold = false;
}

/* Checks a TransferKeys request: the requester, the 20-byte keys, and that
 * this node is a settled member. Answers the call and returns false when
 * the request cannot be served. */
static bool transfer_request_ok(struct node *n, struct rpc_srv_call *call,
                                const Chord__V1__TransferKeysRequest *r,
                                struct chord_peer *to, struct chord_id *from,
                                struct chord_id *upto)
{
  const char *why;
  if (nodeinfo_to_peer(r->requester, to, &why)) {
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT, "%s", why);
    return false;
  }
  if (chord_id_from_bytes(from, r->from.data, r->from.len) ||
      chord_id_from_bytes(upto, r->to.data, r->to.len) ||
      (r->after.len && r->after.len != CHORD_ID_BYTES)) {
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT,
                        "from, to and after must be 20-byte keys");
    return false;
  }
  if (n->state != NODE_JOINED) {
    rpc_srv_reply_error_detail(call, GRPC_STATUS_UNAVAILABLE,
                               RPC_DETAIL_NOT_MEMBER,
                               "this node is not a settled member; retry");
    return false;
  }
  /* Only a joiner between our predecessor and us takes a range from us,
   * and only (at most) the part of ours up to its own id. Alone, we own
   * the whole ring, and a first joiner may take any part of it. */
  const struct finger_table *ft = &n->ring.ft;
  bool alone = !ft->has_pred || chord_id_cmp(&ft->pred.id, &n->self.id) == 0 ||
               ring_is_dead(&n->ring, &ft->pred.id);
  why = NULL;
  if (chord_id_cmp(upto, &to->id) != 0)
    why = "a joiner takes the range that ends at its own id";
  else if (chord_id_cmp(&to->id, &n->self.id) == 0)
    why = "the requester has this node's id";
  else if (!alone && !chord_id_in_oo(&to->id, &ft->pred.id, &n->self.id))
    why = "the requester is not between this node's predecessor and it";
  else if (!alone && chord_id_cmp(from, &ft->pred.id) != 0 &&
           !chord_id_in_oo(from, &ft->pred.id, &to->id))
    why = "the range reaches past this node's predecessor";
  if (why) {
    rpc_srv_reply_error(call, GRPC_STATUS_PERMISSION_DENIED, "%s", why);
    return false;
  }
  return true;
}

static void transfer_go(struct node *n, struct rpc_srv_call *call,
                        const ProtobufCMessage *req, bool same);

/* A new joiner answered (or not) as itself. */
static void transfer_vouched(struct node *n, struct rpc_srv_call *call,
                             const ProtobufCMessage *req, bool ok,
                             const struct chord_peer *bad)
{
  if (!ok) {
    rpc_srv_reply_error(call, GRPC_STATUS_FAILED_PRECONDITION,
                        "%s does not answer as itself: no keys for it",
                        bad->addr);
    return;
  }
  /* The ring may have moved while it was asked: check again. */
  struct chord_peer to;
  struct chord_id from, upto;
  const Chord__V1__TransferKeysRequest *r =
      (const Chord__V1__TransferKeysRequest *)req;
  if (!transfer_request_ok(n, call, r, &to, &from, &upto))
    return;
  transfer_go(n, call, req, handoff_is(&n->give, &to, &from, &upto));
}

/* A page of the range to a joiner, or (release) the changes made since
 * the pages began, after which the range is the joiner's. */
void svc_on_transfer_keys(struct rpc_srv_call *call,
                          const ProtobufCMessage *req, void *ud)
{
  struct node *n = ud;
  const Chord__V1__TransferKeysRequest *r =
      (const Chord__V1__TransferKeysRequest *)req;
  struct chord_peer to;
  struct chord_id from, upto;
  if (!transfer_request_ok(n, call, r, &to, &from, &upto))
    return;
  bool same = handoff_is(&n->give, &to, &from, &upto);
  if (!same && !r->release) {
    /* A new joiner: it must answer as itself before it gets a key. */
    vouch_peers(n, call, req, &to, 1, n->o.rpc_timeout_ms, transfer_vouched);
    return;
  }
  transfer_go(n, call, req, same);
}

/* Serves a page or a release of a checked request. */
static void transfer_go(struct node *n, struct rpc_srv_call *call,
                        const ProtobufCMessage *req, bool same)
{
  const Chord__V1__TransferKeysRequest *r =
      (const Chord__V1__TransferKeysRequest *)req;
  struct chord_peer to;
  struct chord_id from, upto;
  const char *why;
  /* Checked by svc_on_transfer_keys: these decode. */
  nodeinfo_to_peer(r->requester, &to, &why);
  chord_id_from_bytes(&from, r->from.data, r->from.len);
  chord_id_from_bytes(&upto, r->to.data, r->to.len);
  if (r->release) {
    if (!same) {
      rpc_srv_reply_error(call, GRPC_STATUS_FAILED_PRECONDITION,
                          "no transfer of this range is in progress");
      return;
    }
    /* Hold new writes to the range, and let those under way finish, so
     * the change list is complete when it is read. */
    n->give.hold = true;
    if (jobs_inflight(&n->jobs)) {
      n->svc.release_call = call;
      n->svc.release_req = req;
      rpc_srv_on_cancel(call, release_on_cancel, n);
      jobs_when_idle(&n->jobs, &n->svc.release_wait, on_release_idle);
      return;
    }
  } else if (!same) {
    /* A new hand-off (a previous joiner that died is forgotten). */
    handoff_begin(&n->give, &to, &from, &upto, node_now_ms());
    LOG_INFO("handing keys to joiner %s", to.addr);
  }
  n->give.last_ms = node_now_ms();
  struct page *p = calloc(1, sizeof(*p));
  if (!p) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  p->j.n = n;
  p->call = call;
  p->from = from;
  p->upto = upto;
  /* The caller may ask for smaller pages, never for larger ones: a page is
   * held in memory whole. */
  p->max_bytes = r->max_bytes && r->max_bytes < n->o.page_bytes
                     ? r->max_bytes
                     : n->o.page_bytes;
  if (r->after.len) {
    memcpy(p->after.b, r->after.data, CHORD_ID_BYTES);
    p->has_after = true;
  }
  rpc_srv_on_cancel(call, page_on_cancel, p);
  if (r->release) {
    handoff_take_changes(&n->give, &p->changed, &p->nchanged);
    p->j.work = release_work;
    p->j.done = release_done;
  } else {
    p->j.work = page_work;
    p->j.done = page_done;
  }
  jobs_submit(&n->jobs, &p->j);
}

/* ---- Replicate: a leaving predecessor hands us its files ----------------- */

struct repl {
  struct job j;
  struct rpc_srv_call *call; /* NULL once the server answered it itself */
  struct xfer_batch batch;
  int rc;
};

static void repl_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct repl *p = ud;
  (void)call;
  p->call = NULL;
}

static void repl_work(struct job *j)
{
  struct repl *p = (struct repl *)j;
  p->rc = xfer_batch_apply(j->n->store, &p->batch);
}

static void repl_done(struct job *j)
{
  struct repl *p = (struct repl *)j;
  if (p->call) {
    rpc_srv_on_cancel(p->call, NULL, NULL);
    if (p->rc) {
      rpc_srv_reply_error(p->call, rpc_err_to_status(p->rc),
                          "cannot store replicas: %s", chord_strerror(p->rc));
    } else {
      Chord__V1__ReplicateResponse resp = CHORD__V1__REPLICATE_RESPONSE__INIT;
      rpc_srv_reply(p->call, &resp.base);
    }
  }
  xfer_batch_clear(&p->batch);
  free(p);
}

/* Whether every key of b may be ours to hold: a member refuses a key
 * when it knows 2R live nodes between the key and itself. R would prove
 * it is not a replica, but views differ while the ring changes (a joiner
 * we know and the sender does not yet), and a refused write has one copy
 * fewer: the margin keeps those, and still refuses keys plainly not ours
 * (those after us, up our successor list and fingers). Only peers that
 * authenticate can keep a peer from planting files near us. */
static bool replicate_ours(struct node *n, const struct xfer_batch *b,
                           const char **why)
{
  unsigned r = 2 * n->o.replicas;
  if (n->state != NODE_JOINED && n->state != NODE_LEAVING)
    return true;
  for (size_t i = 0; i < b->n; i++) {
    if (ring_known_before(&n->ring, &b->entries[i]->key, r) >= r) {
      *why = "a file's key is not among those this node replicates";
      return false;
    }
  }
  for (size_t i = 0; i < b->ndeleted; i++) {
    if (ring_known_before(&n->ring, &b->deleted[i], r) >= r) {
      *why = "a deleted key is not among those this node replicates";
      return false;
    }
  }
  return true;
}

void svc_on_replicate(struct rpc_srv_call *call, const ProtobufCMessage *req,
                      void *ud)
{
  struct node *n = ud;
  const Chord__V1__ReplicateRequest *r =
      (const Chord__V1__ReplicateRequest *)req;
  const char *why = NULL;
  struct repl *p = calloc(1, sizeof(*p));
  uint64_t maxv = 0;
  int rc;
  if (!p) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  rc = xfer_batch_from_wire(&p->batch, r->files, r->n_files, r->deleted,
                            r->n_deleted, n->o.max_file, &maxv, &why);
  if (rc) {
    free(p);
    rpc_srv_reply_error(call,
                        rc == CHORD_EINVAL ? GRPC_STATUS_INVALID_ARGUMENT
                                           : GRPC_STATUS_RESOURCE_EXHAUSTED,
                        "bad file: %s", why);
    return;
  }
  if (!replicate_ours(n, &p->batch, &why)) {
    xfer_batch_clear(&p->batch);
    free(p);
    rpc_srv_reply_error(call, GRPC_STATUS_FAILED_PRECONDITION, "%s", why);
    return;
  }
  node_version_seen(n, maxv);
  p->j.n = n;
  p->call = call;
  rpc_srv_on_cancel(call, repl_on_cancel, p);
  p->j.work = repl_work;
  p->j.done = repl_done;
  jobs_submit(&n->jobs, &p->j);
}
