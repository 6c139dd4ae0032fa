/* SPDX-License-Identifier: MIT */
/* Range digests for anti-entropy: a range's entries (key, version,
 * deleted) grouped into buckets by the keys' top bits, each bucket
 * summarised by the XOR of its entries' SHA-1s; comparing two sides'
 * buckets, and the keys each side must send the other. Pure. */
#ifndef CHORD_NODE_DIGEST_H
#define CHORD_NODE_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/store.h"

#define DIGEST_BITS_MAX 16 /* 65536 buckets at most */

struct digest_bucket {
  uint32_t index;              /* the keys' top bits */
  uint8_t sum[CHORD_ID_BYTES]; /* XOR of the entries' SHA-1s */
};

/* Bits for n entries: about 8 entries a bucket, 0..DIGEST_BITS_MAX. */
unsigned digest_bits_for(size_t n);
/* The bucket of key at bits. */
uint32_t digest_bucket_of(const struct chord_id *key, unsigned bits);
/* The non-empty buckets of kv[0..n) at bits, by index ascending, in
 * *out (malloc'd; NULL when *nout is 0). 0 or CHORD_ENOMEM. */
int digest_buckets(const struct store_kv *kv, size_t n, unsigned bits,
                   struct digest_bucket **out, size_t *nout);
/* The indexes of the buckets where a and b differ (present on one side
 * only counts), ascending, in *out (malloc'd). Both sorted by index.
 * 0 or CHORD_ENOMEM. */
int digest_differ(const struct digest_bucket *a, size_t na,
                  const struct digest_bucket *b, size_t nb, uint32_t **out,
                  size_t *nout);
/* Whether key's bucket at bits is in the sorted set idx[0..n). */
bool digest_in_buckets(const struct chord_id *key, unsigned bits,
                       const uint32_t *idx, size_t n);
/* Whether a is newer than b: higher version, or a tombstone at the same
 * version (the store's order, without content). */
bool digest_kv_newer(const struct store_kv *a, const struct store_kv *b);
/* Compares ours and theirs (each sorted by key from the same start, each
 * limited to the differing buckets): keys to push (ours newer or theirs
 * missing) and to pull (theirs newer or ours missing), malloc'd arrays.
 * 0 or CHORD_ENOMEM (nothing allocated then). */
int digest_diff(const struct store_kv *ours, size_t no,
                const struct store_kv *theirs, size_t nt,
                const struct chord_id *start, struct chord_id **push,
                size_t *npush, struct chord_id **pull, size_t *npull);

#endif
