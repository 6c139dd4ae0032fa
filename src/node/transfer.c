/* SPDX-License-Identifier: MIT */
/* Collecting entries for a hand-off, and their wire form. Collection reads
 * the store, so it runs on a store job (off the loop for the dir store). */
#include "node/transfer.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/name.h"

void xfer_batch_clear(struct xfer_batch *b)
{
  for (size_t i = 0; i < b->n; i++)
    store_entry_unref(b->entries[i]);
  free(b->entries);
  free(b->deleted);
  memset(b, 0, sizeof(*b));
}

/* Takes the reference e. */
int xfer_batch_add(struct xfer_batch *b, struct store_entry *e)
{
  if (b->n == b->cap) {
    size_t ncap = b->cap ? b->cap * 2 : 32;
    struct store_entry **ne = realloc(b->entries, ncap * sizeof(*ne));
    if (!ne) {
      store_entry_unref(e);
      return CHORD_ENOMEM;
    }
    b->entries = ne;
    b->cap = ncap;
  }
  b->entries[b->n++] = e;
  return 0;
}

/* store_get's answers that mean the key is not (or no longer) held: not
 * found, or a corrupt file the dir backend has dropped. */
static bool gone(int rc)
{
  return rc == CHORD_ENOTFOUND || rc == CHORD_EIO;
}

int xfer_collect_range(struct store *s, const struct chord_id *from,
                       const struct chord_id *upto,
                       const struct chord_id *after, uint64_t max_bytes,
                       struct xfer_batch *b)
{
  struct chord_id *keys = NULL, start, dist_after, d;
  size_t nk = 0;
  uint64_t bytes = 0;
  int rc = store_keys_in(s, from, upto, &keys, &nk);
  if (rc)
    return rc;
  /* Distances from just after from, the order store_keys_in lists: with
   * from == upto (the whole ring) a key equal to from comes last. */
  chord_id_add_pow2(&start, from, 0);
  if (after)
    chord_id_sub(&dist_after, after, &start);
  for (size_t i = 0; i < nk; i++) {
    chord_id_sub(&d, &keys[i], &start);
    if (after && chord_id_cmp(&d, &dist_after) <= 0)
      continue;
    struct store_entry *e;
    rc = store_get(s, &keys[i], &e);
    if (gone(rc)) {
      rc = 0; /* the hand-off's change list has it */
      continue;
    }
    if (rc)
      break; /* out of memory, or the disk: not a deletion */
    /* Stop before an entry that would take the page past max_bytes (a
     * page always holds at least one), so a page stays within the
     * message limit the pages are sized for. */
    uint64_t cost = e->len + e->name_len + XFER_ENTRY_OVERHEAD;
    if (b->n > 0 && bytes + cost > max_bytes) {
      store_entry_unref(e);
      b->more = true;
      break;
    }
    bytes += cost;
    rc = xfer_batch_add(b, e);
    if (rc)
      break;
  }
  free(keys);
  return rc;
}

int xfer_collect_changes(struct store *s, const struct chord_id *keys, size_t n,
                         struct xfer_batch *b)
{
  b->deleted = calloc(n ? n : 1, sizeof(*b->deleted));
  if (!b->deleted)
    return CHORD_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    struct store_entry *e;
    int rc = store_get(s, &keys[i], &e);
    if (gone(rc)) {
      b->deleted[b->ndeleted++] = keys[i];
    } else if (rc) {
      return rc; /* telling the receiver "deleted" would lose the file */
    } else if (xfer_batch_add(b, e)) {
      return CHORD_ENOMEM;
    }
  }
  return 0;
}

bool xfer_version_ok(uint64_t v)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
  return v > 0 && v <= now + XFER_VERSION_AHEAD_US;
}

int xfer_collect_keys(struct store *s, const struct chord_id *keys, size_t n,
                      size_t start, uint64_t max_bytes, struct xfer_batch *b,
                      size_t *next)
{
  uint64_t bytes = 0;
  size_t i = start;
  int rc = 0;
  for (; i < n; i++) {
    struct store_entry *e;
    rc = store_get(s, &keys[i], &e);
    if (gone(rc)) {
      rc = 0;
      continue;
    }
    if (rc)
      break;
    uint64_t cost = e->len + e->name_len + XFER_ENTRY_OVERHEAD;
    if (b->n > 0 && bytes + cost > max_bytes) {
      store_entry_unref(e);
      break;
    }
    bytes += cost;
    rc = xfer_batch_add(b, e);
    if (rc)
      break;
  }
  *next = i;
  return rc;
}

void xfer_file_of(Chord__V1__File *f, const struct store_entry *e)
{
  chord__v1__file__init(f);
  f->name = e->name;
  f->content.data = e->content;
  f->content.len = e->len;
  f->version = e->version;
  f->key.data = (uint8_t *)e->key.b;
  f->key.len = CHORD_ID_BYTES;
  f->deleted = e->deleted;
  f->manifest = e->manifest;
}

struct store_entry *xfer_entry_from(const Chord__V1__File *f)
{
  size_t len = strlen(f->name);
  if (f->deleted)
    return store_tombstone_create(f->name, len, f->version);
  if (f->manifest)
    return store_manifest_create(f->name, len, f->content.data, f->content.len,
                                 f->version);
  return store_entry_create(f->name, len, f->content.data, f->content.len,
                            f->version);
}

int xfer_wire_make(const struct xfer_batch *b, struct xfer_wire *w)
{
  w->files = calloc(b->n ? b->n : 1, sizeof(*w->files));
  w->ptrs = calloc(b->n ? b->n : 1, sizeof(*w->ptrs));
  w->deleted = calloc(b->ndeleted ? b->ndeleted : 1, sizeof(*w->deleted));
  if (!w->files || !w->ptrs || !w->deleted) {
    xfer_wire_free(w);
    return CHORD_ENOMEM;
  }
  for (size_t i = 0; i < b->n; i++) {
    xfer_file_of(&w->files[i], b->entries[i]);
    w->ptrs[i] = &w->files[i];
  }
  for (size_t i = 0; i < b->ndeleted; i++) {
    w->deleted[i].data = b->deleted[i].b;
    w->deleted[i].len = CHORD_ID_BYTES;
  }
  return 0;
}

void xfer_wire_free(struct xfer_wire *w)
{
  free(w->files);
  free(w->ptrs);
  free(w->deleted);
  memset(w, 0, sizeof(*w));
}

/* Checks and copies the wire's files and deleted keys into b. A file is
 * refused for a bad name, content over max_file, a tombstone with
 * content, version 0, or a key other than the SHA-1 of its name; a
 * deleted key for a length other than 20 bytes. Versions above *max_version
 * raise it (the caller's clock never hands out a version below one it has
 * stored). Returns 0, or CHORD_EINVAL / CHORD_ENOMEM with *why set and b empty.
 * Any thread. */
int xfer_batch_from_wire(struct xfer_batch *b, Chord__V1__File *const *files,
                         size_t nf, const ProtobufCBinaryData *deleted,
                         size_t nd, uint64_t max_file, uint64_t *max_version,
                         const char **why)
{
  uint64_t maxv = *max_version;
  int rc = CHORD_ENOMEM;
  memset(b, 0, sizeof(*b));
  *why = "out of memory";
  for (size_t i = 0; i < nf; i++) {
    const Chord__V1__File *f = files[i];
    struct store_entry *e;
    size_t len;
    if (!f || !f->name) {
      *why = "a file has no name";
      goto fail_inval;
    }
    len = strlen(f->name);
    if (name_check(f->name, len, why))
      goto fail_inval;
    if (f->content.len > max_file) {
      *why = "a file is over the size limit";
      goto fail_inval;
    }
    if (f->deleted && f->content.len) {
      *why = "a tombstone carries content";
      goto fail_inval;
    }
    if (!xfer_version_ok(f->version)) {
      *why = f->version ? "a file's version is over an hour ahead of this "
                          "node's clock"
                        : "a file has no version";
      goto fail_inval;
    }
    e = xfer_entry_from(f);
    if (e && f->key.len &&
        (f->key.len != CHORD_ID_BYTES ||
         memcmp(f->key.data, e->key.b, CHORD_ID_BYTES) != 0)) {
      store_entry_unref(e);
      *why = "a file's key is not the SHA-1 of its name";
      goto fail_inval;
    }
    if (!e || xfer_batch_add(b, e))
      goto fail;
    if (f->version > maxv)
      maxv = f->version;
  }
  if (nd) {
    b->deleted = calloc(nd, sizeof(*b->deleted));
    if (!b->deleted)
      goto fail;
  }
  for (size_t i = 0; i < nd; i++) {
    if (chord_id_from_bytes(&b->deleted[i], deleted[i].data, deleted[i].len)) {
      *why = "deleted keys must be 20 bytes";
      goto fail_inval;
    }
    b->ndeleted++;
  }
  *max_version = maxv;
  return 0;
fail_inval:
  rc = CHORD_EINVAL;
fail:
  xfer_batch_clear(b);
  return rc;
}

/* Puts each entry with STORE_PUT_IF_NEWER (a newer copy here is kept, not
 * an error) and deletes each deleted key (one not held is no error).
 * Stops at the first other failure and returns it. Any thread. */
int xfer_batch_apply(struct store *s, const struct xfer_batch *b)
{
  for (size_t i = 0; i < b->n; i++) {
    int rc = store_put(s, b->entries[i], STORE_PUT_IF_NEWER);
    if (rc && rc != CHORD_EEXIST)
      return rc;
  }
  for (size_t i = 0; i < b->ndeleted; i++) {
    int rc = store_del(s, &b->deleted[i]);
    if (rc && rc != CHORD_ENOTFOUND)
      return rc;
  }
  return 0;
}
