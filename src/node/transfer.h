/* SPDX-License-Identifier: MIT */
/* Batches of entries moving between nodes: a page of a key range, or the
 * current state of keys changed during a hand-off, and their wire form.
 * Used by TransferKeys (to a joiner) and Replicate (from a leaver), in
 * both directions: collected and encoded to send, decoded and applied. */
#ifndef CHORD_NODE_TRANSFER_H
#define CHORD_NODE_TRANSFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chord/v1/common.pb-c.h"
#include "node/store.h"

/* How far a version (microseconds of a wall clock) may be ahead of ours:
 * clocks differ, but a version far ahead would hold every later write
 * and delete back (and stop tombstones from ever being purged). */
#define XFER_VERSION_AHEAD_US ((uint64_t)3600 * 1000000)

/* Whether version v is acceptable from a peer now: 0 < v <= now + the
 * allowance. */
bool xfer_version_ok(uint64_t v);

/* Bytes a page entry costs beyond its name and content: key, version and
 * protobuf framing, rounded up. */
#define XFER_ENTRY_OVERHEAD 64

struct xfer_batch {
  struct store_entry **entries; /* n references, owned by the batch */
  size_t n, cap;
  struct chord_id *deleted; /* keys gone from the store */
  size_t ndeleted;
  bool more; /* the range has entries past this page */
};

/* The wire view of a batch: points into its entries (no copy). */
struct xfer_wire {
  Chord__V1__File *files;
  Chord__V1__File **ptrs;       /* n pointers into files */
  ProtobufCBinaryData *deleted; /* ndeleted 20-byte keys */
};

/* Frees what b holds and empties it (b itself is the caller's). */
void xfer_batch_clear(struct xfer_batch *b);
/* Appends e to b, taking the reference (dropped on failure): 0 or
 * CHORD_ENOMEM. */
int xfer_batch_add(struct xfer_batch *b, struct store_entry *e);
/* Adds to b the entries of (from, upto] after `after` (NULL: from the
 * start), in clockwise order, until max_bytes of names and content
 * (always at least one); sets b->more when some remain. Any thread.
 * 0 or an error (CHORD_ENOMEM, store errors); b then holds what was
 * collected and the caller clears it. */
int xfer_collect_range(struct store *s, const struct chord_id *from,
                       const struct chord_id *upto,
                       const struct chord_id *after, uint64_t max_bytes,
                       struct xfer_batch *b);
/* Adds to b the current state of each of keys[0..n): the entry when it is
 * stored, else the key to b->deleted. Any thread. 0 or CHORD_ENOMEM. */
int xfer_collect_changes(struct store *s, const struct chord_id *keys, size_t n,
                         struct xfer_batch *b);
/* Adds to b the entries under keys[start..n) in that order (keys not
 * held are skipped) until max_bytes (always at least one entry); *next =
 * the index after the last key looked at. Any thread. 0 or an error (b
 * then holds what was collected). */
int xfer_collect_keys(struct store *s, const struct chord_id *keys, size_t n,
                      size_t start, uint64_t max_bytes, struct xfer_batch *b,
                      size_t *next);
/* The wire view of one entry (pointing into it). */
void xfer_file_of(Chord__V1__File *f, const struct store_entry *e);
/* A new entry (1 reference) for the wire's file f (name set, checked by
 * the caller): a tombstone, a manifest or a file as f says; NULL when
 * memory runs out. Any thread. */
struct store_entry *xfer_entry_from(const Chord__V1__File *f);
/* Builds the wire view of b (valid while b is). 0 or CHORD_ENOMEM. */
int xfer_wire_make(const struct xfer_batch *b, struct xfer_wire *w);
/* Frees the wire view (not the batch). */
void xfer_wire_free(struct xfer_wire *w);
/* Decodes files and deleted keys from the wire into the empty batch b,
 * checking every name, size (max_file) and key. 0, or CHORD_EINVAL /
 * CHORD_ENOMEM with *why and b empty. *max_version: the highest seen. */
int xfer_batch_from_wire(struct xfer_batch *b, Chord__V1__File *const *files,
                         size_t nf, const ProtobufCBinaryData *deleted,
                         size_t nd, uint64_t max_file, uint64_t *max_version,
                         const char **why);
/* Stores b: each entry unless ours is newer, then each delete. Any
 * thread. 0 or the first store failure (the rest is not applied). */
int xfer_batch_apply(struct store *s, const struct xfer_batch *b);

#endif
