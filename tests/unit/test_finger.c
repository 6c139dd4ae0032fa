/* SPDX-License-Identifier: MIT */
/* Unit tests for finger: tables built for random rings are checked entry
 * by entry against brute-force linear scans, plus hand-made rings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/chord_id.h"
#include "common/err.h"
#include "common/finger.h"
#include "ring_util.h"

#define RING_MAX 500
#define KEYS_PER_NODE 200

/* Per-test storage: tables are ~46 KB each, so they live on the heap. */
struct fixture {
  struct finger_table t;
  struct finger_table u;
  struct chord_peer ring[RING_MAX];        /* distinct ids, any order */
  struct chord_peer members[RING_MAX * 3]; /* what finger_build gets */
};

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  if (!f)
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  free(*state);
  return 0;
}

/* A peer whose id has leading byte lead and zeros after it. */
static void lead_peer(struct chord_peer *p, uint8_t lead, size_t k)
{
  struct chord_id id;
  memset(&id, 0, sizeof(id));
  id.b[0] = lead;
  make_peer(p, &id, k);
}

static bool has_id(const struct chord_peer *ring, size_t n,
                   const struct chord_id *id)
{
  for (size_t i = 0; i < n; i++) {
    if (chord_id_eq(&ring[i].id, id))
      return true;
  }
  return false;
}

/* Fills ring[0..n) with distinct random ids. clustered puts them all
 * within 2^24 after base, so most fingers jump past the cluster and wrap. */
static void random_ring(struct chord_peer *ring, size_t n, uint64_t seed,
                        bool clustered)
{
  struct chord_id base;
  random_id(&seed, &base);
  for (size_t k = 0; k < n; k++) {
    struct chord_id id;
    do {
      if (clustered) {
        struct chord_id off;
        memset(&off, 0, sizeof(off));
        uint64_t r = rng_next(&seed);
        off.b[17] = (uint8_t)(r >> 16);
        off.b[18] = (uint8_t)(r >> 8);
        off.b[19] = (uint8_t)r;
        chord_id_add(&id, &base, &off);
      } else {
        random_id(&seed, &id);
      }
    } while (has_id(ring, k, &id));
    make_peer(&ring[k], &id, k);
  }
}

/* --- brute force: linear scans, no binary search, no sorting ----------- */

/* successor(key): the smallest id >= key, or the smallest id overall. */
static size_t brute_successor(const struct chord_peer *ring, size_t n,
                              const struct chord_id *key)
{
  size_t best = n, lowest = 0;
  for (size_t i = 0; i < n; i++) {
    if (chord_id_cmp(&ring[i].id, &ring[lowest].id) < 0)
      lowest = i;
    if (chord_id_cmp(&ring[i].id, key) >= 0 &&
        (best == n || chord_id_cmp(&ring[i].id, &ring[best].id) < 0))
      best = i;
  }
  return best == n ? lowest : best;
}

/* The member just before ring[s] clockwise (ring[s] itself when alone). */
static size_t brute_pred(const struct chord_peer *ring, size_t n, size_t s)
{
  size_t best = s;
  struct chord_id best_d, d;
  for (size_t i = 0; i < n; i++) {
    if (i == s)
      continue;
    chord_id_sub(&d, &ring[s].id, &ring[i].id);
    if (best == s || chord_id_cmp(&d, &best_d) < 0) {
      best = i;
      best_d = d;
    }
  }
  return best;
}

/* The member after ring[s] whose clockwise distance from it is the least
 * one above floor (floor zero: the nearest); n when there is none. */
static size_t brute_next_after(const struct chord_peer *ring, size_t n,
                               size_t s, const struct chord_id *floor)
{
  size_t best = n;
  struct chord_id best_d, d;
  for (size_t i = 0; i < n; i++) {
    chord_id_sub(&d, &ring[i].id, &ring[s].id);
    if (chord_id_cmp(&d, floor) <= 0)
      continue;
    if (best == n || chord_id_cmp(&d, &best_d) < 0) {
      best = i;
      best_d = d;
    }
  }
  return best;
}

/* Whether c is in (self, key) clockwise, by the naive case analysis on
 * plain comparisons (self == key means the whole ring but self). */
static bool brute_in_oo(const struct chord_id *c, const struct chord_id *self,
                        const struct chord_id *key)
{
  int sk = chord_id_cmp(self, key);
  if (sk < 0)
    return chord_id_cmp(self, c) < 0 && chord_id_cmp(c, key) < 0;
  if (sk > 0)
    return chord_id_cmp(c, self) > 0 || chord_id_cmp(c, key) < 0;
  return !chord_id_eq(c, self);
}

/* The table entry (finger or successor) in (self, key) nearest to key, or
 * NULL when there is none. Going counterclockwise from key, ids below key
 * come first (largest first), then the ids above it (largest first). */
static const struct chord_peer *brute_best_entry(const struct finger_table *t,
                                                 const struct chord_id *key)
{
  const struct chord_peer *best = NULL;
  bool best_below = false;
  for (size_t i = 0; i < FINGER_COUNT + t->nsucc; i++) {
    const struct chord_peer *c =
        i < FINGER_COUNT ? &t->finger[i] : &t->succ[i - FINGER_COUNT];
    if (!brute_in_oo(&c->id, &t->self.id, key))
      continue;
    bool below = chord_id_cmp(&c->id, key) < 0;
    if (!best || (below && !best_below) ||
        (below == best_below && chord_id_cmp(&c->id, &best->id) > 0)) {
      best = c;
      best_below = below;
    }
  }
  return best;
}

static void assert_peer_equal(const struct chord_peer *got,
                              const struct chord_peer *want)
{
  if (!chord_id_eq(&got->id, &want->id)) {
    char g[CHORD_ID_HEX_LEN + 1], w[CHORD_ID_HEX_LEN + 1];
    chord_id_to_hex(&got->id, g);
    chord_id_to_hex(&want->id, w);
    fail_msg("peer id %s, want %s", g, w);
  }
  assert_string_equal(got->addr, want->addr);
}

static void assert_table_equal(const struct finger_table *a,
                               const struct finger_table *b)
{
  assert_peer_equal(&a->self, &b->self);
  for (size_t i = 0; i < FINGER_COUNT; i++)
    assert_peer_equal(&a->finger[i], &b->finger[i]);
  assert_int_equal(a->has_pred, b->has_pred);
  assert_peer_equal(&a->pred, &b->pred);
  assert_int_equal(a->nsucc, b->nsucc);
  for (size_t i = 0; i < a->nsucc; i++)
    assert_peer_equal(&a->succ[i], &b->succ[i]);
}

/* Checks t, built for ring[s] with successor list length r, against the
 * brute force, and routes KEYS_PER_NODE random keys. */
static void check_table(const struct finger_table *t,
                        const struct chord_peer *ring, size_t n, size_t s,
                        size_t r, uint64_t *seed)
{
  const struct chord_peer *self = &ring[s];

  assert_peer_equal(&t->self, self);
  for (unsigned i = 0; i < FINGER_COUNT; i++) {
    struct chord_id start;
    chord_id_add_pow2(&start, &self->id, i);
    assert_peer_equal(&t->finger[i], &ring[brute_successor(ring, n, &start)]);
  }

  assert_true(t->has_pred);
  assert_peer_equal(&t->pred, &ring[brute_pred(ring, n, s)]);

  size_t want_nsucc = n == 1 ? 1 : (n - 1 < r ? n - 1 : r);
  assert_int_equal(t->nsucc, want_nsucc);
  if (n == 1) {
    assert_peer_equal(&t->succ[0], self);
  } else {
    struct chord_id floor;
    memset(&floor, 0, sizeof(floor));
    for (size_t k = 0; k < want_nsucc; k++) {
      size_t next = brute_next_after(ring, n, s, &floor);
      assert_true(next < n);
      assert_peer_equal(&t->succ[k], &ring[next]);
      chord_id_sub(&floor, &ring[next].id, &self->id);
    }
  }

  for (int k = 0; k < KEYS_PER_NODE; k++) {
    struct chord_id key;
    switch (k % 4) {
    case 0: /* a member's id, or one past it */
      key = ring[rng_next(seed) % n].id;
      if (k % 8 == 4)
        chord_id_add_pow2(&key, &key, 0);
      break;
    case 1: /* near self */
      chord_id_add_pow2(&key, &self->id, (unsigned)(rng_next(seed) % 160));
      break;
    default: random_id(seed, &key); break;
    }
    const struct chord_peer *got = finger_closest_preceding(t, &key);
    const struct chord_peer *want = brute_best_entry(t, &key);
    assert_non_null(got);
    if (got != &t->self)
      assert_true(brute_in_oo(&got->id, &self->id, &key));
    if (want) {
      assert_peer_equal(got, want);
    } else {
      assert_ptr_equal(got, &t->self);
    }
  }
}

/* Copies ring into members in a shuffled order, with self left out when
 * drop_self; returns the count. */
static size_t shuffled_members(struct chord_peer *members,
                               const struct chord_peer *ring, size_t n,
                               size_t s, bool drop_self, uint64_t *seed)
{
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (!(drop_self && i == s))
      members[m++] = ring[i];
  }
  for (size_t i = m; i > 1; i--) {
    size_t j = rng_next(seed) % i;
    struct chord_peer tmp = members[i - 1];
    members[i - 1] = members[j];
    members[j] = tmp;
  }
  return m;
}

static void run_random_rings(struct fixture *f, bool clustered)
{
  static const size_t sizes[] = {1,  2,  3,  5,   8,   13,  21,
                                 34, 55, 89, 144, 233, 377, 500};

  for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
    size_t n = sizes[z];
    if (clustered && n > 144)
      break; /* the shape, not the size, is what this variant adds */
    uint64_t seed = 1000 + n + (clustered ? 77 : 0);
    random_ring(f->ring, n, seed, clustered);
    for (size_t s = 0; s < n; s++) {
      size_t r = s % 2 ? FINGER_SUCC_MAX : 1 + s % FINGER_SUCC_MAX;
      size_t m = shuffled_members(f->members, f->ring, n, s, s % 3 == 0, &seed);
      assert_int_equal(finger_build(&f->t, &f->ring[s], f->members, m, r), 0);
      check_table(&f->t, f->ring, n, s, r, &seed);
    }
  }
}

static void test_finger_random_rings_match_brute_force(void **state)
{
  run_random_rings(*state, false);
}

static void test_finger_clustered_rings_match_brute_force(void **state)
{
  run_random_rings(*state, true);
}

/* Consecutive ids across zero: ..., max - 1, max, 0, 1, 2, ... */
static void test_finger_ring_across_zero(void **state)
{
  struct fixture *f = *state;
  size_t n = 0;
  uint64_t seed = 9;

  for (int v = -4; v <= 4; v++) {
    struct chord_id id, one;
    memset(&id, 0, sizeof(id));
    memset(&one, 0, sizeof(one));
    one.b[CHORD_ID_BYTES - 1] = (uint8_t)(v < 0 ? -v : v);
    if (v < 0)
      chord_id_sub(&id, &id, &one);
    else
      id = one;
    make_peer(&f->ring[n], &id, n);
    n++;
  }
  for (size_t s = 0; s < n; s++) {
    assert_int_equal(finger_build(&f->t, &f->ring[s], f->ring, n, 3), 0);
    check_table(&f->t, f->ring, n, s, 3, &seed);
  }
}

static void check_alone(const struct finger_table *t,
                        const struct chord_peer *self)
{
  assert_peer_equal(&t->self, self);
  for (size_t i = 0; i < FINGER_COUNT; i++)
    assert_peer_equal(&t->finger[i], self);
  assert_true(t->has_pred);
  assert_peer_equal(&t->pred, self);
  assert_int_equal(t->nsucc, 1);
  assert_peer_equal(&t->succ[0], self);

  uint64_t seed = 3;
  for (int k = 0; k < 50; k++) {
    struct chord_id key;
    random_id(&seed, &key);
    assert_ptr_equal(finger_closest_preceding(t, &key), &t->self);
  }
  assert_ptr_equal(finger_closest_preceding(t, &self->id), &t->self);
}

static void test_finger_one_node_ring(void **state)
{
  struct fixture *f = *state;
  struct chord_peer self, impostor;
  uint64_t seed = 5;
  struct chord_id id;

  random_id(&seed, &id);
  make_peer(&self, &id, 1);

  /* No members at all. */
  assert_int_equal(finger_build(&f->t, &self, NULL, 0, 4), 0);
  check_alone(&f->t, &self);

  /* Self alone in the member list, repeated. */
  f->members[0] = self;
  f->members[1] = self;
  memset(&f->t, 0, sizeof(f->t));
  assert_int_equal(finger_build(&f->t, &self, f->members, 2, 1), 0);
  check_alone(&f->t, &self);

  /* The list has self's id under another address: self's address wins. */
  impostor = self;
  snprintf(impostor.addr, sizeof(impostor.addr), "aaa-first.test:1");
  memset(&f->t, 0, sizeof(f->t));
  assert_int_equal(finger_build(&f->t, &self, &impostor, 1, 2), 0);
  check_alone(&f->t, &self);

  /* finger_init_alone gives the same table. */
  memset(&f->u, 0, sizeof(f->u));
  finger_init_alone(&f->u, &self);
  check_alone(&f->u, &self);
  assert_table_equal(&f->t, &f->u);

  /* self may point into the table it initialises. */
  finger_init_alone(&f->u, &f->u.self);
  check_alone(&f->u, &self);
}

static void test_finger_member_order_and_duplicates(void **state)
{
  struct fixture *f = *state;
  const size_t n = 40;
  uint64_t seed = 11;

  random_ring(f->ring, n, 4242, false);
  for (size_t s = 0; s < n; s += 7) {
    /* Reference: the ring as given, self included. */
    assert_int_equal(finger_build(&f->u, &f->ring[s], f->ring, n, 5), 0);
    check_table(&f->u, f->ring, n, s, 5, &seed);

    /* Without self, shuffled. */
    size_t m = shuffled_members(f->members, f->ring, n, s, true, &seed);
    assert_int_equal(finger_build(&f->t, &f->ring[s], f->members, m, 5), 0);
    assert_table_equal(&f->t, &f->u);

    /* Each member two or three times, self included, shuffled. */
    m = 0;
    for (size_t i = 0; i < n; i++) {
      size_t copies = 2 + (rng_next(&seed) % 2);
      for (size_t c = 0; c < copies; c++)
        f->members[m++] = f->ring[i];
    }
    for (size_t i = m; i > 1; i--) {
      size_t j = rng_next(&seed) % i;
      struct chord_peer tmp = f->members[i - 1];
      f->members[i - 1] = f->members[j];
      f->members[j] = tmp;
    }
    memset(&f->t, 0, sizeof(f->t));
    assert_int_equal(finger_build(&f->t, &f->ring[s], f->members, m, 5), 0);
    assert_table_equal(&f->t, &f->u);

    /* Self's id listed under other addresses, before and after self's
     * own in sort order: the table still names self by self->addr. */
    m = shuffled_members(f->members, f->ring, n, s, true, &seed);
    f->members[m] = f->ring[s];
    snprintf(f->members[m].addr, sizeof(f->members[m].addr), "0-imp:1");
    f->members[m + 1] = f->ring[s];
    snprintf(f->members[m + 1].addr, sizeof(f->members[m].addr), "zz-imp:1");
    memset(&f->t, 0, sizeof(f->t));
    assert_int_equal(finger_build(&f->t, &f->ring[s], f->members, m + 2, 5), 0);
    assert_table_equal(&f->t, &f->u);
  }
}

static void test_finger_duplicate_id_is_order_independent(void **state)
{
  struct fixture *f = *state;
  struct chord_peer a, b, self;

  lead_peer(&self, 0x10, 0);
  lead_peer(&a, 0x80, 1);
  b = a;
  snprintf(b.addr, sizeof(b.addr), "other.test:9");

  f->members[0] = a;
  f->members[1] = b;
  assert_int_equal(finger_build(&f->t, &self, f->members, 2, 2), 0);
  f->members[0] = b;
  f->members[1] = a;
  assert_int_equal(finger_build(&f->u, &self, f->members, 2, 2), 0);
  assert_table_equal(&f->t, &f->u);
  assert_int_equal(f->t.nsucc, 1);
  assert_true(chord_id_eq(&f->t.succ[0].id, &a.id));
}

static void test_finger_build_rejects_bad_args(void **state)
{
  struct fixture *f = *state;
  struct finger_table *before = malloc(sizeof(*before));
  struct chord_peer self;

  assert_non_null(before);
  lead_peer(&self, 0x42, 0);
  lead_peer(&f->members[0], 0x99, 1);
  memset(&f->t, 0xa5, sizeof(f->t));
  memcpy(before, &f->t, sizeof(*before));

  assert_int_equal(finger_build(&f->t, &self, f->members, 1, 0), CHORD_EINVAL);
  assert_memory_equal(&f->t, before, sizeof(*before));
  assert_int_equal(
      finger_build(&f->t, &self, f->members, 1, FINGER_SUCC_MAX + 1),
      CHORD_EINVAL);
  assert_memory_equal(&f->t, before, sizeof(*before));
  assert_int_equal(finger_build(&f->t, &self, NULL, 1, 1), CHORD_EINVAL);
  assert_memory_equal(&f->t, before, sizeof(*before));
  assert_int_equal(finger_build(&f->t, NULL, f->members, 1, 1), CHORD_EINVAL);
  assert_memory_equal(&f->t, before, sizeof(*before));
  assert_int_equal(finger_build(NULL, &self, f->members, 1, 1), CHORD_EINVAL);

  /* The limits themselves are accepted. */
  assert_int_equal(finger_build(&f->t, &self, f->members, 1, 1), 0);
  assert_int_equal(finger_build(&f->t, &self, f->members, 1, FINGER_SUCC_MAX),
                   0);
  assert_int_equal(f->t.nsucc, 1);
  free(before);
}

static void test_finger_successor_index_and_sort(void **state)
{
  struct fixture *f = *state;
  static const uint8_t leads[] = {0xc0, 0x40, 0x80, 0x40, 0x00, 0xc0, 0x40};
  const size_t n = sizeof(leads);
  struct chord_id key;

  for (size_t i = 0; i < n; i++)
    lead_peer(&f->members[i], leads[i], i);
  size_t m = finger_sort_unique(f->members, n);
  assert_int_equal(m, 4);
  for (size_t i = 0; i < m; i++)
    assert_int_equal(f->members[i].id.b[0], 0x40 * i);
  /* Of the three 0x40 entries the smallest address is kept. */
  assert_string_equal(f->members[1].addr, "node-1.test:7001");
  assert_int_equal(finger_sort_unique(f->members, 0), 0);

  memset(&key, 0, sizeof(key));
  assert_int_equal(finger_successor_index(f->members, m, &key), 0);
  key.b[19] = 1; /* just above 0x00.. */
  assert_int_equal(finger_successor_index(f->members, m, &key), 1);
  key.b[0] = 0x40;
  key.b[19] = 0; /* exactly 0x40.. */
  assert_int_equal(finger_successor_index(f->members, m, &key), 1);
  key.b[0] = 0x7f;
  assert_int_equal(finger_successor_index(f->members, m, &key), 2);
  key.b[0] = 0xc0;
  assert_int_equal(finger_successor_index(f->members, m, &key), 3);
  key.b[19] = 1; /* past the last: wraps to the first */
  assert_int_equal(finger_successor_index(f->members, m, &key), 0);
  memset(&key, 0xff, sizeof(key));
  assert_int_equal(finger_successor_index(f->members, m, &key), 0);
  assert_int_equal(finger_successor_index(f->members, 1, &key), 0);
}

static void test_finger_distinct_quarter_ring(void **state)
{
  struct fixture *f = *state;
  struct chord_peer out[8];
  unsigned idx[8];

  for (size_t i = 0; i < 4; i++)
    lead_peer(&f->ring[i], (uint8_t)(0x40 * i), i);

  /* Self 0x00: 2^i <= 2^158 lands on 0x40, 2^159 on 0x80. */
  assert_int_equal(finger_build(&f->t, &f->ring[0], f->ring, 4, 3), 0);
  assert_int_equal(finger_distinct(&f->t, out, idx, 8), 2);
  assert_int_equal(out[0].id.b[0], 0x40);
  assert_int_equal(idx[0], 0);
  assert_int_equal(out[1].id.b[0], 0x80);
  assert_int_equal(idx[1], 159);
  assert_int_equal(f->t.pred.id.b[0], 0xc0);
  assert_int_equal(f->t.nsucc, 3);
  assert_int_equal(f->t.succ[2].id.b[0], 0xc0);

  /* Self 0xc0: fingers up to 2^157 wrap to 0x00, 2^158 lands exactly on
   * 0x00 as well, 2^159 on 0x40. */
  assert_int_equal(finger_build(&f->t, &f->ring[3], f->ring, 4, 3), 0);
  assert_int_equal(finger_distinct(&f->t, out, idx, 8), 2);
  assert_int_equal(out[0].id.b[0], 0x00);
  assert_int_equal(idx[0], 0);
  assert_int_equal(out[1].id.b[0], 0x40);
  assert_int_equal(idx[1], 159);

  /* Closest preceding from 0x00 for key 0xc1..: with one successor the
   * best entry is the 0x80 finger; with three the successor list also
   * holds 0xc0, which no finger reaches and is nearer to the key. */
  struct chord_id key;
  memset(&key, 0, sizeof(key));
  key.b[0] = 0xc1;
  assert_int_equal(finger_build(&f->t, &f->ring[0], f->ring, 4, 1), 0);
  assert_int_equal(finger_closest_preceding(&f->t, &key)->id.b[0], 0x80);
  assert_int_equal(finger_build(&f->t, &f->ring[0], f->ring, 4, 3), 0);
  assert_int_equal(finger_closest_preceding(&f->t, &key)->id.b[0], 0xc0);
  key.b[0] = 0x40; /* (0x00, 0x40) holds no node */
  assert_ptr_equal(finger_closest_preceding(&f->t, &key), &f->t.self);
}

static void test_finger_distinct_uneven_ring(void **state)
{
  struct fixture *f = *state;
  static const uint8_t leads[] = {0x00, 0x01, 0x10, 0x40, 0x80};
  struct chord_peer out[8];
  unsigned idx[8];
  static const uint8_t want_lead[] = {0x01, 0x10, 0x40, 0x80};
  static const unsigned want_idx[] = {0, 153, 157, 159};

  for (size_t i = 0; i < 5; i++)
    lead_peer(&f->ring[i], leads[i], i);
  assert_int_equal(finger_build(&f->t, &f->ring[0], f->ring, 5, 2), 0);
  assert_int_equal(finger_distinct(&f->t, out, idx, 8), 4);
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(out[i].id.b[0], want_lead[i]);
    assert_string_equal(out[i].addr, f->ring[i + 1].addr);
    assert_int_equal(idx[i], want_idx[i]);
  }

  /* A short output still reports the full count; idx may be NULL. */
  memset(out, 0, sizeof(out));
  assert_int_equal(finger_distinct(&f->t, out, NULL, 2), 4);
  assert_int_equal(out[0].id.b[0], 0x01);
  assert_int_equal(out[1].id.b[0], 0x10);
  assert_int_equal(out[2].id.b[0], 0x00); /* not written */
  assert_string_equal(out[2].addr, "");
  assert_int_equal(finger_distinct(&f->t, NULL, NULL, 0), 4);
}

static void test_finger_distinct_two_nodes_includes_self(void **state)
{
  struct fixture *f = *state;
  struct chord_peer out[4];
  unsigned idx[4];
  struct chord_id id;

  memset(&id, 0, sizeof(id));
  make_peer(&f->ring[0], &id, 0);
  id.b[19] = 1;
  make_peer(&f->ring[1], &id, 1);

  /* From 0: finger 0 is node 1; 2^i >= 2 wraps back to self. */
  assert_int_equal(finger_build(&f->t, &f->ring[0], f->ring, 2, 4), 0);
  assert_int_equal(finger_distinct(&f->t, out, idx, 4), 2);
  assert_peer_equal(&out[0], &f->ring[1]);
  assert_int_equal(idx[0], 0);
  assert_peer_equal(&out[1], &f->ring[0]);
  assert_int_equal(idx[1], 1);
  assert_peer_equal(&f->t.pred, &f->ring[1]);
  assert_int_equal(f->t.nsucc, 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(
          test_finger_random_rings_match_brute_force, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_finger_clustered_rings_match_brute_force, setup, teardown),
      cmocka_unit_test_setup_teardown(test_finger_ring_across_zero, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_finger_one_node_ring, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_finger_member_order_and_duplicates,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_finger_duplicate_id_is_order_independent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_finger_build_rejects_bad_args, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_finger_successor_index_and_sort,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_finger_distinct_quarter_ring, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_finger_distinct_uneven_ring, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(
          test_finger_distinct_two_nodes_includes_self, setup, teardown),
  };
  return cmocka_run_group_tests_name("finger", tests, NULL, NULL);
}
