/* SPDX-License-Identifier: MIT */
/* The repair round as a chain of steps: scan our range (a store job),
 * then for each other replica: a one-bucket digest, a finer one where it
 * differs, pull pages (Fetch, applied on a job), push pages (collected on
 * a job, sent with Replicate); then the hand-off of keys we no longer
 * replicate. Each step continues the next from its callback. */
#include "node/repair.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chord/v1/node.pb-c.h"
#include "common/err.h"
#include "common/log.h"
#include "common/nodeinfo.h"
#include "node/digest.h"
#include "node/node.h"
#include "node/peer.h"
#include "node/replica.h"
#include "node/sendkeys.h"
#include "node/repair_gc.h"
#include "node/transfer.h"

#define REPAIR_FETCH_KEYS 1024 /* keys per Fetch */
/* Buckets at least 2^8 once a range differs: the answer lists only the
 * buckets that differ, even when the other side holds far more keys. */
#define REPAIR_MIN_BITS 8

struct step {
  struct job j;
  struct xfer_batch batch;
  uint64_t maxv;
  size_t next; /* push: index after the page */
  int rc;
};

static void next_target(struct node *n);
static void round_start(struct node *n, bool force);
static void pull_next(struct node *n);
static void push_next(struct node *n);

void repair_init(struct repair *rp, uv_loop_t *loop, struct node *n)
{
  memset(rp, 0, sizeof(*rp));
  uv_timer_init(loop, &rp->timer);
  rp->timer.data = n;
}

static void round_clear(struct repair *rp)
{
  free(rp->kv);
  free(rp->push);
  free(rp->pull);
  rp->kv = NULL;
  rp->push = rp->pull = NULL;
  rp->nkv = rp->npush = rp->npull = rp->pulled_i = 0;
}

void repair_close(struct repair *rp)
{
  round_clear(rp);
}

static void round_end(struct node *n)
{
  struct repair *rp = &n->repair;
  round_clear(rp);
  rp->running = false;
  rp->rounds++;
  rp->under_replicated = rp->round_missing;
  if (rp->round_ok && rp->round_epoch == rp->epoch && !rp->again)
    rp->synced = true;
  if (rp->again && !n->d.stopping) {
    rp->again = false;
    round_start(n, true);
  }
}

/* Whether the round must stop here (the node stops or left). */
static bool cut_short(struct node *n)
{
  if (!n->d.stopping && n->state == NODE_JOINED)
    return false;
  round_clear(&n->repair);
  n->repair.running = false;
  return true;
}

/* The replica at work failed: on to the next. */
static void target_failed(struct node *n, const struct rpc_status *st,
                          const char *what)
{
  struct repair *rp = &n->repair;
  const struct chord_peer *t = &rp->targets[rp->ti];
  LOG_INFO("repair with %s: %s failed: %s", t->addr, what, st->message);
  rp->round_ok = false;
  if (!st->remote && st->code == GRPC_STATUS_UNAVAILABLE)
    node_peer_failed(n, t); /* unreachable; a slow answer is no death */
  rp->ti++;
  next_target(n);
}

/* ---- digests ------------------------------------------------------------- */

static void on_digest(struct rpc_result *r, void *ud);

/* Sends our digest of the range at bits to the replica at work. */
static void send_digest(struct node *n, unsigned bits, bool digests_only)
{
  struct repair *rp = &n->repair;
  struct digest_bucket *b = NULL;
  size_t nb = 0;
  Chord__V1__SyncDigestRequest req = CHORD__V1__SYNC_DIGEST_REQUEST__INIT;
  Chord__V1__BucketDigest *bd = NULL, **bp = NULL;
  Chord__V1__NodeInfo me;
  if (digest_buckets(rp->kv, rp->nkv, bits, &b, &nb))
    goto fail;
  bd = calloc(nb + 1, sizeof(*bd));
  bp = calloc(nb + 1, sizeof(*bp));
  if (!bd || !bp)
    goto fail;
  for (size_t i = 0; i < nb; i++) {
    chord__v1__bucket_digest__init(&bd[i]);
    bd[i].index = b[i].index;
    bd[i].digest.data = b[i].sum;
    bd[i].digest.len = CHORD_ID_BYTES;
    bp[i] = &bd[i];
  }
  nodeinfo_from_peer(&me, &n->self);
  req.from = &me;
  req.lo.data = rp->lo.b;
  req.lo.len = CHORD_ID_BYTES;
  req.hi.data = rp->hi.b;
  req.hi.len = CHORD_ID_BYTES;
  req.bits = bits;
  req.n_buckets = nb;
  req.buckets = bp;
  req.digests_only = digests_only;
  rp->bits = bits;
  rp->digests_only = digests_only;
  rp->bytes += protobuf_c_message_get_packed_size(&req.base);
  peer_call(n->d.client, rp->targets[rp->ti].addr, PEER_SYNC_DIGEST, &req.base,
            n->o.rpc_timeout_ms, on_digest, n);
  free(b);
  free(bd);
  free(bp);
  return;
fail:
  free(b);
  free(bd);
  free(bp);
  LOG_WARN("repair: out of memory");
  rp->round_ok = false;
  round_end(n);
}

/* ours limited to the buckets that differ, in place of a copy. */
static int ours_in(const struct repair *rp, unsigned bits, const uint32_t *d,
                   size_t nd, struct store_kv **out, size_t *nout)
{
  struct store_kv *o = malloc((rp->nkv + 1) * sizeof(*o));
  size_t k = 0;
  if (!o)
    return CHORD_ENOMEM;
  for (size_t i = 0; i < rp->nkv; i++)
    if (digest_in_buckets(&rp->kv[i].key, bits, d, nd))
      o[k++] = rp->kv[i];
  *out = o;
  *nout = k;
  return 0;
}

static void on_digest(struct rpc_result *r, void *ud)
{
  struct node *n = ud;
  struct repair *rp = &n->repair;
  const Chord__V1__SyncDigestResponse *resp =
      (const Chord__V1__SyncDigestResponse *)r->resp;
  struct store_kv *theirs = NULL, *ours = NULL;
  size_t nt = 0, no = 0;
  if (cut_short(n))
    return;
  if (r->status.code != GRPC_STATUS_OK || !resp) {
    target_failed(n, &r->status, "digest");
    return;
  }
  if (resp->n_differ == 0) { /* in step */
    rp->ti++;
    next_target(n);
    return;
  }
  if (rp->digests_only) {
    /* The range differs somewhere: again, bucket by bucket, with keys. */
    unsigned bits = digest_bits_for(rp->nkv);
    send_digest(n, bits < REPAIR_MIN_BITS ? REPAIR_MIN_BITS : bits, false);
    return;
  }
  unsigned bits = rp->bits;
  theirs = calloc(resp->n_held + 1, sizeof(*theirs));
  if (!theirs)
    goto fail;
  for (size_t i = 0; i < resp->n_held; i++) {
    const Chord__V1__KeyVersion *kv = resp->held[i];
    if (chord_id_from_bytes(&theirs[nt].key, kv->key.data, kv->key.len) ||
        !chord_id_in_oc(&theirs[nt].key, &rp->lo, &rp->hi))
      continue; /* not a key of this range: ignored */
    theirs[nt].version = kv->version;
    theirs[nt].deleted = kv->deleted;
    nt++;
  }
  if (ours_in(rp, bits, resp->differ, resp->n_differ, &ours, &no))
    goto fail;
  free(rp->push);
  free(rp->pull);
  rp->push = rp->pull = NULL;
  if (digest_diff(ours, no, theirs, nt, &rp->lo, &rp->push, &rp->npush,
                  &rp->pull, &rp->npull))
    goto fail;
  free(ours);
  free(theirs);
  rp->pulled_i = 0;
  rp->round_missing += rp->npush;
  if (rp->npush || rp->npull)
    LOG_INFO("repair with %s: %zu keys to push, %zu to pull",
             rp->targets[rp->ti].addr, rp->npush, rp->npull);
  pull_next(n);
  return;
fail:
  free(ours);
  free(theirs);
  LOG_WARN("repair: out of memory");
  rp->round_ok = false;
  round_end(n);
}

/* ---- pull: what the replica has newer --------------------------------- */

static void apply_work(struct job *j)
{
  struct step *s = (struct step *)j;
  s->rc = xfer_batch_apply(j->n->store, &s->batch);
}

static void apply_done(struct job *j)
{
  struct step *s = (struct step *)j;
  struct node *n = j->n;
  if (s->rc) {
    LOG_WARN("repair: storing pulled entries failed: %s",
             chord_strerror(s->rc));
    n->repair.round_ok = false;
  } else {
    n->repair.pulled += s->batch.n;
    /* Replicas already compared this round did not see these: once
     * more, so that they get them now rather than at the slow timer. */
    if (s->batch.n)
      n->repair.again = true;
  }
  xfer_batch_clear(&s->batch);
  free(s);
  if (cut_short(n))
    return;
  pull_next(n);
}

static void on_fetched(struct rpc_result *r, void *ud)
{
  struct node *n = ud;
  struct repair *rp = &n->repair;
  const Chord__V1__FetchResponse *resp =
      (const Chord__V1__FetchResponse *)r->resp;
  const char *why = NULL;
  struct step *s;
  if (cut_short(n))
    return;
  if (r->status.code != GRPC_STATUS_OK || !resp) {
    target_failed(n, &r->status, "fetch");
    return;
  }
  size_t asked = rp->npull - rp->pulled_i;
  if (asked > REPAIR_FETCH_KEYS)
    asked = REPAIR_FETCH_KEYS;
  s = calloc(1, sizeof(*s));
  if (resp->looked == 0 || resp->looked > asked)
    why = "it looked at no key, or at more than it was asked";
  else if (!s)
    why = "out of memory";
  else if (xfer_batch_from_wire(&s->batch, resp->files, resp->n_files, NULL, 0,
                                n->o.max_file, &s->maxv, &why) == 0)
    for (size_t i = 0; !why && i < s->batch.n; i++)
      if (!chord_id_in_oc(&s->batch.entries[i]->key, &rp->lo, &rp->hi))
        why = "a file outside the range";
  if (why) {
    LOG_WARN("repair with %s: a bad fetch answer (%s)",
             rp->targets[rp->ti].addr, why);
    if (s)
      xfer_batch_clear(&s->batch);
    free(s);
    rp->round_ok = false;
    rp->ti++;
    next_target(n);
    return;
  }
  rp->pulled_i += resp->looked;
  node_version_seen(n, s->maxv);
  s->j.n = n;
  s->j.work = apply_work;
  s->j.done = apply_done;
  jobs_submit(&n->jobs, &s->j);
}

static void pull_next(struct node *n)
{
  struct repair *rp = &n->repair;
  size_t k = rp->npull - rp->pulled_i;
  if (k == 0) {
    push_next(n);
    return;
  }
  if (k > REPAIR_FETCH_KEYS)
    k = REPAIR_FETCH_KEYS;
  ProtobufCBinaryData *keys = calloc(k, sizeof(*keys));
  if (!keys) {
    rp->round_ok = false;
    round_end(n);
    return;
  }
  for (size_t i = 0; i < k; i++) {
    keys[i].data = rp->pull[rp->pulled_i + i].b;
    keys[i].len = CHORD_ID_BYTES;
  }
  Chord__V1__FetchRequest req = CHORD__V1__FETCH_REQUEST__INIT;
  req.n_keys = k;
  req.keys = keys;
  rp->bytes += protobuf_c_message_get_packed_size(&req.base);
  peer_call(n->d.client, rp->targets[rp->ti].addr, PEER_FETCH, &req.base,
            n->o.rpc_timeout_ms, on_fetched, n);
  free(keys);
}

/* ---- push: what we have newer ----------------------------------------- */

static void on_pushed(struct node *n, void *ud, bool ok, size_t sent,
                      uint64_t bytes, const struct rpc_status *st)
{
  struct repair *rp = &n->repair;
  (void)ud;
  rp->pushed += sent;
  rp->bytes += bytes;
  if (cut_short(n))
    return;
  if (!ok) {
    target_failed(n, st, "push");
    return;
  }
  rp->ti++;
  next_target(n);
}

static void push_next(struct node *n)
{
  struct repair *rp = &n->repair;
  if (rp->npush == 0) {
    rp->ti++;
    next_target(n);
    return;
  }
  sendkeys_start(n, &rp->targets[rp->ti], rp->push, rp->npush, on_pushed, NULL);
}

/* ---- the round ----------------------------------------------------------- */

static void on_gc_done(struct node *n)
{
  round_end(n);
}

static void next_target(struct node *n)
{
  struct repair *rp = &n->repair;
  if (rp->ti >= rp->ntargets) {
    repair_gc_start(n, on_gc_done);
    return;
  }
  send_digest(n, 0, true);
}

static void scan_work(struct job *j)
{
  struct step *s = (struct step *)j;
  struct repair *rp = &j->n->repair;
  s->rc = store_versions_in(j->n->store, &rp->lo, &rp->hi, &rp->kv, &rp->nkv);
}

static void scan_done(struct job *j)
{
  struct step *s = (struct step *)j;
  struct node *n = j->n;
  int rc = s->rc;
  free(s);
  if (cut_short(n))
    return;
  if (rc) {
    LOG_WARN("repair: cannot list the range: %s", chord_strerror(rc));
    n->repair.round_ok = false;
    round_end(n);
    return;
  }
  next_target(n);
}

static bool same_targets(const struct repair *rp, const struct chord_peer *t,
                         size_t k)
{
  if (k != rp->last_ntargets)
    return false;
  for (size_t i = 0; i < k; i++)
    if (!chord_id_eq(&t[i].id, &rp->last_targets[i].id))
      return false;
  return true;
}

/* Starts a round (force: even when nothing changed). */
static void round_start(struct node *n, bool force)
{
  struct repair *rp = &n->repair;
  struct chord_peer t[FINGER_SUCC_MAX];
  struct chord_id lo, hi;
  size_t k;
  if (n->d.stopping || n->state != NODE_JOINED)
    return;
  if (!ring_served_range(&n->ring, &lo, &hi))
    return;
  k = replica_targets(n, t, n->o.replicas > 0 ? n->o.replicas - 1 : 0);
  bool changed = !rp->have_last || !chord_id_eq(&lo, &rp->last_lo) ||
                 !same_targets(rp, t, k);
  if (changed && rp->synced) {
    rp->synced = false;
    rp->epoch++;
  }
  if (!force && !changed)
    return;
  if (rp->running) {
    rp->again = true;
    return;
  }
  struct step *s = calloc(1, sizeof(*s));
  if (!s)
    return;
  rp->running = true;
  rp->again = false;
  rp->lo = lo;
  rp->hi = hi;
  memcpy(rp->targets, t, k * sizeof(*t));
  rp->ntargets = k;
  rp->ti = 0;
  rp->round_missing = 0;
  rp->round_ok = true;
  rp->round_epoch = rp->epoch;
  rp->last_lo = lo;
  memcpy(rp->last_targets, t, k * sizeof(*t));
  rp->last_ntargets = k;
  rp->have_last = true;
  s->j.n = n;
  s->j.work = scan_work;
  s->j.done = scan_done;
  jobs_submit(&n->jobs, &s->j);
}

void repair_check(struct node *n)
{
  round_start(n, false);
}

/* A gap between ticks this long means the process was paused: others
 * may have served our range meanwhile. */
static bool paused(struct node *n)
{
  struct repair *rp = &n->repair;
  uint64_t now = node_now_ms(), gap = 3 * n->o.stabilize_ms;
  if (gap < 1000)
    gap = 1000;
  if (rp->last_tick_ms == 0 || now - rp->last_tick_ms <= gap)
    return false;
  if (rp->synced)
    LOG_INFO("paused for %llu ms: reads ask the replicas until repaired",
             (unsigned long long)(now - rp->last_tick_ms));
  rp->synced = false;
  rp->epoch++;
  rp->last_tick_ms = now;
  round_start(n, true);
  return true;
}

void repair_tick(struct node *n)
{
  paused(n);
  n->repair.last_tick_ms = node_now_ms();
  round_start(n, false);
}

bool repair_synced(struct node *n)
{
  struct repair *rp = &n->repair;
  struct chord_peer t[FINGER_SUCC_MAX];
  struct chord_id lo, hi;
  paused(n);
  if (!rp->synced)
    return false;
  /* The range or the replica set changed since the last round (a
   * predecessor found dead a moment ago): not in step until repaired. */
  size_t k = replica_targets(n, t, n->o.replicas > 0 ? n->o.replicas - 1 : 0);
  if (!ring_served_range(&n->ring, &lo, &hi) ||
      !chord_id_eq(&lo, &rp->last_lo) || !same_targets(rp, t, k)) {
    rp->synced = false;
    rp->epoch++;
    round_start(n, false);
  }
  return rp->synced;
}

/* Tombstones older than the grace period go: versions are microseconds
 * of the wall clock. */
static void purge_work(struct job *j)
{
  struct step *s = (struct step *)j;
  size_t purged = 0;
  s->rc = store_purge_tombstones(j->n->store, s->maxv, &purged);
  s->next = purged;
}

static void purge_done(struct job *j)
{
  struct step *s = (struct step *)j;
  if (s->rc)
    LOG_WARN("purging tombstones failed: %s", chord_strerror(s->rc));
  else if (s->next)
    LOG_INFO("purged %zu tombstones older than the grace period", s->next);
  free(s);
}

static void purge_start(struct node *n)
{
  uint64_t now_us = node_wall_us(), grace_us = n->o.tomb_grace_ms * 1000u;
  struct step *s;
  if (now_us <= grace_us || !(s = calloc(1, sizeof(*s))))
    return;
  s->maxv = now_us - grace_us;
  s->j.n = n;
  s->j.work = purge_work;
  s->j.done = purge_done;
  jobs_submit(&n->jobs, &s->j);
}

static void on_timer(uv_timer_t *t)
{
  purge_start(t->data);
  round_start(t->data, true);
}

void repair_start(struct node *n)
{
  uv_timer_start(&n->repair.timer, on_timer, n->o.repair_ms, n->o.repair_ms);
}

void repair_stop(struct node *n)
{
  uv_timer_stop(&n->repair.timer);
}
