/* SPDX-License-Identifier: MIT */
/* Fuzzes every request decoder: the input of each method of chord.v1.Node,
 * chord.v1.Supernode and grpc.health.v1.Health, decoded as rpc_server.c
 * does (codec_decode of a gRPC byte buffer), then the checks its handler
 * runs, a re-encoding (what forwarding sends) that must decode to the same
 * bytes, and codec_free. Input: byte 0 picks the method (low 7 bits, modulo
 * their number) and, with bit 7, a byte buffer of three slices instead of
 * one; the rest is the message. */
#include <stdbool.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/slice.h>

#include "chord/v1/node.pb-c.h"
#include "chord/v1/supernode.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "common/addr.h"
#include "common/codec.h"
#include "common/err.h"
#include "common/finger.h"
#include "common/manifest.h"
#include "common/name.h"
#include "common/nodeinfo.h"
#include "fuzz.h"
#include "node/digest.h"
#include "node/store.h"
#include "node/transfer.h"

#define DECODE_MAX_METHODS 64
#define DECODE_PARTS 3
#define DECODE_FETCH_MAX 4096 /* svc_repair.c's FETCH_KEYS_MAX */
#define DECODE_REPLICAS 3

static const ProtobufCServiceDescriptor *const services[] = {
    &chord__v1__node__descriptor,
    &chord__v1__supernode__descriptor,
    &grpc__health__v1__health__descriptor,
};

/* Every method's input, in service then method order (the corpus
 * generator, fuzz/make-corpus.py, numbers them the same way). */
static const ProtobufCMessageDescriptor *inputs[DECODE_MAX_METHODS];
static size_t ninputs;

static struct finger_table table; /* too big for the stack */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  for (size_t s = 0; s < sizeof(services) / sizeof(services[0]); s++) {
    for (unsigned i = 0; i < services[s]->n_methods; i++) {
      FUZZ_CHECK(ninputs < DECODE_MAX_METHODS, "too many methods");
      inputs[ninputs++] = services[s]->methods[i].input;
    }
  }
  return 0;
}

/* A gRPC byte buffer over an exact-size copy of data (so that ASan sees
 * any read past it), in parts slices. */
static grpc_byte_buffer *buffer_of(const uint8_t *data, size_t len,
                                   size_t parts)
{
  grpc_slice s[DECODE_PARTS];
  size_t off = 0;
  for (size_t i = 0; i < parts; i++) {
    size_t end = len * (i + 1) / parts;
    uint8_t *copy = malloc(end - off ? end - off : 1);
    FUZZ_CHECK(copy, "out of memory");
    memcpy(copy, data + off, end - off);
    s[i] = grpc_slice_new(copy, end - off, free);
    off = end;
  }
  grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(s, parts);
  for (size_t i = 0; i < parts; i++)
    grpc_slice_unref(s[i]);
  FUZZ_CHECK(bb, "grpc_raw_byte_buffer_create");
  return bb;
}

/* The packed bytes of m, malloc'd; *len their number. */
static uint8_t *packed(const ProtobufCMessage *m, size_t *len)
{
  *len = protobuf_c_message_get_packed_size(m);
  uint8_t *p = malloc(*len ? *len : 1);
  FUZZ_CHECK(p, "out of memory");
  FUZZ_CHECK(protobuf_c_message_pack(m, p) == *len, "pack size");
  return p;
}

static void check_same(const ProtobufCMessage *a, const ProtobufCMessage *b,
                       const char *what)
{
  size_t la, lb;
  uint8_t *pa = packed(a, &la), *pb = packed(b, &lb);
  FUZZ_CHECK(la == lb && memcmp(pa, pb, la) == 0, what);
  free(pa);
  free(pb);
}

/* A decoded name passed codec's checks (UTF-8, no NUL), so name_check
 * refuses a file name only for its length (chunk names, whose rules
 * fuzz_name checks, at most NAME_MAX_STORED bytes). */
static bool check_name(const char *name)
{
  const char *why = NULL;
  size_t len = strlen(name);
  int rc = name_check(name, len, &why);
  FUZZ_CHECK((rc == 0) == (why == NULL), "name_check: a reason iff refused");
  if (name_is_chunk(name, len))
    FUZZ_CHECK(rc != 0 || len <= NAME_MAX_STORED, "a chunk name too long");
  else
    FUZZ_CHECK((rc == 0) == (len >= 1 && len <= NAME_MAX_BYTES),
               "name_check refused a decoded name for more than its length");
  if (rc == 0) {
    struct chord_id key;
    chord_id_sha1_str(&key, name);
  }
  return rc == 0;
}

static bool check_peer(const Chord__V1__NodeInfo *ni, struct chord_peer *p)
{
  const char *why = NULL;
  int rc = nodeinfo_to_peer(ni, p, &why);
  FUZZ_CHECK((rc == 0) == (why == NULL), "nodeinfo_to_peer: a reason iff "
                                         "refused");
  if (rc == 0) {
    FUZZ_CHECK(memcmp(p->id.b, ni->id.data, CHORD_ID_BYTES) == 0, "peer id");
    FUZZ_CHECK(strcmp(p->addr, ni->addr) == 0, "peer address");
    FUZZ_CHECK(addr_validate(p->addr, 0) == 0, "accepted a bad address");
  }
  return rc == 0;
}

static void check_key(const ProtobufCBinaryData *b)
{
  struct chord_id id;
  int rc = chord_id_from_bytes(&id, b->data, b->len);
  FUZZ_CHECK((rc == 0) == (b->len == CHORD_ID_BYTES), "chord_id_from_bytes");
}

/* svc_on_write's manifest check: what it accepts is consistent. */
static void check_manifest(const Chord__V1__File *f)
{
  static const struct manifest_limits lim = {
      .max_object = MANIFEST_DEFAULT_MAX_OBJECT,
      .max_chunk = NAME_DEFAULT_MAX_FILE};
  Chord__V1__Manifest *m = NULL;
  const char *why = NULL;
  if (codec_decode_bytes(f->content.data, f->content.len,
                         &chord__v1__manifest__descriptor,
                         (ProtobufCMessage **)&m))
    return;
  int rc = manifest_check(m, &lim, &why);
  FUZZ_CHECK(rc == 0 || rc == CHORD_EINVAL || rc == CHORD_ETOOBIG,
             "manifest_check error code");
  FUZZ_CHECK((rc == 0) == (why == NULL), "a reason iff refused");
  if (rc == 0) {
    uint64_t sum = 0;
    FUZZ_CHECK(m->n_chunks == manifest_chunks_for(m->size, m->chunk_size),
               "an accepted manifest's chunk count");
    for (size_t i = 0; i < m->n_chunks; i++) {
      uint64_t len = manifest_chunk_len(m, i);
      FUZZ_CHECK(len >= 1 && len <= m->chunk_size, "a chunk's length");
      FUZZ_CHECK(m->chunks[i].len == NAME_CHUNK_HASH_BYTES, "a chunk hash");
      sum += len;
    }
    FUZZ_CHECK(sum == m->size, "chunk lengths add up to the size");
  }
  codec_free((ProtobufCMessage *)m);
}

static void check_write(const Chord__V1__WriteRequest *r)
{
  if (!r->file || !check_name(r->file->name) ||
      r->file->content.len > NAME_DEFAULT_MAX_FILE)
    return;
  if (r->file->manifest)
    check_manifest(r->file);
  struct store_entry *e =
      store_entry_create(r->file->name, strlen(r->file->name),
                         r->file->content.data, r->file->content.len, 1);
  FUZZ_CHECK(e, "store_entry_create");
  FUZZ_CHECK(e->len == r->file->content.len, "entry length");
  FUZZ_CHECK(e->chunk == name_is_chunk(e->name, e->name_len), "chunk flag");
  store_entry_unref(e);
}

static void check_lookup(const Chord__V1__LookupRequest *r)
{
  struct chord_peer p;
  if (r->key.len)
    check_key(&r->key);
  else
    check_name(r->name);
  for (size_t i = 0; i < r->n_path; i++)
    check_peer(r->path[i], &p);
}

/* svc_on_update_dht: every member checked, then the finger table built
 * from them (node_install). */
static void check_update_dht(const Chord__V1__UpdateDHTRequest *r)
{
  struct chord_peer self = {{{0}}, "127.0.0.1:1"};
  struct chord_peer *list = calloc(r->n_members + 1, sizeof(*list));
  FUZZ_CHECK(list, "out of memory");
  for (size_t i = 0; i < r->n_members; i++) {
    if (!check_peer(r->members[i], &list[i])) {
      free(list);
      return;
    }
  }
  int rc = finger_build(&table, &self, list, r->n_members, DECODE_REPLICAS);
  FUZZ_CHECK(rc == 0, "finger_build refused checked members");
  FUZZ_CHECK(table.nsucc >= 1 && table.nsucc <= DECODE_REPLICAS,
             "successor list length");
  free(list);
}

static void check_transfer(const Chord__V1__TransferKeysRequest *r)
{
  struct chord_peer p;
  check_peer(r->requester, &p);
  check_key(&r->from);
  check_key(&r->to);
  if (r->after.len)
    check_key(&r->after);
}

/* svc_on_replicate: xfer_batch_from_wire takes or refuses the whole. */
static void check_replicate(const Chord__V1__ReplicateRequest *r)
{
  struct xfer_batch b;
  struct chord_peer p;
  const char *why = NULL;
  uint64_t maxv = 0;
  check_peer(r->from, &p);
  int rc =
      xfer_batch_from_wire(&b, r->files, r->n_files, r->deleted, r->n_deleted,
                           NAME_DEFAULT_MAX_FILE, &maxv, &why);
  if (rc) {
    FUZZ_CHECK(rc == CHORD_EINVAL && why, "refused without a reason");
    FUZZ_CHECK(b.n == 0 && !b.entries && !b.deleted, "refused, not empty");
    return;
  }
  FUZZ_CHECK(b.n == r->n_files && b.ndeleted == r->n_deleted, "batch size");
  for (size_t i = 0; i < b.n; i++) {
    const struct store_entry *e = b.entries[i];
    FUZZ_CHECK(xfer_version_ok(e->version) && e->version <= maxv,
               "a version out of range");
    FUZZ_CHECK(strcmp(e->name, r->files[i]->name) == 0, "entry name");
    FUZZ_CHECK(!e->deleted || e->len == 0, "a tombstone with content");
  }
  xfer_batch_clear(&b);
}

static void check_fetch(const Chord__V1__FetchRequest *r)
{
  if (r->n_keys > DECODE_FETCH_MAX)
    return;
  for (size_t i = 0; i < r->n_keys; i++)
    check_key(&r->keys[i]);
}

static int cmp_bucket(const void *a, const void *b)
{
  const struct digest_bucket *x = a, *y = b;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* svc_on_sync_digest's checks, then the caller's buckets against none of
 * ours: every one of them differs. */
static void check_sync_digest(const Chord__V1__SyncDigestRequest *r)
{
  struct digest_bucket *theirs;
  uint32_t *differ = NULL;
  size_t ndiffer = 0;
  check_key(&r->lo);
  check_key(&r->hi);
  if (r->bits > DIGEST_BITS_MAX || r->n_buckets > ((size_t)1 << r->bits))
    return;
  theirs = calloc(r->n_buckets + 1, sizeof(*theirs));
  FUZZ_CHECK(theirs, "out of memory");
  for (size_t i = 0; i < r->n_buckets; i++) {
    const Chord__V1__BucketDigest *b = r->buckets[i];
    if (b->digest.len != CHORD_ID_BYTES || b->index >= (1u << r->bits))
      goto out;
    theirs[i].index = b->index;
    memcpy(theirs[i].sum, b->digest.data, CHORD_ID_BYTES);
  }
  qsort(theirs, r->n_buckets, sizeof(*theirs), cmp_bucket);
  for (size_t i = 1; i < r->n_buckets; i++)
    if (theirs[i].index == theirs[i - 1].index)
      goto out;
  FUZZ_CHECK(digest_differ(theirs, r->n_buckets, NULL, 0, &differ, &ndiffer) ==
                 0,
             "digest_differ");
  FUZZ_CHECK(ndiffer == r->n_buckets, "a bucket of one side only differs");
  for (size_t i = 0; i < ndiffer; i++)
    FUZZ_CHECK(differ[i] == theirs[i].index, "differing bucket order");
  free(differ);
out:
  free(theirs);
}

/* The checks the handler of d's method runs on a decoded request. */
static void check_request(const ProtobufCMessageDescriptor *d,
                          const ProtobufCMessage *m)
{
  struct chord_peer p;
  if (d == &chord__v1__read_request__descriptor)
    check_name(((const Chord__V1__ReadRequest *)m)->name);
  else if (d == &chord__v1__delete_request__descriptor)
    check_name(((const Chord__V1__DeleteRequest *)m)->name);
  else if (d == &chord__v1__write_request__descriptor)
    check_write((const Chord__V1__WriteRequest *)m);
  else if (d == &chord__v1__lookup_request__descriptor)
    check_lookup((const Chord__V1__LookupRequest *)m);
  else if (d == &chord__v1__update_dhtrequest__descriptor)
    check_update_dht((const Chord__V1__UpdateDHTRequest *)m);
  else if (d == &chord__v1__find_successor_request__descriptor)
    check_key(&((const Chord__V1__FindSuccessorRequest *)m)->id);
  else if (d == &chord__v1__notify_request__descriptor)
    check_peer(((const Chord__V1__NotifyRequest *)m)->node, &p);
  else if (d == &chord__v1__transfer_keys_request__descriptor)
    check_transfer((const Chord__V1__TransferKeysRequest *)m);
  else if (d == &chord__v1__replicate_request__descriptor)
    check_replicate((const Chord__V1__ReplicateRequest *)m);
  else if (d == &chord__v1__fetch_request__descriptor)
    check_fetch((const Chord__V1__FetchRequest *)m);
  else if (d == &chord__v1__sync_digest_request__descriptor)
    check_sync_digest((const Chord__V1__SyncDigestRequest *)m);
  else if (d == &chord__v1__join_request__descriptor)
    check_peer(((const Chord__V1__JoinRequest *)m)->node, &p);
  else if (d == &chord__v1__post_join_request__descriptor)
    check_peer(((const Chord__V1__PostJoinRequest *)m)->node, &p);
  else if (d == &chord__v1__leave_request__descriptor)
    check_peer(((const Chord__V1__LeaveRequest *)m)->node, &p);
  else if (d == &chord__v1__heartbeat_request__descriptor)
    check_peer(((const Chord__V1__HeartbeatRequest *)m)->node, &p);
  else if (d == &grpc__health__v1__health_check_request__descriptor)
    FUZZ_CHECK(((const Grpc__Health__V1__HealthCheckRequest *)m)->service,
               "a decoded string is NULL");
}

/* What forwarding does: encode the decoded request again. The next node
 * must accept it and read the same message. */
static void check_reencode(const ProtobufCMessageDescriptor *d,
                           const ProtobufCMessage *m)
{
  ProtobufCMessage *again;
  grpc_byte_buffer *bb = codec_encode(m);
  FUZZ_CHECK(bb, "codec_encode");
  int rc = codec_decode(bb, d, &again);
  grpc_byte_buffer_destroy(bb);
  FUZZ_CHECK(rc == 0, "a decoded request does not decode once re-encoded");
  check_same(m, again, "a re-encoded request decodes differently");
  codec_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  ProtobufCMessage *flat, *m;
  if (size < 1)
    return 0;
  const ProtobufCMessageDescriptor *d = inputs[(data[0] & 0x7f) % ninputs];
  size_t parts = data[0] & 0x80 ? DECODE_PARTS : 1;
  data++;
  size--;

  /* The server's path, and the flat one it takes for one slice: the same
   * answer either way. */
  grpc_byte_buffer *bb = buffer_of(data, size, parts);
  int rc = codec_decode(bb, d, &m);
  grpc_byte_buffer_destroy(bb);
  int rc_flat = codec_decode_bytes(data, size, d, &flat);
  FUZZ_CHECK(rc == rc_flat, "codec_decode and codec_decode_bytes disagree");
  FUZZ_CHECK(rc == 0 || rc == CHORD_EINVAL, "decode error code");
  FUZZ_CHECK((rc == 0) == (m != NULL), "decode: a message iff 0");
  if (rc)
    return 0;
  check_same(m, flat, "codec_decode and codec_decode_bytes read apart");
  codec_free(flat);
  check_request(d, m);
  check_reencode(d, m);
  codec_free(m);
  return 0;
}
