/* SPDX-License-Identifier: MIT */
/* The chunk sweep as a chain of steps: list candidates (a store job), then
 * per file one routed Read and exact Deletes of what it does not list,
 * each continuing the next from its callback. */
#include "node/chunk_gc.h"

#include <stdlib.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "common/codec.h"
#include "common/err.h"
#include "common/log.h"
#include "common/name.h"
#include "node/node.h"

#define GC_BATCH 512         /* candidates per sweep */
#define GC_MIN_PERIOD_MS 250 /* sweeps at most this often ... */
#define GC_MAX_PERIOD_MS ((uint64_t)5 * 60 * 1000) /* ... at least */

struct gc_item {
  struct chord_id key;
  uint64_t version;
  char *name;       /* the chunk's */
  const char *file; /* its file's name, inside name */
  size_t file_len;
  uint8_t hash[NAME_CHUNK_HASH_BYTES];
};

struct list_job {
  struct job j;
  uint64_t older_than;
  struct chord_id lo, hi;
  struct gc_item *items;
  size_t n;
};

static void next_file(struct node *n);

static void items_free(struct gc_item *items, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(items[i].name);
  free(items);
}

void chunk_gc_init(struct chunk_gc *g, uv_loop_t *loop, struct node *n)
{
  memset(g, 0, sizeof(*g));
  uv_timer_init(loop, &g->timer);
  g->timer.data = n;
}

void chunk_gc_close(struct chunk_gc *g)
{
  items_free(g->items, g->n);
  g->items = NULL;
  g->n = 0;
}

static int item_cmp(const void *a, const void *b)
{
  const struct gc_item *x = a, *y = b;
  size_t n = x->file_len < y->file_len ? x->file_len : y->file_len;
  int c = memcmp(x->file, y->file, n);
  if (c)
    return c;
  return (x->file_len > y->file_len) - (x->file_len < y->file_len);
}

/* Off the loop: the owned chunks older than the grace period, named. */
static void list_work(struct job *j)
{
  struct list_job *lj = (struct list_job *)j;
  struct store_kv *kv = NULL;
  size_t nkv = 0;
  if (store_chunks_in(j->n->store, &lj->lo, &lj->hi, lj->older_than, &kv,
                      &nkv) ||
      nkv == 0)
    goto out;
  if (nkv > GC_BATCH) /* a random window, so that every chunk comes up */
    memmove(kv, kv + (size_t)rand() % (nkv - GC_BATCH + 1),
            GC_BATCH * sizeof(*kv));
  if (nkv > GC_BATCH)
    nkv = GC_BATCH;
  lj->items = calloc(nkv, sizeof(*lj->items));
  if (!lj->items)
    goto out;
  for (size_t i = 0; i < nkv; i++) {
    struct gc_item *it = &lj->items[lj->n];
    size_t len;
    if (store_get_name(j->n->store, &kv[i].key, &it->name, &len))
      continue;
    if (name_chunk_parse(it->name, len, it->hash, &it->file, &it->file_len)) {
      free(it->name);
      continue;
    }
    it->key = kv[i].key;
    it->version = kv[i].version;
    lj->n++;
  }
  qsort(lj->items, lj->n, sizeof(*lj->items), item_cmp);
out:
  free(kv);
}

static void sweep_end(struct node *n)
{
  struct chunk_gc *g = &n->chunk_gc;
  chunk_gc_close(g);
  g->running = false;
  g->sweeps++;
}

static void list_done(struct job *j)
{
  struct list_job *lj = (struct list_job *)j;
  struct node *n = j->n;
  struct chunk_gc *g = &n->chunk_gc;
  g->items = lj->items;
  g->n = lj->n;
  g->group = g->next = 0;
  free(lj);
  if (n->d.stopping) {
    sweep_end(n);
    return;
  }
  next_file(n);
}

/* ---- one file: read its entry, delete what it does not list ----------- */

static int hash_cmp(const void *a, const void *b)
{
  return memcmp(a, b, NAME_CHUNK_HASH_BYTES);
}

/* The manifest's chunk hashes, sorted (malloc'd), or NULL. */
static uint8_t *sorted_hashes(const Chord__V1__Manifest *m)
{
  uint8_t *h = malloc(m->n_chunks ? m->n_chunks * NAME_CHUNK_HASH_BYTES : 1);
  if (!h)
    return NULL;
  for (size_t i = 0; i < m->n_chunks; i++) {
    if (m->chunks[i].len != NAME_CHUNK_HASH_BYTES) {
      free(h);
      return NULL;
    }
    memcpy(h + i * NAME_CHUNK_HASH_BYTES, m->chunks[i].data,
           NAME_CHUNK_HASH_BYTES);
  }
  qsort(h, m->n_chunks, NAME_CHUNK_HASH_BYTES, hash_cmp);
  return h;
}

static void on_deleted(struct rpc_result *r, void *ud)
{
  struct node *n = ud;
  struct chunk_gc *g = &n->chunk_gc;
  if (r->status.code == GRPC_STATUS_OK)
    g->collected++;
  else if (r->status.code != GRPC_STATUS_FAILED_PRECONDITION &&
           r->status.code != GRPC_STATUS_NOT_FOUND)
    LOG_INFO("chunk sweep: a delete failed: %s", r->status.message);
  if (--g->pending == 0)
    next_file(n);
}

/* Deletes candidate i, exactly at the version listed. */
static void collect(struct node *n, struct gc_item *it)
{
  Chord__V1__DeleteRequest req = CHORD__V1__DELETE_REQUEST__INIT;
  struct rpc_req r = {.target = n->self.addr,
                      .method = "/chord.v1.Node/Delete",
                      .msg = &req.base,
                      .resp_desc = &chord__v1__delete_response__descriptor,
                      .deadline =
                          rpc_deadline_in((int64_t)n->o.forward_timeout_ms)};
  req.name = it->name;
  req.version = it->version;
  if (rpc_client_call(n->d.client, &r, on_deleted, n) == 0)
    n->chunk_gc.pending++;
}

static void on_file_read(struct rpc_result *r, void *ud)
{
  struct node *n = ud;
  struct chunk_gc *g = &n->chunk_gc;
  const Chord__V1__ReadResponse *resp =
      (const Chord__V1__ReadResponse *)r->resp;
  Chord__V1__Manifest *m = NULL;
  uint8_t *listed = NULL;
  uint64_t cutoff = node_wall_us() - n->o.chunk_grace_ms * 1000u;
  bool known = false;

  if (n->d.stopping) {
    sweep_end(n);
    return;
  }
  if (r->status.code == GRPC_STATUS_NOT_FOUND) {
    known = true; /* no entry at all: nothing lists these */
  } else if (r->status.code == GRPC_STATUS_OK && resp && resp->file) {
    const Chord__V1__File *f = resp->file;
    /* Unreferenced only since f was written: wait out the grace period
     * from then, for readers of the version before. */
    known = f->version < cutoff;
    if (known && f->manifest && !f->deleted) {
      if (codec_decode_bytes(f->content.data, f->content.len,
                             &chord__v1__manifest__descriptor,
                             (ProtobufCMessage **)&m) ||
          !(listed = sorted_hashes(m)))
        known = false; /* cannot tell what it lists: keep everything */
    }
  }
  g->pending = 1; /* held while the deletes start */
  for (size_t i = g->group; known && i < g->next; i++) {
    struct gc_item *it = &g->items[i];
    if (listed &&
        bsearch(it->hash, listed, m->n_chunks, NAME_CHUNK_HASH_BYTES, hash_cmp))
      continue;
    collect(n, it);
  }
  free(listed);
  codec_free((ProtobufCMessage *)m);
  if (--g->pending == 0)
    next_file(n);
}

/* Reads the next file's entry, or ends the sweep. */
static void next_file(struct node *n)
{
  struct chunk_gc *g = &n->chunk_gc;
  Chord__V1__ReadRequest req = CHORD__V1__READ_REQUEST__INIT;
  char *file;
  g->group = g->next;
  if (g->group >= g->n || n->d.stopping) {
    sweep_end(n);
    return;
  }
  struct gc_item *first = &g->items[g->group];
  for (g->next = g->group + 1; g->next < g->n; g->next++)
    if (item_cmp(first, &g->items[g->next]) != 0)
      break;
  file = strndup(first->file, first->file_len);
  if (!file) {
    sweep_end(n);
    return;
  }
  req.name = file;
  req.accept_manifest = true;
  req.include_deleted = true;
  struct rpc_req r = {.target = n->self.addr,
                      .method = "/chord.v1.Node/Read",
                      .msg = &req.base,
                      .resp_desc = &chord__v1__read_response__descriptor,
                      .deadline =
                          rpc_deadline_in((int64_t)n->o.forward_timeout_ms)};
  int rc = rpc_client_call(n->d.client, &r, on_file_read, n);
  free(file);
  if (rc)
    sweep_end(n);
}

/* ---- the timer ----------------------------------------------------------- */

static void on_timer(uv_timer_t *t)
{
  struct node *n = t->data;
  struct chunk_gc *g = &n->chunk_gc;
  uint64_t grace_us = n->o.chunk_grace_ms * 1000u, now = node_wall_us();
  struct list_job *lj;
  if (g->running || n->d.stopping || n->state != NODE_JOINED || now <= grace_us)
    return;
  lj = calloc(1, sizeof(*lj));
  if (!lj)
    return;
  if (!ring_served_range(&n->ring, &lj->lo, &lj->hi)) {
    free(lj);
    return;
  }
  lj->older_than = now - grace_us;
  lj->j.n = n;
  lj->j.work = list_work;
  lj->j.done = list_done;
  g->running = true;
  jobs_submit(&n->jobs, &lj->j);
}

void chunk_gc_start(struct node *n)
{
  uint64_t period = n->o.chunk_grace_ms / 4;
  if (period < GC_MIN_PERIOD_MS)
    period = GC_MIN_PERIOD_MS;
  if (period > GC_MAX_PERIOD_MS)
    period = GC_MAX_PERIOD_MS;
  uv_timer_start(&n->chunk_gc.timer, on_timer, period, period);
}
