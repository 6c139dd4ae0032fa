/* SPDX-License-Identifier: MIT */
/* One op per client request the owner serves; its steps run as store
 * jobs and replica fan-outs, each continuing the next, and the op is
 * freed after its answer. A client that gave up (the call cancelled)
 * still has its write finished everywhere: only the answer is skipped. */
#include "node/owner.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "chord/v1/node.pb-c.h"
#include "common/err.h"
#include "common/name.h"
#include "common/nodeinfo.h"
#include "node/node.h"
#include "node/repair.h"
#include "node/replica.h"
#include "node/transfer.h"

struct op {
  struct job j;
  struct rpc_srv_call *call; /* NULL once the server answered it itself */
  struct chord_id key;
  struct store_entry *e; /* the entry stored, read or replaced */
  uint32_t hops;
  unsigned tries;        /* versions given to this change */
  gpr_timespec deadline; /* the client's (infinite when it set none) */
  uint64_t charged;      /* bytes counted in n->write_bytes */
  unsigned flags;        /* OWNER_* (reads) */
  uint64_t exact;        /* a delete of this version only; 0: any */
  bool verify;           /* a chunk to check against its name first */
  int rc;
};

static void op_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct op *o = ud;
  (void)call;
  o->call = NULL;
}

static struct op *op_new(struct node *n, struct rpc_srv_call *call,
                         const struct chord_id *key, uint32_t hops)
{
  struct op *o = calloc(1, sizeof(*o));
  if (!o) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return NULL;
  }
  o->j.n = n;
  o->call = call;
  o->key = *key;
  o->hops = hops;
  o->deadline = rpc_srv_deadline(call);
  rpc_srv_on_cancel(call, op_on_cancel, o);
  return o;
}

/* Claims the op's call for answering; NULL when already answered. */
static struct rpc_srv_call *op_call(struct op *o)
{
  struct rpc_srv_call *c = o->call;
  o->call = NULL;
  if (c)
    rpc_srv_on_cancel(c, NULL, NULL);
  return c;
}

static void op_free(struct op *o)
{
  struct rpc_srv_call *c = op_call(o);
  if (c) /* every path answers before this; a safety net */
    rpc_srv_reply_error(c, GRPC_STATUS_INTERNAL, "no answer");
  o->j.n->write_bytes -= o->charged;
  store_entry_unref(o->e);
  free(o);
}

static void reply_store_error(struct rpc_srv_call *c, int rc, const char *what)
{
  rpc_srv_reply_error(c, rpc_err_to_status(rc), "%s failed: %s", what,
                      chord_strerror(rc));
}

static void submit(struct op *o, job_cb work, job_cb done)
{
  o->j.work = work;
  o->j.done = done;
  jobs_submit(&o->j.n->jobs, &o->j);
}

/* ---- write and delete: stored here, then on the replica set ----------- */

static void on_replicated(void *ud, unsigned copies, bool short_)
{
  struct op *o = ud;
  struct node *n = o->j.n;
  struct rpc_srv_call *c = op_call(o);
  Chord__V1__NodeInfo owner;
  nodeinfo_from_peer(&owner, &n->self);
  if (c && short_) {
    /* Not acknowledged: the client retries; the copies made stay, and
     * repair completes them. */
    rpc_srv_reply_error_detail(c, GRPC_STATUS_UNAVAILABLE,
                               RPC_DETAIL_UNREACHABLE,
                               "stored on %u of %u replicas before the "
                               "deadline; retry",
                               copies + 1, n->o.replicas);
  } else if (c && o->e->deleted) {
    Chord__V1__DeleteResponse resp = CHORD__V1__DELETE_RESPONSE__INIT;
    resp.hops = o->hops;
    resp.owner = &owner;
    resp.version = o->e->version;
    resp.copies = copies + 1;
    rpc_srv_reply(c, &resp.base);
  } else if (c) {
    Chord__V1__WriteResponse resp = CHORD__V1__WRITE_RESPONSE__INIT;
    resp.hops = o->hops;
    resp.owner = &owner;
    resp.version = o->e->version;
    resp.copies = copies + 1;
    rpc_srv_reply(c, &resp.base);
  }
  op_free(o);
}

/* Whether a chunk's content hashes to the SHA-256 its name carries. */
static bool chunk_matches(const struct store_entry *e)
{
  uint8_t want[NAME_CHUNK_HASH_BYTES], got[EVP_MAX_MD_SIZE];
  unsigned int glen = 0;
  const char *file;
  size_t flen;
  if (name_chunk_parse(e->name, e->name_len, want, &file, &flen))
    return false;
  if (!EVP_Digest(e->content, e->len, got, &glen, EVP_sha256(), NULL) ||
      glen != sizeof(want))
    return false;
  return memcmp(want, got, sizeof(want)) == 0;
}

static void put_work(struct job *j)
{
  struct op *o = (struct op *)j;
  if (o->verify && !chunk_matches(o->e)) {
    o->rc = CHORD_EINVAL;
    return;
  }
  o->verify = false;
  o->rc = store_put(j->n->store, o->e, STORE_PUT_IF_NEWER);
}

/* A version at least as new came in (a replica push, a pull) between our
 * choice of version and the put: the change is the client's latest, so
 * it goes again above it (the clock has seen it by now). */
static bool put_again(struct op *o)
{
  struct node *n = o->j.n;
  struct store_entry *e;
  if (o->rc != CHORD_EEXIST || o->exact || ++o->tries >= 3)
    return false;
  if (o->e->deleted)
    e = store_tombstone_create(o->e->name, o->e->name_len,
                               node_version_next(n));
  else if (o->e->manifest)
    e = store_manifest_create(o->e->name, o->e->name_len, o->e->content,
                              o->e->len, node_version_next(n));
  else
    e = store_entry_create(o->e->name, o->e->name_len, o->e->content, o->e->len,
                           node_version_next(n));
  if (!e)
    return false;
  store_entry_unref(o->e);
  o->e = e;
  submit(o, put_work, o->j.done);
  return true;
}

static void put_done(struct job *j)
{
  struct op *o = (struct op *)j;
  if (put_again(o))
    return;
  if (o->rc == CHORD_EEXIST && o->exact) {
    struct rpc_srv_call *c = op_call(o);
    if (c)
      rpc_srv_reply_error(c, GRPC_STATUS_FAILED_PRECONDITION,
                          "a newer version came in: version %llu is gone",
                          (unsigned long long)o->exact);
    op_free(o);
    return;
  }
  if (o->rc == CHORD_EEXIST)
    o->rc = CHORD_EUNAVAIL; /* newer versions keep coming: retry */
  if (o->rc) {
    struct rpc_srv_call *c = op_call(o);
    if (c && o->rc == CHORD_EINVAL)
      rpc_srv_reply_error(c, GRPC_STATUS_INVALID_ARGUMENT,
                          "the chunk's content does not match the SHA-256 "
                          "in its name");
    else if (c)
      reply_store_error(c, o->rc, o->e->deleted ? "deleting" : "storing");
    op_free(o);
    return;
  }
  replica_send(j->n, o->e, o->deadline, on_replicated, o);
}

static void store_and_replicate(struct op *o)
{
  node_touch(o->j.n, &o->key);
  o->j.work = put_work;
  o->j.done = put_done;
  if (o->verify) /* hashing a chunk: off the loop, whatever the store */
    jobs_submit_heavy(&o->j.n->jobs, &o->j);
  else
    jobs_submit(&o->j.n->jobs, &o->j);
}

void owner_write(struct node *n, struct rpc_srv_call *call,
                 struct store_entry *e, uint32_t hops)
{
  /* Writes wait here for the disk and the replicas: bound what they hold,
   * so that a flood is refused instead of growing without limit. */
  if (n->write_bytes + e->len > n->o.max_inflight && n->write_bytes > 0) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                        "%llu bytes of writes are under way here (limit "
                        "%llu): retry later",
                        (unsigned long long)n->write_bytes,
                        (unsigned long long)n->o.max_inflight);
    store_entry_unref(e);
    return;
  }
  struct op *o = op_new(n, call, &e->key, hops);
  if (!o) {
    store_entry_unref(e);
    return;
  }
  o->e = e;
  o->verify = e->chunk;
  o->charged = e->len;
  n->write_bytes += e->len;
  store_and_replicate(o);
}

/* ---- read: here, else the newest any other replica holds -------------- */

static void get_work(struct job *j)
{
  struct op *o = (struct op *)j;
  o->rc = store_get(j->n->store, &o->key, &o->e);
}

static void reply_file(struct op *o)
{
  struct node *n = o->j.n;
  struct rpc_srv_call *c = op_call(o);
  if (!c)
    return;
  if (!o->e || (o->e->deleted && !(o->flags & OWNER_INCLUDE_DELETED))) {
    rpc_srv_reply_error(c, GRPC_STATUS_NOT_FOUND, "no such file");
    return;
  }
  if (o->e->manifest && !(o->flags & OWNER_ACCEPT_MANIFEST)) {
    rpc_srv_reply_error(c, GRPC_STATUS_FAILED_PRECONDITION,
                        "a chunked file: read it with chordctl, or set "
                        "ReadRequest.accept_manifest and read its chunks "
                        "(see Manifest in chord/v1/common.proto)");
    return;
  }
  Chord__V1__ReadResponse resp = CHORD__V1__READ_RESPONSE__INIT;
  Chord__V1__File f = CHORD__V1__FILE__INIT;
  Chord__V1__NodeInfo owner;
  nodeinfo_from_peer(&owner, &n->self);
  xfer_file_of(&f, o->e);
  resp.file = &f;
  resp.hops = o->hops;
  resp.owner = &owner;
  rpc_srv_reply(c, &resp.base);
}

static void repair_put_work(struct job *j)
{
  struct op *o = (struct op *)j;
  store_put(j->n->store, o->e, STORE_PUT_IF_NEWER);
}

static void repair_put_done(struct job *j)
{
  op_free((struct op *)j);
}

/* Keeps in o->e the newer of ours and best (taking best's reference);
 * true when best was newer. */
static bool take_newer(struct op *o, struct store_entry *best)
{
  if (!best || (o->e && store_entry_cmp(o->e, best) >= 0)) {
    store_entry_unref(best);
    return false;
  }
  store_entry_unref(o->e);
  o->e = best;
  return true;
}

/* Answers UNAVAILABLE when nothing live was found but a replica did not
 * answer: it may hold the file, and NOT_FOUND would tell the client an
 * acknowledged write is gone. true when it answered. */
static bool reply_unsure(struct op *o, bool complete)
{
  if (complete || (o->e && !o->e->deleted))
    return false;
  struct rpc_srv_call *c = op_call(o);
  if (c)
    rpc_srv_reply_error_detail(c, GRPC_STATUS_UNAVAILABLE,
                               RPC_DETAIL_UNREACHABLE,
                               "not here, and a replica did not answer; retry");
  op_free(o);
  return true;
}

/* A replica had newer than we: answer, then keep a copy (read repair). */
static void on_read_fetched(void *ud, struct store_entry *best, bool complete)
{
  struct op *o = ud;
  bool newer = take_newer(o, best);
  if (reply_unsure(o, complete))
    return;
  reply_file(o);
  if (!newer) {
    op_free(o);
    return;
  }
  submit(o, repair_put_work, repair_put_done);
}

/* Whether the replicas must be asked too: we lack the key, or our range
 * is not known in step with them (a pause, a new range). */
static bool ask_replicas(struct op *o)
{
  return o->rc == CHORD_ENOTFOUND || o->rc == CHORD_EIO ||
         (o->rc == 0 && !repair_synced(o->j.n));
}

static void get_done(struct job *j)
{
  struct op *o = (struct op *)j;
  if (ask_replicas(o)) {
    if (o->rc != 0)
      o->e = NULL; /* not here, or a corrupt file the store dropped */
    replica_fetch(j->n, &o->key, o->deadline, on_read_fetched, o);
    return;
  }
  if (o->rc) {
    struct rpc_srv_call *c = op_call(o);
    if (c)
      reply_store_error(c, o->rc, "reading");
  } else {
    reply_file(o);
  }
  op_free(o);
}

void owner_read(struct node *n, struct rpc_srv_call *call,
                const struct chord_id *key, uint32_t hops, unsigned flags)
{
  struct op *o = op_new(n, call, key, hops);
  if (!o)
    return;
  o->flags = flags;
  submit(o, get_work, get_done);
}

/* ---- delete: a tombstone where a live entry was ----------------------- */

static void tombstone(struct op *o, const struct store_entry *live)
{
  struct node *n = o->j.n;
  struct store_entry *t;
  if (o->exact && live->version != o->exact) {
    struct rpc_srv_call *c = op_call(o);
    if (c)
      rpc_srv_reply_error(c, GRPC_STATUS_FAILED_PRECONDITION,
                          "version %llu is stored, not %llu",
                          (unsigned long long)live->version,
                          (unsigned long long)o->exact);
    op_free(o);
    return;
  }
  /* An exact delete's tombstone goes just above the version it removes,
   * so that a write racing it (a later version) wins on every replica. */
  t = store_tombstone_create(live->name, live->name_len,
                             o->exact ? o->exact + 1 : node_version_next(n));
  store_entry_unref(o->e);
  o->e = t;
  if (!t) {
    struct rpc_srv_call *c = op_call(o);
    if (c)
      rpc_srv_reply_error(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    op_free(o);
    return;
  }
  store_and_replicate(o);
}

static void on_delete_fetched(void *ud, struct store_entry *best, bool complete)
{
  struct op *o = ud;
  take_newer(o, best);
  if (reply_unsure(o, complete))
    return;
  if (!o->e || o->e->deleted) {
    struct rpc_srv_call *c = op_call(o);
    if (c)
      rpc_srv_reply_error(c, GRPC_STATUS_NOT_FOUND, "no such file");
    op_free(o);
    return;
  }
  struct store_entry *live = store_entry_ref(o->e);
  tombstone(o, live);
  store_entry_unref(live);
}

static void del_get_done(struct job *j)
{
  struct op *o = (struct op *)j;
  struct rpc_srv_call *c;
  if (ask_replicas(o)) {
    if (o->rc != 0)
      o->e = NULL; /* not here, or a corrupt file the store dropped */
    replica_fetch(j->n, &o->key, o->deadline, on_delete_fetched, o);
    return;
  }
  if (o->rc == 0 && !o->e->deleted) {
    struct store_entry *live = store_entry_ref(o->e);
    tombstone(o, live);
    store_entry_unref(live);
    return;
  }
  c = op_call(o);
  if (c && o->rc)
    reply_store_error(c, o->rc, "deleting");
  else if (c)
    rpc_srv_reply_error(c, GRPC_STATUS_NOT_FOUND, "no such file");
  op_free(o);
}

void owner_delete(struct node *n, struct rpc_srv_call *call,
                  const struct chord_id *key, uint32_t hops, uint64_t version)
{
  struct op *o = op_new(n, call, key, hops);
  if (!o)
    return;
  o->exact = version;
  submit(o, get_work, del_get_done);
}
