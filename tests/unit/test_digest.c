/* SPDX-License-Identifier: MIT */
/* Repair's digests (src/node/digest.c) and the forward budget: buckets
 * that agree whatever the order entries are summed in, differences found
 * in exactly the buckets that differ, and the push/pull split that makes
 * the newest version win in both directions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/digest.h"
#include "node/forward.h"

static uint64_t rng(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void random_key(uint64_t *s, struct chord_id *k)
{
  for (int i = 0; i < CHORD_ID_BYTES; i++)
    k->b[i] = (uint8_t)rng(s);
}

static void test_digest_bits_and_buckets(void **state)
{
  (void)state;
  struct chord_id k;
  memset(&k, 0, sizeof(k));
  assert_int_equal(digest_bits_for(0), 0);
  assert_int_equal(digest_bits_for(8), 0);
  assert_int_equal(digest_bits_for(9), 1);
  assert_int_equal(digest_bits_for(8000), 10);
  assert_int_equal(digest_bits_for((size_t)1 << 30), DIGEST_BITS_MAX);
  k.b[0] = 0xab;
  k.b[1] = 0xcd;
  assert_int_equal(digest_bucket_of(&k, 0), 0);
  assert_int_equal(digest_bucket_of(&k, 8), 0xab);
  assert_int_equal(digest_bucket_of(&k, 16), 0xabcd);
  assert_int_equal(digest_bucket_of(&k, 4), 0xa);
}

/* The same entries in another order give the same buckets; changing one
 * entry's version or tombstone flag changes exactly its bucket. */
static void test_digest_order_free_and_sensitive(void **state)
{
  (void)state;
  enum { N = 500 };
  struct store_kv a[N], b[N];
  struct digest_bucket *da, *db;
  size_t na, nb, nd;
  uint32_t *d;
  uint64_t s = 0x5eed;
  for (int i = 0; i < N; i++) {
    random_key(&s, &a[i].key);
    a[i].version = rng(&s) % 1000 + 1;
    a[i].deleted = rng(&s) % 7 == 0;
  }
  for (int i = 0; i < N; i++)
    b[i] = a[N - 1 - i];
  unsigned bits = digest_bits_for(N);
  assert_int_equal(digest_buckets(a, N, bits, &da, &na), 0);
  assert_int_equal(digest_buckets(b, N, bits, &db, &nb), 0);
  assert_int_equal(na, nb);
  assert_memory_equal(da, db, na * sizeof(*da));
  assert_int_equal(digest_differ(da, na, db, nb, &d, &nd), 0);
  assert_int_equal(nd, 0);
  free(d);
  free(db);

  b[17].version++;
  b[200].deleted = !b[200].deleted;
  assert_int_equal(digest_buckets(b, N, bits, &db, &nb), 0);
  assert_int_equal(digest_differ(da, na, db, nb, &d, &nd), 0);
  uint32_t want[2] = {digest_bucket_of(&b[17].key, bits),
                      digest_bucket_of(&b[200].key, bits)};
  size_t nwant = want[0] == want[1] ? 1 : 2;
  assert_int_equal(nd, nwant);
  for (size_t i = 0; i < nwant; i++)
    assert_true(digest_in_buckets(&b[i ? 200 : 17].key, bits, d, nd));
  free(d);
  free(db);

  /* A bucket on one side only differs too. */
  assert_int_equal(digest_buckets(b, N - 1, bits, &db, &nb), 0);
  assert_int_equal(digest_differ(da, na, db, nb, &d, &nd), 0);
  assert_true(nd >= 1);
  assert_true(digest_in_buckets(&b[N - 1].key, bits, d, nd));
  free(d);
  free(db);
  free(da);
}

/* Sorted clockwise from start, as store_versions_in lists them. */
static struct chord_id start_id;
static int cmp_kv(const void *x, const void *y)
{
  struct chord_id dx, dy;
  chord_id_sub(&dx, &((const struct store_kv *)x)->key, &start_id);
  chord_id_sub(&dy, &((const struct store_kv *)y)->key, &start_id);
  return chord_id_cmp(&dx, &dy);
}

static bool has(const struct chord_id *list, size_t n, const struct chord_id *k)
{
  for (size_t i = 0; i < n; i++)
    if (chord_id_eq(&list[i], k))
      return true;
  return false;
}

/* Every key ends where the newer side (or the only side) pushes it:
 * ours newer or theirs missing -> push; theirs newer or ours missing ->
 * pull; equal -> neither. Keys wrap round the ring past start. */
static void test_digest_diff_newest_wins(void **state)
{
  (void)state;
  enum { N = 300 };
  struct store_kv all[N], ours[N], theirs[N];
  size_t no = 0, nt = 0, npush, npull;
  struct chord_id *push, *pull;
  uint64_t s = 0xd1ff;
  int kind[N];
  random_key(&s, &start_id);
  for (int i = 0; i < N; i++) {
    random_key(&s, &all[i].key);
    all[i].version = 100;
    all[i].deleted = false;
  }
  qsort(all, N, sizeof(all[0]), cmp_kv);
  for (int i = 0; i < N; i++) {
    kind[i] = (int)(rng(&s) % 6);
    struct store_kv o = all[i], t = all[i];
    switch (kind[i]) {
    case 0: break;                      /* same */
    case 1: o.version++; break;         /* ours newer */
    case 2: t.version++; break;         /* theirs newer */
    case 3: t.deleted = true; break;    /* their tombstone wins a tie */
    case 4: ours[no++] = o; continue;   /* theirs missing */
    case 5: theirs[nt++] = t; continue; /* ours missing */
    }
    ours[no++] = o;
    theirs[nt++] = t;
  }
  assert_int_equal(digest_diff(ours, no, theirs, nt, &start_id, &push, &npush,
                               &pull, &npull),
                   0);
  size_t want_push = 0, want_pull = 0;
  for (int i = 0; i < N; i++) {
    bool p = kind[i] == 1 || kind[i] == 4;
    bool l = kind[i] == 2 || kind[i] == 3 || kind[i] == 5;
    want_push += p;
    want_pull += l;
    assert_int_equal(has(push, npush, &all[i].key), p);
    assert_int_equal(has(pull, npull, &all[i].key), l);
  }
  assert_int_equal(npush, want_push);
  assert_int_equal(npull, want_pull);
  free(push);
  free(pull);
}

/* A forward waits half the caller's time left less the margin, at most
 * the hop timeout; with no deadline, the cap. */
static void test_forward_budget(void **state)
{
  (void)state;
  gpr_timespec inf = gpr_inf_future(GPR_CLOCK_MONOTONIC);
  assert_int_equal(forward_budget_ms(inf, 2000, 30000), 2000);
  assert_int_equal(forward_budget_ms(inf, 2000, 500), 500);
  int64_t b = forward_budget_ms(rpc_deadline_in(10000), 2000, 30000);
  assert_int_equal(b, 2000);
  b = forward_budget_ms(rpc_deadline_in(1100), 2000, 30000);
  assert_true(b <= 500 && b >= 450);
  assert_int_equal(forward_budget_ms(rpc_deadline_in(50), 2000, 30000), 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_digest_bits_and_buckets),
      cmocka_unit_test(test_digest_order_free_and_sensitive),
      cmocka_unit_test(test_digest_diff_newest_wins),
      cmocka_unit_test(test_forward_budget),
  };
  return cmocka_run_group_tests_name("digest", tests, NULL, NULL);
}
