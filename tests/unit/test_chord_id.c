/* SPDX-License-Identifier: MIT */
/* Unit tests for chord_id: SHA-1 vectors, modular arithmetic, every case
 * of the wrap-around interval tests, and hex/bytes conversion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/chord_id.h"
#include "common/err.h"

/* splitmix64: a small deterministic generator, so runs are repeatable. */
static uint64_t rng_next(uint64_t *state)
{
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* An id from hex, failing the test when hex is malformed. */
static struct chord_id id_hex(const char *hex)
{
  struct chord_id id;
  assert_int_equal(chord_id_from_hex(&id, hex), 0);
  return id;
}

/* An id equal to the small integer v. */
static struct chord_id id_small(uint64_t v)
{
  struct chord_id id;
  memset(&id, 0, sizeof(id));
  for (int i = CHORD_ID_BYTES - 1; i >= CHORD_ID_BYTES - 8; i--) {
    id.b[i] = (uint8_t)v;
    v >>= 8;
  }
  return id;
}

static struct chord_id id_max(void)
{
  struct chord_id id;
  memset(id.b, 0xff, sizeof(id.b));
  return id;
}

static void assert_id_hex(const struct chord_id *id, const char *hex)
{
  char got[CHORD_ID_HEX_LEN + 1];
  chord_id_to_hex(id, got);
  assert_string_equal(got, hex);
}

/* --- SHA-1 ------------------------------------------------------------- */

static void test_chord_id_sha1_vectors(void **state)
{
  struct chord_id id;

  chord_id_sha1_str(&id, "");
  assert_id_hex(&id, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  chord_id_sha1_str(&id, "abc");
  assert_id_hex(&id, "a9993e364706816aba3e25717850c26c9cd0d89d");
  chord_id_sha1_str(&id,
                    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
  assert_id_hex(&id, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");

  /* The raw-bytes form agrees with the string form and stops at len. */
  chord_id_sha1(&id, "abcdef", 3);
  assert_id_hex(&id, "a9993e364706816aba3e25717850c26c9cd0d89d");
}

/* --- arithmetic -------------------------------------------------------- */

static void test_chord_id_add_wraps(void **state)
{
  struct chord_id max = id_max(), one = id_small(1), out;

  chord_id_add(&out, &max, &one);
  assert_id_hex(&out, "0000000000000000000000000000000000000000");
  chord_id_add(&out, &max, &max); /* 2^161 - 2 mod 2^160 = 2^160 - 2 */
  assert_id_hex(&out, "fffffffffffffffffffffffffffffffffffffffe");

  /* A carry that ripples through many bytes. */
  struct chord_id a = id_hex("00000000000000000000ffffffffffffffffffff");
  chord_id_add(&out, &a, &one);
  assert_id_hex(&out, "0000000000000000000100000000000000000000");

  /* out may alias an input. */
  struct chord_id x = id_small(0x1234);
  struct chord_id y = id_small(0x0101);
  chord_id_add(&x, &x, &y);
  struct chord_id want = id_small(0x1335);
  assert_true(chord_id_eq(&x, &want));
}

static void test_chord_id_add_pow2(void **state)
{
  struct chord_id zero = id_small(0), out;

  chord_id_add_pow2(&out, &zero, 0);
  assert_id_hex(&out, "0000000000000000000000000000000000000001");
  chord_id_add_pow2(&out, &zero, 7);
  assert_id_hex(&out, "0000000000000000000000000000000000000080");
  chord_id_add_pow2(&out, &zero, 8);
  assert_id_hex(&out, "0000000000000000000000000000000000000100");
  chord_id_add_pow2(&out, &zero, 159);
  assert_id_hex(&out, "8000000000000000000000000000000000000000");

  /* 2^159 + 2^159 = 2^160 = 0, aliasing out with the input. */
  chord_id_add_pow2(&out, &out, 159);
  assert_id_hex(&out, "0000000000000000000000000000000000000000");

  /* Carry out of the byte: 0xff + 2^0, and past the top: max + 2^0. */
  struct chord_id a = id_small(0xff);
  chord_id_add_pow2(&out, &a, 0);
  assert_id_hex(&out, "0000000000000000000000000000000000000100");
  struct chord_id max = id_max();
  chord_id_add_pow2(&out, &max, 0);
  assert_id_hex(&out, "0000000000000000000000000000000000000000");
  chord_id_add_pow2(&out, &max, 100); /* 2^100 - 1: 100 one bits */
  assert_id_hex(&out, "000000000000000fffffffffffffffffffffffff");

  /* Every power of two sets exactly bit i. */
  for (unsigned i = 0; i < CHORD_ID_BITS; i++) {
    chord_id_add_pow2(&out, &zero, i);
    for (unsigned byte = 0; byte < CHORD_ID_BYTES; byte++) {
      uint8_t want =
          byte == CHORD_ID_BYTES - 1 - i / 8 ? (uint8_t)(1u << (i % 8)) : 0;
      assert_int_equal(out.b[byte], want);
    }
  }
}

static void test_chord_id_sub(void **state)
{
  struct chord_id zero = id_small(0), one = id_small(1), max = id_max(), out;

  chord_id_sub(&out, &zero, &one);
  assert_true(chord_id_eq(&out, &max));
  chord_id_sub(&out, &one, &max); /* 1 - (2^160 - 1) = 2 mod 2^160 */
  assert_id_hex(&out, "0000000000000000000000000000000000000002");
  chord_id_sub(&out, &max, &max);
  assert_true(chord_id_eq(&out, &zero));

  struct chord_id a = id_hex("0000000000000000000100000000000000000000");
  chord_id_sub(&out, &a, &one);
  assert_id_hex(&out, "00000000000000000000ffffffffffffffffffff");

  /* sub undoes add for random values. */
  uint64_t seed = 42;
  for (int it = 0; it < 1000; it++) {
    struct chord_id x, y, s, d;
    for (int i = 0; i < CHORD_ID_BYTES; i++) {
      x.b[i] = (uint8_t)rng_next(&seed);
      y.b[i] = (uint8_t)rng_next(&seed);
    }
    chord_id_add(&s, &x, &y);
    chord_id_sub(&d, &s, &y);
    assert_true(chord_id_eq(&d, &x));
  }
}

static void test_chord_id_cmp_order(void **state)
{
  struct chord_id lo = id_hex("00ffffffffffffffffffffffffffffffffffffff");
  struct chord_id hi = id_hex("0100000000000000000000000000000000000000");

  assert_true(chord_id_cmp(&lo, &hi) < 0);
  assert_true(chord_id_cmp(&hi, &lo) > 0);
  assert_int_equal(chord_id_cmp(&lo, &lo), 0);
  assert_true(chord_id_eq(&hi, &hi));
  assert_false(chord_id_eq(&lo, &hi));
}

/* --- intervals --------------------------------------------------------- */

struct interval_case {
  uint64_t x, a, b;
  bool oc, oo;
};

static void check_cases(const struct interval_case *c, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    struct chord_id x = id_small(c[i].x), a = id_small(c[i].a);
    struct chord_id b = id_small(c[i].b);
    if (chord_id_in_oc(&x, &a, &b) != c[i].oc ||
        chord_id_in_oo(&x, &a, &b) != c[i].oo)
      fail_msg("case %zu: x=%llu a=%llu b=%llu", i, (unsigned long long)c[i].x,
               (unsigned long long)c[i].a, (unsigned long long)c[i].b);
  }
}

static void test_chord_id_interval_a_below_b(void **state)
{
  static const struct interval_case cases[] = {
      {5, 10, 20, false, false},  /* below a */
      {10, 10, 20, false, false}, /* equal a */
      {15, 10, 20, true, true},   /* between */
      {11, 10, 20, true, true},   /* just after a */
      {19, 10, 20, true, true},   /* just before b */
      {20, 10, 20, true, false},  /* equal b */
      {25, 10, 20, false, false}, /* above b */
      {0, 10, 20, false, false},  /* zero */
      {11, 10, 11, true, false},  /* adjacent a, b: only b is inside */
      {10, 10, 11, false, false},
  };
  check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_chord_id_interval_a_above_b(void **state)
{
  /* (20, 10] wraps through zero: 21..max, 0..10. */
  static const struct interval_case cases[] = {
      {5, 20, 10, true, true},    /* below b (after the wrap) */
      {0, 20, 10, true, true},    /* zero */
      {10, 20, 10, true, false},  /* equal b */
      {15, 20, 10, false, false}, /* between b and a: outside */
      {20, 20, 10, false, false}, /* equal a */
      {25, 20, 10, true, true},   /* above a */
      {11, 20, 10, false, false}, {19, 20, 10, false, false},
      {21, 20, 10, true, true},
  };
  check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_chord_id_interval_a_equals_b(void **state)
{
  /* a == b is the whole ring: (a, a] is everything, (a, a) all but a. */
  static const struct interval_case cases[] = {
      {7, 7, 7, true, false}, {6, 7, 7, true, true},  {8, 7, 7, true, true},
      {0, 7, 7, true, true},  {0, 0, 0, true, false}, {1, 0, 0, true, true},
  };
  check_cases(cases, sizeof(cases) / sizeof(cases[0]));

  struct chord_id max = id_max(), zero = id_small(0);
  assert_true(chord_id_in_oc(&max, &max, &max));
  assert_false(chord_id_in_oo(&max, &max, &max));
  assert_true(chord_id_in_oo(&zero, &max, &max));
  assert_true(chord_id_in_oo(&max, &zero, &zero));
}

static void test_chord_id_interval_edges(void **state)
{
  struct chord_id zero = id_small(0), one = id_small(1), max = id_max();
  struct chord_id mid = id_hex("8000000000000000000000000000000000000000");
  struct chord_id max1;
  chord_id_sub(&max1, &max, &one); /* 2^160 - 2 */

  /* (max, 0]: only 0; (max, 0): empty. */
  assert_true(chord_id_in_oc(&zero, &max, &zero));
  assert_false(chord_id_in_oo(&zero, &max, &zero));
  assert_false(chord_id_in_oc(&max, &max, &zero));
  assert_false(chord_id_in_oc(&one, &max, &zero));
  assert_false(chord_id_in_oo(&mid, &max, &zero));

  /* (max, 1): 0 only. (max1, 0]: max and 0. */
  assert_true(chord_id_in_oo(&zero, &max, &one));
  assert_false(chord_id_in_oo(&one, &max, &one));
  assert_true(chord_id_in_oc(&max, &max1, &zero));
  assert_true(chord_id_in_oc(&zero, &max1, &zero));
  assert_false(chord_id_in_oc(&one, &max1, &zero));

  /* (0, max]: everything but 0; (0, max) excludes max as well. */
  assert_true(chord_id_in_oc(&max, &zero, &max));
  assert_false(chord_id_in_oo(&max, &zero, &max));
  assert_false(chord_id_in_oc(&zero, &zero, &max));
  assert_true(chord_id_in_oo(&mid, &zero, &max));
  assert_true(chord_id_in_oo(&one, &zero, &max));

  /* Intervals across the middle, and (mid, mid - 1) wrapping nearly all. */
  assert_true(chord_id_in_oc(&max, &mid, &zero));
  assert_true(chord_id_in_oc(&zero, &mid, &one));
  assert_false(chord_id_in_oc(&mid, &mid, &one));
  struct chord_id mid1;
  chord_id_sub(&mid1, &mid, &one);
  assert_true(chord_id_in_oo(&zero, &mid, &mid1));
  assert_false(chord_id_in_oo(&mid1, &mid, &mid1));
  assert_true(chord_id_in_oc(&mid1, &mid, &mid1));
}

/* The naive case analysis the clockwise-distance code replaces. */
static bool ref_in_oc(const struct chord_id *x, const struct chord_id *a,
                      const struct chord_id *b)
{
  int ab = chord_id_cmp(a, b);
  if (ab < 0)
    return chord_id_cmp(a, x) < 0 && chord_id_cmp(x, b) <= 0;
  if (ab > 0)
    return chord_id_cmp(x, a) > 0 || chord_id_cmp(x, b) <= 0;
  return true;
}

static bool ref_in_oo(const struct chord_id *x, const struct chord_id *a,
                      const struct chord_id *b)
{
  int ab = chord_id_cmp(a, b);
  if (ab < 0)
    return chord_id_cmp(a, x) < 0 && chord_id_cmp(x, b) < 0;
  if (ab > 0)
    return chord_id_cmp(x, a) > 0 || chord_id_cmp(x, b) < 0;
  return !chord_id_eq(x, a);
}

/* A random id biased towards the cases that matter: equal to one of the
 * previous ids, one away from it, 0, max, or with most bytes shared. */
static void random_id(uint64_t *seed, struct chord_id *out,
                      const struct chord_id *prev, size_t nprev)
{
  uint64_t r = rng_next(seed);
  struct chord_id one = id_small(1);

  switch (r % 8) {
  case 0: *out = nprev ? prev[rng_next(seed) % nprev] : id_small(0); break;
  case 1:
    if (nprev)
      chord_id_add(out, &prev[rng_next(seed) % nprev], &one);
    else
      *out = id_max();
    break;
  case 2:
    if (nprev)
      chord_id_sub(out, &prev[rng_next(seed) % nprev], &one);
    else
      *out = id_small(0);
    break;
  case 3: *out = (r >> 8) % 2 ? id_small(0) : id_max(); break;
  case 4: /* shares a prefix with a previous id, differs in the tail */
    *out = nprev ? prev[rng_next(seed) % nprev] : id_small(0);
    out->b[CHORD_ID_BYTES - 1] = (uint8_t)rng_next(seed);
    break;
  default:
    for (int i = 0; i < CHORD_ID_BYTES; i++)
      out->b[i] = (uint8_t)rng_next(seed);
    break;
  }
}

static void test_chord_id_interval_random_vs_reference(void **state)
{
  uint64_t seed = 0x5eed;
  int hits_oc = 0, hits_oo = 0;

  for (int it = 0; it < 10000; it++) {
    struct chord_id v[3];
    for (size_t k = 0; k < 3; k++)
      random_id(&seed, &v[k], v, k);
    /* Shuffle roles so every id can be x, a or b. */
    size_t p = rng_next(&seed) % 6;
    static const int perm[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                   {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    const struct chord_id *x = &v[perm[p][0]], *a = &v[perm[p][1]];
    const struct chord_id *b = &v[perm[p][2]];

    bool oc = chord_id_in_oc(x, a, b), oo = chord_id_in_oo(x, a, b);
    if (oc != ref_in_oc(x, a, b) || oo != ref_in_oo(x, a, b)) {
      char hx[41], ha[41], hb[41];
      chord_id_to_hex(x, hx);
      chord_id_to_hex(a, ha);
      chord_id_to_hex(b, hb);
      fail_msg("iteration %d: x=%s a=%s b=%s oc=%d oo=%d", it, hx, ha, hb, oc,
               oo);
    }
    hits_oc += oc;
    hits_oo += oo;
  }
  /* Both outcomes occur, so the comparison was not vacuous. */
  assert_true(hits_oc > 1000 && hits_oc < 9000);
  assert_true(hits_oo > 1000 && hits_oo < 9000);
}

/* --- conversions ------------------------------------------------------- */

static void test_chord_id_hex_round_trip(void **state)
{
  static const char *hexes[] = {
      "0000000000000000000000000000000000000000",
      "ffffffffffffffffffffffffffffffffffffffff",
      "0123456789abcdef0123456789abcdef01234567",
      "a9993e364706816aba3e25717850c26c9cd0d89d",
  };
  for (size_t i = 0; i < sizeof(hexes) / sizeof(hexes[0]); i++) {
    struct chord_id id = id_hex(hexes[i]);
    assert_id_hex(&id, hexes[i]);
  }

  struct chord_id id = id_hex("0123456789ABCDEF0123456789abcdefFEDCBA98");
  assert_id_hex(&id, "0123456789abcdef0123456789abcdeffedcba98");
  assert_int_equal(id.b[0], 0x01);
  assert_int_equal(id.b[19], 0x98);

  char s[9];
  chord_id_short(&id, s);
  assert_string_equal(s, "01234567");
}

static void test_chord_id_hex_rejects(void **state)
{
  static const char *bad[] = {
      "",
      "000000000000000000000000000000000000000",   /* 39 */
      "00000000000000000000000000000000000000000", /* 41 */
      "000000000000000000000000000000000000000g",
      "g000000000000000000000000000000000000000",
      "0x00000000000000000000000000000000000000",
      " 000000000000000000000000000000000000000",
      "000000000000000000000000000000000000000 ",
      "0000000000000000000-00000000000000000000",
  };
  struct chord_id id, before;

  memset(&id, 0x5a, sizeof(id));
  before = id;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(chord_id_from_hex(&id, bad[i]), CHORD_EINVAL);
    assert_memory_equal(&id, &before, sizeof(id));
  }
  assert_int_equal(chord_id_from_hex(&id, NULL), CHORD_EINVAL);
  assert_memory_equal(&id, &before, sizeof(id));
}

static void test_chord_id_from_bytes(void **state)
{
  uint8_t raw[21];
  struct chord_id id, before;

  for (size_t i = 0; i < sizeof(raw); i++)
    raw[i] = (uint8_t)(i + 1);
  memset(&id, 0x5a, sizeof(id));
  before = id;

  assert_int_equal(chord_id_from_bytes(&id, raw, 19), CHORD_EINVAL);
  assert_memory_equal(&id, &before, sizeof(id));
  assert_int_equal(chord_id_from_bytes(&id, raw, 21), CHORD_EINVAL);
  assert_memory_equal(&id, &before, sizeof(id));
  assert_int_equal(chord_id_from_bytes(&id, raw, 0), CHORD_EINVAL);
  assert_int_equal(chord_id_from_bytes(&id, NULL, 20), CHORD_EINVAL);
  assert_memory_equal(&id, &before, sizeof(id));

  assert_int_equal(chord_id_from_bytes(&id, raw, 20), 0);
  assert_memory_equal(id.b, raw, 20);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chord_id_sha1_vectors),
      cmocka_unit_test(test_chord_id_add_wraps),
      cmocka_unit_test(test_chord_id_add_pow2),
      cmocka_unit_test(test_chord_id_sub),
      cmocka_unit_test(test_chord_id_cmp_order),
      cmocka_unit_test(test_chord_id_interval_a_below_b),
      cmocka_unit_test(test_chord_id_interval_a_above_b),
      cmocka_unit_test(test_chord_id_interval_a_equals_b),
      cmocka_unit_test(test_chord_id_interval_edges),
      cmocka_unit_test(test_chord_id_interval_random_vs_reference),
      cmocka_unit_test(test_chord_id_hex_round_trip),
      cmocka_unit_test(test_chord_id_hex_rejects),
      cmocka_unit_test(test_chord_id_from_bytes),
  };
  return cmocka_run_group_tests_name("chord_id", tests, NULL, NULL);
}
