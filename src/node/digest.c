/* SPDX-License-Identifier: MIT */
/* Bucket digests and the difference between two sides' entries. */
#include "node/digest.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "common/err.h"

unsigned digest_bits_for(size_t n)
{
  unsigned bits = 0;
  while (bits < DIGEST_BITS_MAX && ((size_t)8 << bits) < n)
    bits++;
  return bits;
}

uint32_t digest_bucket_of(const struct chord_id *key, unsigned bits)
{
  uint32_t top = (uint32_t)key->b[0] << 24 | (uint32_t)key->b[1] << 16 |
                 (uint32_t)key->b[2] << 8 | key->b[3];
  return bits ? top >> (32 - bits) : 0;
}

/* SHA-1 of key (20 bytes), version (8, little-endian) and deleted (1). */
static void entry_sum(const struct store_kv *kv, uint8_t out[CHORD_ID_BYTES])
{
  uint8_t buf[CHORD_ID_BYTES + 9];
  memcpy(buf, kv->key.b, CHORD_ID_BYTES);
  for (int i = 0; i < 8; i++)
    buf[CHORD_ID_BYTES + i] = (uint8_t)(kv->version >> (8 * i));
  buf[CHORD_ID_BYTES + 8] = kv->deleted ? 1 : 0;
  SHA1(buf, sizeof(buf), out);
}

static int cmp_bucket(const void *a, const void *b)
{
  const struct digest_bucket *x = a, *y = b;
  return x->index < y->index ? -1 : x->index > y->index;
}

int digest_buckets(const struct store_kv *kv, size_t n, unsigned bits,
                   struct digest_bucket **out, size_t *nout)
{
  struct digest_bucket *b = NULL;
  size_t nb = 0;
  *out = NULL;
  *nout = 0;
  if (n == 0)
    return 0;
  b = calloc(n, sizeof(*b));
  if (!b)
    return CHORD_ENOMEM;
  /* One slot per entry, then merged by index. */
  for (size_t i = 0; i < n; i++) {
    b[i].index = digest_bucket_of(&kv[i].key, bits);
    entry_sum(&kv[i], b[i].sum);
  }
  qsort(b, n, sizeof(*b), cmp_bucket);
  for (size_t i = 0; i < n; i++) {
    if (nb > 0 && b[nb - 1].index == b[i].index) {
      for (int k = 0; k < CHORD_ID_BYTES; k++)
        b[nb - 1].sum[k] ^= b[i].sum[k];
    } else {
      b[nb++] = b[i];
    }
  }
  *out = b;
  *nout = nb;
  return 0;
}

int digest_differ(const struct digest_bucket *a, size_t na,
                  const struct digest_bucket *b, size_t nb, uint32_t **out,
                  size_t *nout)
{
  uint32_t *d = malloc((na + nb + 1) * sizeof(*d));
  size_t i = 0, j = 0, k = 0;
  if (!d)
    return CHORD_ENOMEM;
  while (i < na || j < nb) {
    if (j == nb || (i < na && a[i].index < b[j].index)) {
      d[k++] = a[i++].index;
    } else if (i == na || b[j].index < a[i].index) {
      d[k++] = b[j++].index;
    } else {
      if (memcmp(a[i].sum, b[j].sum, CHORD_ID_BYTES) != 0)
        d[k++] = a[i].index;
      i++;
      j++;
    }
  }
  *out = d;
  *nout = k;
  return 0;
}

bool digest_in_buckets(const struct chord_id *key, unsigned bits,
                       const uint32_t *idx, size_t n)
{
  uint32_t x = digest_bucket_of(key, bits);
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (idx[mid] == x)
      return true;
    if (idx[mid] < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return false;
}

bool digest_kv_newer(const struct store_kv *a, const struct store_kv *b)
{
  if (a->version != b->version)
    return a->version > b->version;
  return a->deleted && !b->deleted;
}

/* Orders keys clockwise from start. */
static int cmp_from(const struct chord_id *a, const struct chord_id *b,
                    const struct chord_id *start)
{
  struct chord_id da, db;
  chord_id_sub(&da, a, start);
  chord_id_sub(&db, b, start);
  return chord_id_cmp(&da, &db);
}

int digest_diff(const struct store_kv *ours, size_t no,
                const struct store_kv *theirs, size_t nt,
                const struct chord_id *start, struct chord_id **push,
                size_t *npush, struct chord_id **pull, size_t *npull)
{
  struct chord_id *ps = malloc((no + 1) * sizeof(*ps));
  struct chord_id *pl = malloc((nt + 1) * sizeof(*pl));
  size_t i = 0, j = 0, kp = 0, kl = 0;
  if (!ps || !pl) {
    free(ps);
    free(pl);
    return CHORD_ENOMEM;
  }
  while (i < no || j < nt) {
    int c = i == no   ? 1
            : j == nt ? -1
                      : cmp_from(&ours[i].key, &theirs[j].key, start);
    if (c < 0) {
      ps[kp++] = ours[i++].key;
    } else if (c > 0) {
      pl[kl++] = theirs[j++].key;
    } else {
      if (digest_kv_newer(&ours[i], &theirs[j]))
        ps[kp++] = ours[i].key;
      else if (digest_kv_newer(&theirs[j], &ours[i]))
        pl[kl++] = theirs[j].key;
      i++;
      j++;
    }
  }
  *push = ps;
  *npush = kp;
  *pull = pl;
  *npull = kl;
  return 0;
}
