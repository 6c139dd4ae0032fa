/* SPDX-License-Identifier: MIT */
/* Fan-out to the replica set: one Replicate (or Fetch) per member in
 * parallel, each waiting as a forward would (forward_budget_ms); the answers
 * are counted and the caller's callback runs once the last one is in. */
#include "node/replica.h"

#include <stdlib.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "common/log.h"
#include "common/nodeinfo.h"
#include "node/forward.h"
#include "node/node.h"
#include "node/peer.h"
#include "node/transfer.h"

/* One fan-out: the peers tried so far and the answers outstanding. */
struct fan {
  struct node *n;
  struct store_entry *e; /* send: the entry; fetch: the best answer */
  struct chord_id key;   /* fetch: the key asked for */
  gpr_timespec deadline; /* of the call this fan-out serves */
  struct chord_peer tried[FINGER_SUCC_MAX + 1];
  size_t ntried;
  unsigned pending, ok, failed;
  bool out_of_time; /* send: a live successor was left untried */
  replica_sent_cb sent;
  replica_fetched_cb fetched;
  void *ud;
};

/* One call of a fan-out. */
struct fan_call {
  struct fan *f;
  struct chord_peer to;
};

size_t replica_targets(const struct node *n, struct chord_peer *out, size_t max)
{
  const struct finger_table *ft = &n->ring.ft;
  size_t k = 0;
  for (size_t i = 0; i < ft->nsucc && k < max; i++) {
    const struct chord_peer *p = &ft->succ[i];
    bool dup =
        chord_id_eq(&p->id, &ft->self.id) || ring_is_dead(&n->ring, &p->id);
    for (size_t j = 0; j < k && !dup; j++)
      dup = chord_id_eq(&out[j].id, &p->id);
    if (!dup)
      out[k++] = *p;
  }
  return k;
}

static unsigned others_wanted(const struct node *n)
{
  return n->o.replicas > 0 ? n->o.replicas - 1 : 0;
}

static struct fan *fan_new(struct node *n)
{
  struct fan *f = calloc(1, sizeof(*f));
  if (!f)
    return NULL;
  f->n = n;
  return f;
}

static void fan_finish(struct fan *f)
{
  if (f->sent)
    f->sent(f->ud, f->ok, f->out_of_time);
  else
    f->fetched(f->ud, f->e, f->failed == 0); /* it takes the reference */
  if (f->sent)
    store_entry_unref(f->e);
  free(f);
}

/* The wait for one call of the fan-out: a hop's, plus a second per MiB
 * of content to copy (a chunk on a loaded machine is slow, not dead), in
 * half of what is left of the caller's deadline. */
static uint64_t call_ms(const struct fan *f)
{
  const struct node *n = f->n;
  uint64_t len = f->e ? f->e->len : 0;
  return (uint64_t)forward_budget_ms(
      f->deadline, n->o.hop_timeout_ms + forward_size_ms(len),
      n->o.rpc_timeout_ms + forward_size_ms(len));
}

static bool was_tried(const struct fan *f, const struct chord_id *id)
{
  for (size_t i = 0; i < f->ntried; i++)
    if (chord_id_eq(&f->tried[i].id, id))
      return true;
  return false;
}

static void on_sent(struct rpc_result *r, void *ud);

/* Sends the entry to p. */
static void send_to(struct fan *f, const struct chord_peer *p)
{
  struct node *n = f->n;
  struct fan_call *c = calloc(1, sizeof(*c));
  Chord__V1__ReplicateRequest req = CHORD__V1__REPLICATE_REQUEST__INIT;
  Chord__V1__File file = CHORD__V1__FILE__INIT;
  Chord__V1__File *files[1] = {&file};
  Chord__V1__NodeInfo me;
  if (f->ntried == sizeof(f->tried) / sizeof(f->tried[0]) ||
      was_tried(f, &p->id)) {
    free(c);
    return;
  }
  f->tried[f->ntried++] = *p;
  if (!c)
    return; /* out of memory: one copy fewer, and the reply says so */
  f->pending++;
  c->f = f;
  c->to = *p;
  nodeinfo_from_peer(&me, &n->self);
  xfer_file_of(&file, f->e);
  req.from = &me;
  req.n_files = 1;
  req.files = files;
  peer_call(n->d.client, p->addr, PEER_REPLICATE, &req.base, call_ms(f),
            on_sent, c);
}

/* The next live successor not tried yet, or NULL. */
static const struct chord_peer *next_candidate(const struct fan *f)
{
  const struct ring *r = &f->n->ring;
  for (size_t i = 0; i < r->ft.nsucc; i++) {
    const struct chord_peer *p = &r->ft.succ[i];
    if (chord_id_eq(&p->id, &r->ft.self.id) || ring_is_dead(r, &p->id) ||
        was_tried(f, &p->id))
      continue;
    return p;
  }
  return NULL;
}

static void on_sent(struct rpc_result *r, void *ud)
{
  struct fan_call *c = ud;
  struct fan *f = c->f;
  struct node *n = f->n;
  f->pending--;
  if (r->status.code == GRPC_STATUS_OK) {
    f->ok++;
  } else if (!n->d.stopping) {
    LOG_INFO("replica %s did not take %s: %s", c->to.addr, f->e->name,
             r->status.message);
    /* Unreachable is dead; a slow answer is not (maintenance finds a
     * frozen peer), and marking it would turn load into ring churn. */
    if (!r->status.remote && r->status.code == GRPC_STATUS_UNAVAILABLE)
      node_peer_failed(n, &c->to);
    /* Its successor takes its place in the replica set. */
    const struct chord_peer *p = next_candidate(f);
    if (p && f->ok + f->pending < others_wanted(n)) {
      if (rpc_ms_until(f->deadline) > FORWARD_MARGIN_MS)
        send_to(f, p);
      else
        f->out_of_time = true; /* a replica was there, time was not */
    }
  }
  free(c);
  if (f->pending == 0)
    fan_finish(f);
}

void replica_send(struct node *n, struct store_entry *e, gpr_timespec deadline,
                  replica_sent_cb cb, void *ud)
{
  struct chord_peer t[FINGER_SUCC_MAX];
  struct fan *f = n->d.stopping ? NULL : fan_new(n);
  size_t k;
  if (!f) {
    cb(ud, 0, false);
    return;
  }
  f->e = store_entry_ref(e);
  f->deadline = deadline;
  f->sent = cb;
  f->ud = ud;
  k = replica_targets(n, t, others_wanted(n));
  f->pending = 1; /* held until every call is started */
  for (size_t i = 0; i < k; i++)
    send_to(f, &t[i]);
  if (--f->pending == 0)
    fan_finish(f);
}

static void on_fetched(struct rpc_result *r, void *ud)
{
  struct fan_call *c = ud;
  struct fan *f = c->f;
  struct node *n = f->n;
  f->pending--;
  if (r->status.code == GRPC_STATUS_OK) {
    const Chord__V1__FetchResponse *resp =
        (const Chord__V1__FetchResponse *)r->resp;
    for (size_t i = 0; resp && i < resp->n_files; i++) {
      const Chord__V1__File *file = resp->files[i];
      struct store_entry *e;
      if (!file->name || file->content.len > n->o.max_file ||
          (file->deleted && file->content.len) ||
          !xfer_version_ok(file->version))
        continue;
      e = xfer_entry_from(file);
      if (!e)
        continue;
      if (!chord_id_eq(&e->key, &f->key) ||
          (f->e && store_entry_cmp(e, f->e) <= 0)) {
        store_entry_unref(e);
        continue;
      }
      store_entry_unref(f->e);
      f->e = e;
      node_version_seen(n, e->version);
    }
  } else {
    f->failed++;
    if (!r->status.remote && r->status.code == GRPC_STATUS_UNAVAILABLE &&
        !n->d.stopping)
      node_peer_failed(n, &c->to);
  }
  free(c);
  if (f->pending == 0)
    fan_finish(f);
}

void replica_fetch(struct node *n, const struct chord_id *key,
                   gpr_timespec deadline, replica_fetched_cb cb, void *ud)
{
  struct chord_peer t[FINGER_SUCC_MAX];
  struct fan *f = n->d.stopping ? NULL : fan_new(n);
  Chord__V1__FetchRequest req = CHORD__V1__FETCH_REQUEST__INIT;
  ProtobufCBinaryData kb = {CHORD_ID_BYTES, (uint8_t *)key->b};
  size_t k;
  if (!f) {
    cb(ud, NULL, false);
    return;
  }
  f->key = *key;
  f->deadline = deadline;
  f->fetched = cb;
  f->ud = ud;
  req.n_keys = 1;
  req.keys = &kb;
  k = replica_targets(n, t, others_wanted(n));
  f->pending = 1;
  for (size_t i = 0; i < k; i++) {
    struct fan_call *c = calloc(1, sizeof(*c));
    if (!c) {
      f->failed++;
      break;
    }
    c->f = f;
    c->to = t[i];
    f->pending++;
    peer_call(n->d.client, t[i].addr, PEER_FETCH, &req.base, call_ms(f),
              on_fetched, c);
  }
  if (--f->pending == 0)
    fan_finish(f);
}
