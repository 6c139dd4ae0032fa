/* SPDX-License-Identifier: MIT */
/* Status: the node's view of the ring, its counters, and its store's
 * figures (primary and replica keys, tombstones, every key on request),
 * read on a store job since the dir store's lock may be held across an
 * fsync. */
#include <stdlib.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "common/err.h"
#include "common/nodeinfo.h"
#include "node/node.h"
#include "node/svc.h"

/* The address the ring knows for id (from its tables or the list it was
 * given), or "" when it knows none. */
static void peer_of(const struct ring *r, const struct chord_id *id,
                    struct chord_peer *out)
{
  const struct finger_table *ft = &r->ft;
  memset(out, 0, sizeof(*out));
  out->id = *id;
  if (chord_id_eq(&ft->pred.id, id)) {
    *out = ft->pred;
    return;
  }
  for (size_t i = 0; i < ft->nsucc; i++)
    if (chord_id_eq(&ft->succ[i].id, id)) {
      *out = ft->succ[i];
      return;
    }
  for (size_t i = 0; i < FINGER_COUNT; i++)
    if (chord_id_eq(&ft->finger[i].id, id)) {
      *out = ft->finger[i];
      return;
    }
  for (size_t i = 0; i < r->nmembers; i++)
    if (chord_id_eq(&r->members[i].id, id)) {
      *out = r->members[i];
      return;
    }
}

struct stat_job {
  struct job j;
  struct rpc_srv_call *call; /* NULL once the server answered it itself */
  bool all_fingers, list_keys, have_range;
  struct chord_id lo, hi;      /* our range, read on the loop */
  uint64_t keys, bytes, tombs; /* live entries and their bytes */
  uint64_t primary;            /* live entries in our range */
  uint64_t primary_chunks;     /* of which chunks */
  struct store_kv *held;       /* list_keys: everything held */
  size_t nheld;
  int rc;
};

/* The replication figures and, when asked, every entry held. */
static int status_replication(struct node *n, const struct stat_job *sj,
                              Chord__V1__StatusResponse *resp,
                              Chord__V1__KeyVersion **kvs,
                              Chord__V1__KeyVersion ***ptrs)
{
  resp->replicas = n->o.replicas;
  resp->primary_keys = sj->primary;
  /* Two reads of a changing store: never below 0. */
  resp->replica_keys = sj->keys > sj->primary ? sj->keys - sj->primary : 0;
  resp->tombstones = sj->tombs;
  resp->repair_running = n->repair.running;
  resp->repair_rounds = n->repair.rounds;
  resp->repair_pushed = n->repair.pushed;
  resp->repair_pulled = n->repair.pulled;
  resp->under_replicated = n->repair.under_replicated;
  resp->repair_bytes = n->repair.bytes;
  resp->chunks = store_chunk_count(n->store);
  resp->chunks_collected = n->chunk_gc.collected;
  resp->primary_chunks = sj->primary_chunks;
  if (!sj->list_keys || sj->nheld == 0)
    return 0;
  *kvs = calloc(sj->nheld, sizeof(**kvs));
  *ptrs = calloc(sj->nheld, sizeof(**ptrs));
  if (!*kvs || !*ptrs)
    return CHORD_ENOMEM;
  for (size_t i = 0; i < sj->nheld; i++) {
    Chord__V1__KeyVersion *kv = &(*kvs)[i];
    chord__v1__key_version__init(kv);
    kv->key.data = sj->held[i].key.b;
    kv->key.len = CHORD_ID_BYTES;
    kv->version = sj->held[i].version;
    kv->deleted = sj->held[i].deleted;
    (*ptrs)[i] = kv;
  }
  resp->n_held = sj->nheld;
  resp->held = *ptrs;
  return 0;
}

static void status_answer(struct node *n, struct rpc_srv_call *call,
                          const struct stat_job *sj)
{
  bool all_fingers = sj->all_fingers;
  Chord__V1__KeyVersion *kvs = NULL, **kvp = NULL;
  const struct finger_table *ft = &n->ring.ft;
  Chord__V1__StatusResponse resp = CHORD__V1__STATUS_RESPONSE__INIT;
  Chord__V1__NodeInfo me, pred, succ[FINGER_SUCC_MAX], *succp[FINGER_SUCC_MAX];
  Chord__V1__NodeInfo fnode[FINGER_COUNT];
  Chord__V1__Finger fing[FINGER_COUNT], *fingp[FINGER_COUNT];
  struct chord_peer distinct[FINGER_COUNT], deadp[RING_DEAD_MAX];
  Chord__V1__NodeInfo dead[RING_DEAD_MAX], *deadptr[RING_DEAD_MAX];
  unsigned idx[FINGER_COUNT];
  size_t nf;

  nodeinfo_from_peer(&me, &n->self);
  resp.self = &me;
  bool member = n->state == NODE_JOINED || n->state == NODE_LEAVING;
  if (member && ft->has_pred) {
    nodeinfo_from_peer(&pred, &ft->pred);
    resp.predecessor = &pred;
  }
  size_t ns = member ? ft->nsucc : 0;
  for (size_t i = 0; i < ns; i++) {
    nodeinfo_from_peer(&succ[i], &ft->succ[i]);
    succp[i] = &succ[i];
  }
  resp.n_successors = ns;
  resp.successors = succp;
  if (!member) {
    nf = 0;
  } else if (all_fingers) {
    for (size_t i = 0; i < FINGER_COUNT; i++) {
      distinct[i] = ft->finger[i];
      idx[i] = (unsigned)i;
    }
    nf = FINGER_COUNT;
  } else {
    nf = finger_distinct(ft, distinct, idx, FINGER_COUNT);
  }
  for (size_t i = 0; i < nf; i++) {
    chord__v1__finger__init(&fing[i]);
    nodeinfo_from_peer(&fnode[i], &distinct[i]);
    fing[i].index = idx[i];
    fing[i].node = &fnode[i];
    fingp[i] = &fing[i];
  }
  resp.n_fingers = nf;
  resp.fingers = fingp;
  resp.keys = sj->keys;
  resp.bytes = sj->bytes;
  resp.version = CHORD_VERSION;
  resp.uptime_ms = node_now_ms() - n->started_ms;
  resp.joined = member && n->mem.registered;
  for (size_t i = 0; i < n->ring.ndead; i++) {
    peer_of(&n->ring, &n->ring.dead[i], &deadp[i]);
    nodeinfo_from_peer(&dead[i], &deadp[i]);
    deadptr[i] = &dead[i];
  }
  resp.calls_received = rpc_server_served(n->d.server);
  resp.maintenance_sent = n->maintain.sent;
  resp.n_dead = n->ring.ndead;
  resp.dead = deadptr;
  if (status_replication(n, sj, &resp, &kvs, &kvp))
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  else
    rpc_srv_reply(call, &resp.base);
  free(kvs);
  free(kvp);
}

static void stat_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct stat_job *sj = ud;
  (void)call;
  sj->call = NULL;
}

/* The dir store's lock may be held across an fsync: not on the loop. */
static void stat_work(struct job *j)
{
  struct stat_job *sj = (struct stat_job *)j;
  struct store_kv *kv = NULL;
  size_t nkv = 0;
  store_stats(j->n->store, &sj->keys, &sj->bytes);
  sj->tombs = store_tombstone_count(j->n->store);
  if (sj->have_range &&
      !store_live_count_in(j->n->store, &sj->lo, &sj->hi, &sj->primary)) {
    if (!store_chunks_in(j->n->store, &sj->lo, &sj->hi, UINT64_MAX, &kv, &nkv))
      sj->primary_chunks = nkv;
    free(kv);
  }
  if (sj->list_keys)
    sj->rc = store_versions_in(j->n->store, &j->n->self.id, &j->n->self.id,
                               &sj->held, &sj->nheld);
}

static void stat_done(struct job *j)
{
  struct stat_job *sj = (struct stat_job *)j;
  if (sj->call) {
    rpc_srv_on_cancel(sj->call, NULL, NULL);
    if (sj->rc)
      rpc_srv_reply_error(sj->call, rpc_err_to_status(sj->rc),
                          "listing the keys failed: %s",
                          chord_strerror(sj->rc));
    else
      status_answer(j->n, sj->call, sj);
  }
  free(sj->held);
  free(sj);
}

void svc_on_status(struct rpc_srv_call *call, const ProtobufCMessage *req,
                   void *ud)
{
  struct node *n = ud;
  const Chord__V1__StatusRequest *r = (const Chord__V1__StatusRequest *)req;
  if (r->list_keys && !rpc_srv_member(call)) {
    /* Names of every file held: for the ring's members only. */
    rpc_srv_reply_error(call, GRPC_STATUS_PERMISSION_DENIED,
                        "list_keys needs the cluster token");
    return;
  }
  struct stat_job *sj = calloc(1, sizeof(*sj));
  if (!sj) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  sj->j.n = n;
  sj->j.work = stat_work;
  sj->j.done = stat_done;
  sj->call = call;
  sj->all_fingers = r->all_fingers;
  sj->list_keys = r->list_keys;
  sj->have_range = ring_served_range(&n->ring, &sj->lo, &sj->hi);
  rpc_srv_on_cancel(call, stat_on_cancel, sj);
  jobs_submit(&n->jobs, &sj->j);
}
