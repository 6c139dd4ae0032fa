/* SPDX-License-Identifier: MIT */
/* The hand-off of keys no longer replicated here, a range at a time:
 * list, look up the owner, ask its successor list, send, drop. */
#include "node/repair_gc.h"

#include <stdlib.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "common/err.h"
#include "common/log.h"
#include "common/nodeinfo.h"
#include "node/node.h"
#include "node/peer.h"
#include "node/sendkeys.h"

#define GC_GROUPS_PER_ROUND 8

struct gc_job {
  struct job j;
  struct chord_id lo, hi;
  int rc;
};

static void next_group(struct node *n);

void repair_gc_close(struct repair_gc *g)
{
  free(g->kv);
  free(g->keys);
  free(g->versions);
  g->kv = NULL;
  g->keys = NULL;
  g->versions = NULL;
  g->nkv = g->nkeys = 0;
}

static void finish(struct node *n)
{
  struct repair_gc *g = &n->gc;
  repair_gc_done_cb done = g->done;
  repair_gc_close(g);
  done(n);
}

/* Whether the step must stop (the node stops or left). */
static bool cut_short(struct node *n)
{
  if (!n->d.stopping && n->state == NODE_JOINED)
    return false;
  finish(n);
  return true;
}

/* Drops the keys of (lo, hi] from the list still to look at. */
static void forget_range(struct repair_gc *g, const struct chord_id *lo,
                         const struct chord_id *hi)
{
  size_t k = 0;
  for (size_t i = 0; i < g->nkv; i++)
    if (!chord_id_in_oc(&g->kv[i].key, lo, hi))
      g->kv[k++] = g->kv[i];
  g->nkv = k;
}

/* ---- dropping our copies once every replica took them ---------------- */

static void drop_work(struct job *j)
{
  struct repair_gc *g = &j->n->gc;
  /* A key written again since it was listed (a replica push, a newer
   * version) stays: it was not the copy the others confirmed. */
  for (size_t i = 0; i < g->nkeys; i++)
    store_del_version(j->n->store, &g->keys[i], g->versions[i]);
}

static void drop_done(struct job *j)
{
  struct node *n = j->n;
  struct repair_gc *g = &n->gc;
  free(j);
  LOG_INFO("handed %zu keys on to %s, their owner, and its replicas", g->nkeys,
           g->owner.addr);
  g->handed += g->nkeys;
  next_group(n);
}

static void send_next(struct node *n);

static void on_sent(struct node *n, void *ud, bool ok, size_t sent,
                    uint64_t bytes, const struct rpc_status *st)
{
  struct repair_gc *g = &n->gc;
  (void)ud;
  (void)sent;
  n->repair.bytes += bytes;
  if (cut_short(n))
    return;
  if (!ok) {
    LOG_INFO("handing keys to %s failed (%s): they stay here",
             g->to[g->ti].addr, st ? st->message : "?");
    next_group(n);
    return;
  }
  g->ti++;
  send_next(n);
}

static void send_next(struct node *n)
{
  struct repair_gc *g = &n->gc;
  if (g->ti < g->nto) {
    sendkeys_start(n, &g->to[g->ti], g->keys, g->nkeys, on_sent, NULL);
    return;
  }
  struct job *j = calloc(1, sizeof(*j));
  if (!j) {
    finish(n);
    return;
  }
  j->n = n;
  j->work = drop_work;
  j->done = drop_done;
  jobs_submit(&n->jobs, j);
}

/* ---- the owner's replica set ------------------------------------------ */

static void on_succ_list(struct rpc_result *r, void *ud)
{
  struct node *n = ud;
  struct repair_gc *g = &n->gc;
  const Chord__V1__GetSuccessorListResponse *resp =
      (const Chord__V1__GetSuccessorListResponse *)r->resp;
  struct chord_peer pred;
  const char *why;
  unsigned want = n->o.replicas > 0 ? n->o.replicas - 1 : 0;
  if (cut_short(n))
    return;
  if (r->status.code != GRPC_STATUS_OK || !resp || !resp->predecessor ||
      nodeinfo_to_peer(resp->predecessor, &pred, &why)) {
    finish(n); /* no sure answer: everything stays until the next round */
    return;
  }
  g->range_lo = pred.id;
  g->nto = 0;
  g->to[g->nto++] = g->owner;
  bool mine = chord_id_eq(&g->owner.id, &n->self.id);
  for (size_t i = 0; i < resp->n_successors && g->nto <= want; i++) {
    struct chord_peer p;
    if (nodeinfo_to_peer(resp->successors[i], &p, &why) ||
        chord_id_eq(&p.id, &g->owner.id))
      continue;
    if (chord_id_eq(&p.id, &n->self.id))
      mine = true;
    g->to[g->nto++] = p;
  }
  /* Ours in the owner's range. */
  free(g->keys);
  free(g->versions);
  g->keys = malloc((g->nkv + 1) * sizeof(*g->keys));
  g->versions = malloc((g->nkv + 1) * sizeof(*g->versions));
  if (!g->keys || !g->versions) {
    finish(n);
    return;
  }
  g->nkeys = 0;
  for (size_t i = 0; i < g->nkv; i++)
    if (chord_id_in_oc(&g->kv[i].key, &g->range_lo, &g->owner.id)) {
      g->versions[g->nkeys] = g->kv[i].version;
      g->keys[g->nkeys++] = g->kv[i].key;
    }
  forget_range(g, &g->range_lo, &g->owner.id);
  if (mine || g->nkeys == 0) {
    next_group(n); /* we replicate this range: the keys stay */
    return;
  }
  g->ti = 0;
  send_next(n);
}

static void on_owner(struct rpc_result *r, void *ud)
{
  struct node *n = ud;
  struct repair_gc *g = &n->gc;
  const Chord__V1__FindSuccessorResponse *resp =
      (const Chord__V1__FindSuccessorResponse *)r->resp;
  const char *why;
  if (cut_short(n))
    return;
  if (r->status.code != GRPC_STATUS_OK || !resp || !resp->successor ||
      nodeinfo_to_peer(resp->successor, &g->owner, &why)) {
    finish(n);
    return;
  }
  Chord__V1__GetSuccessorListRequest req =
      CHORD__V1__GET_SUCCESSOR_LIST_REQUEST__INIT;
  peer_call(n->d.client, g->owner.addr, PEER_GET_SUCC_LIST, &req.base,
            n->o.rpc_timeout_ms, on_succ_list, n);
}

/* Looks up the owner of the surplus key nearest our range, going back. */
static void next_group(struct node *n)
{
  struct repair_gc *g = &n->gc;
  const struct chord_peer *via;
  if (cut_short(n))
    return;
  if (g->nkv == 0 || g->groups++ >= GC_GROUPS_PER_ROUND) {
    finish(n);
    return;
  }
  via = ring_first_live_successor(&n->ring);
  if (!via || chord_id_eq(&via->id, &n->self.id)) {
    finish(n);
    return;
  }
  Chord__V1__FindSuccessorRequest req = CHORD__V1__FIND_SUCCESSOR_REQUEST__INIT;
  const struct chord_id *k = &g->kv[g->nkv - 1].key;
  req.id.data = (uint8_t *)k->b;
  req.id.len = CHORD_ID_BYTES;
  peer_call(n->d.client, via->addr, PEER_FIND_SUCCESSOR, &req.base,
            n->o.rpc_timeout_ms, on_owner, n);
}

static void list_work(struct job *j)
{
  struct gc_job *gj = (struct gc_job *)j;
  struct repair_gc *g = &j->n->gc;
  gj->rc = store_versions_in(j->n->store, &gj->lo, &gj->hi, &g->kv, &g->nkv);
}

static void list_done(struct job *j)
{
  struct node *n = j->n;
  int rc = ((struct gc_job *)j)->rc;
  free(j);
  if (cut_short(n))
    return;
  if (rc) {
    finish(n);
    return;
  }
  next_group(n);
}

void repair_gc_start(struct node *n, repair_gc_done_cb done)
{
  struct repair_gc *g = &n->gc;
  struct chord_id lo, hi;
  struct gc_job *gj;
  g->done = done;
  g->groups = 0;
  if (!ring_served_range(&n->ring, &lo, &hi) ||
      !(gj = calloc(1, sizeof(*gj)))) {
    finish(n);
    return;
  }
  /* The rest of the ring: (hi, lo]. */
  gj->lo = hi;
  gj->hi = lo;
  gj->j.n = n;
  gj->j.work = list_work;
  gj->j.done = list_done;
  jobs_submit(&n->jobs, &gj->j);
}
