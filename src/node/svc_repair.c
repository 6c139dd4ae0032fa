/* SPDX-License-Identifier: MIT */
/* The ring face of replication: Fetch (the entries held under some keys,
 * for a read's fallback and repair's pull) and SyncDigest (one side of a
 * repair's comparison). Both read the store on a job. */
#include <stdlib.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "common/err.h"
#include "node/digest.h"
#include "node/node.h"
#include "node/svc.h"
#include "node/transfer.h"

#define FETCH_KEYS_MAX 4096

/* ---- Fetch ----------------------------------------------------------------
 */

struct fetch {
  struct job j;
  struct rpc_srv_call *call; /* NULL once the server answered it itself */
  struct chord_id *keys;
  size_t nkeys, looked;
  struct xfer_batch batch;
  int rc;
};

static void fetch_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct fetch *f = ud;
  (void)call;
  f->call = NULL;
}

static void fetch_work(struct job *j)
{
  struct fetch *f = (struct fetch *)j;
  f->rc = xfer_collect_keys(j->n->store, f->keys, f->nkeys, 0,
                            j->n->o.page_bytes, &f->batch, &f->looked);
}

static void fetch_done(struct job *j)
{
  struct fetch *f = (struct fetch *)j;
  struct xfer_wire w;
  if (f->call) {
    rpc_srv_on_cancel(f->call, NULL, NULL);
    if (f->rc || xfer_wire_make(&f->batch, &w)) {
      rpc_srv_reply_error(
          f->call, rpc_err_to_status(f->rc ? f->rc : CHORD_ENOMEM),
          "fetch failed: %s", chord_strerror(f->rc ? f->rc : CHORD_ENOMEM));
    } else {
      Chord__V1__FetchResponse resp = CHORD__V1__FETCH_RESPONSE__INIT;
      resp.n_files = f->batch.n;
      resp.files = w.ptrs;
      resp.looked = (uint32_t)f->looked;
      rpc_srv_reply(f->call, &resp.base);
      xfer_wire_free(&w);
    }
  }
  xfer_batch_clear(&f->batch);
  free(f->keys);
  free(f);
}

void svc_on_fetch(struct rpc_srv_call *call, const ProtobufCMessage *req,
                  void *ud)
{
  struct node *n = ud;
  const Chord__V1__FetchRequest *r = (const Chord__V1__FetchRequest *)req;
  struct fetch *f;
  if (r->n_keys > FETCH_KEYS_MAX) {
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT,
                        "%zu keys: at most %d a call", r->n_keys,
                        FETCH_KEYS_MAX);
    return;
  }
  f = calloc(1, sizeof(*f));
  if (f)
    f->keys = calloc(r->n_keys + 1, sizeof(*f->keys));
  if (!f || !f->keys) {
    free(f);
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  for (size_t i = 0; i < r->n_keys; i++) {
    if (chord_id_from_bytes(&f->keys[i], r->keys[i].data, r->keys[i].len)) {
      free(f->keys);
      free(f);
      rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT,
                          "key %zu is not 20 bytes", i);
      return;
    }
  }
  f->nkeys = r->n_keys;
  f->j.n = n;
  f->call = call;
  f->j.work = fetch_work;
  f->j.done = fetch_done;
  rpc_srv_on_cancel(call, fetch_on_cancel, f);
  jobs_submit(&n->jobs, &f->j);
}

/* ---- SyncDigest -----------------------------------------------------------
 */

struct sync {
  struct job j;
  struct rpc_srv_call *call;
  struct chord_id lo, hi;
  unsigned bits;
  bool digests_only;
  struct digest_bucket *theirs; /* sorted by index */
  size_t ntheirs;
  uint32_t *differ;
  size_t ndiffer;
  struct store_kv *held; /* in the differing buckets */
  size_t nheld;
  int rc;
};

static void sync_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct sync *s = ud;
  (void)call;
  s->call = NULL;
}

static int cmp_bucket(const void *a, const void *b)
{
  const struct digest_bucket *x = a, *y = b;
  return x->index < y->index ? -1 : x->index > y->index;
}

static void sync_work(struct job *j)
{
  struct sync *s = (struct sync *)j;
  struct store_kv *kv = NULL;
  struct digest_bucket *mine = NULL;
  size_t nkv = 0, nmine = 0;
  s->rc = store_versions_in(j->n->store, &s->lo, &s->hi, &kv, &nkv);
  if (!s->rc)
    s->rc = digest_buckets(kv, nkv, s->bits, &mine, &nmine);
  if (!s->rc)
    s->rc = digest_differ(s->theirs, s->ntheirs, mine, nmine, &s->differ,
                          &s->ndiffer);
  if (!s->rc && !s->digests_only) {
    for (size_t i = 0; i < nkv; i++)
      if (digest_in_buckets(&kv[i].key, s->bits, s->differ, s->ndiffer))
        kv[s->nheld++] = kv[i];
    s->held = kv;
    kv = NULL;
  }
  free(kv);
  free(mine);
}

static void sync_done(struct job *j)
{
  struct sync *s = (struct sync *)j;
  Chord__V1__KeyVersion *kvs = NULL, **ptrs = NULL;
  if (s->call) {
    rpc_srv_on_cancel(s->call, NULL, NULL);
    if (!s->rc && s->nheld) {
      kvs = calloc(s->nheld, sizeof(*kvs));
      ptrs = calloc(s->nheld, sizeof(*ptrs));
      if (!kvs || !ptrs)
        s->rc = CHORD_ENOMEM;
    }
    if (s->rc) {
      rpc_srv_reply_error(s->call, rpc_err_to_status(s->rc),
                          "digest failed: %s", chord_strerror(s->rc));
    } else {
      Chord__V1__SyncDigestResponse resp =
          CHORD__V1__SYNC_DIGEST_RESPONSE__INIT;
      for (size_t i = 0; i < s->nheld; i++) {
        chord__v1__key_version__init(&kvs[i]);
        kvs[i].key.data = s->held[i].key.b;
        kvs[i].key.len = CHORD_ID_BYTES;
        kvs[i].version = s->held[i].version;
        kvs[i].deleted = s->held[i].deleted;
        ptrs[i] = &kvs[i];
      }
      resp.n_differ = s->ndiffer;
      resp.differ = s->differ;
      resp.n_held = s->nheld;
      resp.held = ptrs;
      rpc_srv_reply(s->call, &resp.base);
    }
  }
  free(kvs);
  free(ptrs);
  free(s->theirs);
  free(s->differ);
  free(s->held);
  free(s);
}

void svc_on_sync_digest(struct rpc_srv_call *call, const ProtobufCMessage *req,
                        void *ud)
{
  struct node *n = ud;
  const Chord__V1__SyncDigestRequest *r =
      (const Chord__V1__SyncDigestRequest *)req;
  struct sync *s;
  const char *why = NULL;
  if (r->bits > DIGEST_BITS_MAX)
    why = "bits over 16";
  else if (r->n_buckets > ((size_t)1 << r->bits))
    why = "more buckets than the bits allow";
  s = why ? NULL : calloc(1, sizeof(*s));
  if (s) {
    s->theirs = calloc(r->n_buckets + 1, sizeof(*s->theirs));
    if (!s->theirs) {
      free(s);
      s = NULL;
    }
  }
  if (!why && !s) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  if (!why && (chord_id_from_bytes(&s->lo, r->lo.data, r->lo.len) ||
               chord_id_from_bytes(&s->hi, r->hi.data, r->hi.len)))
    why = "lo and hi must be 20 bytes";
  for (size_t i = 0; !why && i < r->n_buckets; i++) {
    const Chord__V1__BucketDigest *b = r->buckets[i];
    if (b->digest.len != CHORD_ID_BYTES)
      why = "a bucket digest is not 20 bytes";
    else if (r->bits < 32 && b->index >= (1u << r->bits))
      why = "a bucket index is out of range";
    else {
      s->theirs[i].index = b->index;
      memcpy(s->theirs[i].sum, b->digest.data, CHORD_ID_BYTES);
    }
  }
  if (why) {
    if (s)
      free(s->theirs);
    free(s);
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT, "%s", why);
    return;
  }
  s->ntheirs = r->n_buckets;
  qsort(s->theirs, s->ntheirs, sizeof(*s->theirs), cmp_bucket);
  for (size_t i = 1; i < s->ntheirs; i++) {
    if (s->theirs[i].index == s->theirs[i - 1].index) {
      free(s->theirs);
      free(s);
      rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT,
                          "a bucket is listed twice");
      return;
    }
  }
  s->bits = r->bits;
  s->digests_only = r->digests_only;
  s->j.n = n;
  s->call = call;
  s->j.work = sync_work;
  s->j.done = sync_done;
  rpc_srv_on_cancel(call, sync_on_cancel, s);
  jobs_submit(&n->jobs, &s->j);
}
