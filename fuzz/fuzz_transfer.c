/* SPDX-License-Identifier: MIT */
/* Fuzzes the key-transfer wire decoder, xfer_batch_from_wire, on the files
 * and deleted keys of a TransferKeysResponse (pull.c), a ReplicateRequest
 * (svc_on_replicate) or a FetchResponse (repair.c, files only). A batch it
 * takes is applied to a mem store, which must then hold the newest entry
 * of each key; the store is read back whole and page by page
 * (xfer_collect_range), and the pages sent again must be taken.
 * Input: byte 0 picks the message (low 2 bits, modulo 3); bit 2 sets a
 * 64-byte file size limit instead of the default; bit 3 pages the whole
 * ring from the first file's key instead of from 0. The rest is the
 * message. */
#include <stdbool.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "common/codec.h"
#include "common/err.h"
#include "common/name.h"
#include "fuzz.h"
#include "node/store.h"
#include "node/transfer.h"

#define TRANSFER_SMALL_MAX 64

struct wire_in {
  Chord__V1__File **files;
  size_t nf;
  ProtobufCBinaryData *deleted;
  size_t nd;
};

static const ProtobufCMessageDescriptor *const messages[] = {
    &chord__v1__transfer_keys_response__descriptor,
    &chord__v1__replicate_request__descriptor,
    &chord__v1__fetch_response__descriptor,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  return 0;
}

static void wire_of(const ProtobufCMessage *m, struct wire_in *w)
{
  memset(w, 0, sizeof(*w));
  if (m->descriptor == &chord__v1__transfer_keys_response__descriptor) {
    const Chord__V1__TransferKeysResponse *r = (const void *)m;
    *w = (struct wire_in){r->files, r->n_files, r->deleted, r->n_deleted};
  } else if (m->descriptor == &chord__v1__replicate_request__descriptor) {
    const Chord__V1__ReplicateRequest *r = (const void *)m;
    *w = (struct wire_in){r->files, r->n_files, r->deleted, r->n_deleted};
  } else {
    const Chord__V1__FetchResponse *r = (const void *)m;
    w->files = r->files;
    w->nf = r->n_files;
  }
}

/* What a batch taken from the wire promises. */
static void check_taken(const struct xfer_batch *b, const struct wire_in *w,
                        uint64_t max_file, uint64_t maxv)
{
  struct chord_id key;
  FUZZ_CHECK(b->n == w->nf && b->ndeleted == w->nd, "batch size");
  for (size_t i = 0; i < b->n; i++) {
    const struct store_entry *e = b->entries[i];
    FUZZ_CHECK(name_check(e->name, e->name_len, NULL) == 0, "a bad name");
    FUZZ_CHECK(e->len <= max_file, "a file over the limit");
    FUZZ_CHECK(!e->deleted || e->len == 0, "a tombstone with content");
    FUZZ_CHECK(e->version && e->version <= maxv, "version above the maximum");
    FUZZ_CHECK(e->deleted == w->files[i]->deleted, "tombstone flag");
    chord_id_sha1(&key, e->name, e->name_len);
    FUZZ_CHECK(chord_id_eq(&key, &e->key), "key is not SHA-1(name)");
  }
}

/* After xfer_batch_apply: each deleted key is gone, every other key holds
 * the newest of the batch's entries for it. Returns the keys held. */
static size_t check_applied(struct store *s, const struct xfer_batch *b)
{
  size_t held = 0;
  for (size_t i = 0; i < b->n; i++) {
    const struct store_entry *e = b->entries[i], *best = e;
    bool gone = false, first = true;
    for (size_t k = 0; k < b->ndeleted; k++)
      gone = gone || chord_id_eq(&b->deleted[k], &e->key);
    for (size_t k = 0; k < b->n; k++) {
      if (!chord_id_eq(&b->entries[k]->key, &e->key))
        continue;
      if (k < i)
        first = false;
      if (store_entry_cmp(b->entries[k], best) > 0)
        best = b->entries[k];
    }
    struct store_entry *got = NULL;
    int rc = store_get(s, &e->key, &got);
    if (gone) {
      FUZZ_CHECK(rc == CHORD_ENOTFOUND, "a deleted key is still held");
      continue;
    }
    FUZZ_CHECK(rc == 0, "an applied entry is missing");
    FUZZ_CHECK(store_entry_cmp(got, best) == 0, "not the newest entry");
    FUZZ_CHECK(got->name_len == best->name_len &&
                   memcmp(got->name, best->name, got->name_len) == 0,
               "entry name");
    store_entry_unref(got);
    held += first;
  }
  return held;
}

/* Sends b as a ReplicateRequest through the codec: the receiver must
 * take every entry. */
static void check_resend(const struct xfer_batch *b, uint64_t max_file)
{
  Chord__V1__ReplicateRequest req = CHORD__V1__REPLICATE_REQUEST__INIT;
  struct xfer_wire w;
  struct xfer_batch again;
  ProtobufCMessage *m;
  const char *why = NULL;
  uint64_t maxv = 0;
  FUZZ_CHECK(xfer_wire_make(b, &w) == 0, "xfer_wire_make");
  req.n_files = b->n;
  req.files = w.ptrs;
  req.n_deleted = b->ndeleted;
  req.deleted = w.deleted;
  grpc_byte_buffer *bb = codec_encode(&req.base);
  xfer_wire_free(&w);
  FUZZ_CHECK(bb, "codec_encode");
  FUZZ_CHECK(codec_decode(bb, &chord__v1__replicate_request__descriptor, &m) ==
                 0,
             "a page does not decode");
  grpc_byte_buffer_destroy(bb);
  const Chord__V1__ReplicateRequest *r = (const void *)m;
  int rc = xfer_batch_from_wire(&again, r->files, r->n_files, r->deleted,
                                r->n_deleted, max_file, &maxv, &why);
  FUZZ_CHECK(rc == 0, why ? why : "a page is refused");
  FUZZ_CHECK(again.n == b->n && again.ndeleted == b->ndeleted, "page size");
  for (size_t i = 0; i < b->n; i++)
    FUZZ_CHECK(store_entry_cmp(again.entries[i], b->entries[i]) == 0 &&
                   chord_id_eq(&again.entries[i]->key, &b->entries[i]->key),
               "a page entry changed on the way");
  xfer_batch_clear(&again);
  codec_free(m);
}

/* Reads the whole ring (from, from] back: at once, then one entry a page
 * (what a hand-off does with small pages). Both see every key once. */
static void check_pages(struct store *s, const struct chord_id *from,
                        size_t held, uint64_t max_file)
{
  struct xfer_batch all = {0}, page;
  struct chord_id after;
  bool has_after = false;
  size_t seen = 0;
  FUZZ_CHECK(xfer_collect_range(s, from, from, NULL, UINT64_MAX, &all) == 0,
             "xfer_collect_range");
  FUZZ_CHECK(all.n == held && !all.more, "the whole ring in one page");
  check_resend(&all, max_file);
  for (;;) {
    memset(&page, 0, sizeof(page));
    FUZZ_CHECK(xfer_collect_range(s, from, from, has_after ? &after : NULL, 1,
                                  &page) == 0,
               "xfer_collect_range");
    FUZZ_CHECK(page.n <= 1, "a page over its size");
    if (page.n) {
      FUZZ_CHECK(seen < all.n && chord_id_eq(&page.entries[0]->key,
                                             &all.entries[seen]->key),
                 "paging reads another order than the whole range");
      after = page.entries[0]->key;
      has_after = true;
      seen++;
    }
    bool more = page.more;
    xfer_batch_clear(&page);
    if (!more)
      break;
  }
  FUZZ_CHECK(seen == all.n, "paging lost or repeated entries");
  xfer_batch_clear(&all);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  ProtobufCMessage *m;
  struct xfer_batch b;
  struct wire_in w;
  struct chord_id from = {{0}};
  const char *why = NULL;
  uint64_t maxv = 0;
  if (size < 1)
    return 0;
  const ProtobufCMessageDescriptor *d = messages[(data[0] & 3) % 3];
  uint64_t max_file =
      data[0] & 4 ? TRANSFER_SMALL_MAX : (uint64_t)NAME_DEFAULT_MAX_FILE;
  bool from_key = data[0] & 8;
  if (codec_decode_bytes(data + 1, size - 1, d, &m))
    return 0;
  wire_of(m, &w);
  int rc = xfer_batch_from_wire(&b, w.files, w.nf, w.deleted, w.nd, max_file,
                                &maxv, &why);
  if (rc) {
    FUZZ_CHECK(rc == CHORD_EINVAL && why, "refused without a reason");
    FUZZ_CHECK(b.n == 0 && !b.entries && !b.deleted && b.ndeleted == 0,
               "a refused batch is not empty");
    codec_free(m);
    return 0;
  }
  check_taken(&b, &w, max_file, maxv);

  struct store *s = store_open_mem();
  FUZZ_CHECK(s, "store_open_mem");
  FUZZ_CHECK(xfer_batch_apply(s, &b) == 0, "xfer_batch_apply");
  size_t held = check_applied(s, &b);
  if (from_key && b.n)
    from = b.entries[0]->key;
  check_pages(s, &from, held, max_file);
  store_close(s);
  xfer_batch_clear(&b);
  codec_free(m);
  return 0;
}
