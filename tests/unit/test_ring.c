/* SPDX-License-Identifier: MIT */
/* Unit tests for ring: routing verdicts on hand-made and random rings,
 * checked against brute-force linear scans, and a hop-by-hop simulation in
 * which every node routes with its own struct ring. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/chord_id.h"
#include "common/finger.h"
#include "ring_util.h"
#include "node/ring.h"

#define RING_MAX 64       /* largest random ring */
#define KEYS_PER_NODE 500 /* random keys routed from each node */
#define SUCC_LEN 3        /* chord-node's default --successors */
#define MEAN_RINGS 4      /* rings of RING_MAX nodes for the mean hops */

/* Per-test storage: a struct ring is ~50 KB, so the rings live on the
 * heap. peers[i] is the member whose view is rings[i]. */
struct fixture {
  struct chord_peer peers[RING_MAX];       /* distinct ids, random order */
  struct chord_peer members[RING_MAX * 3]; /* shuffled lists with repeats */
  struct ring rings[RING_MAX];
  size_t pred[RING_MAX]; /* brute-force predecessor */
  size_t succ[RING_MAX]; /* brute-force successor */
  size_t n;              /* peers and rings in use */
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
  struct fixture *f = *state;
  for (size_t i = 0; i < RING_MAX; i++)
    ring_close(&f->rings[i]);
  free(f);
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

/* An id with leading byte lead and zeros after it. */
static struct chord_id lead_id(uint8_t lead)
{
  struct chord_id id;
  memset(&id, 0, sizeof(id));
  id.b[0] = lead;
  return id;
}

/* out = id + 1 or id - 1 (mod 2^160). */
static void id_plus_one(struct chord_id *out, const struct chord_id *id)
{
  chord_id_add_pow2(out, id, 0);
}

static void id_minus_one(struct chord_id *out, const struct chord_id *id)
{
  struct chord_id one;
  memset(&one, 0, sizeof(one));
  one.b[CHORD_ID_BYTES - 1] = 1;
  chord_id_sub(out, id, &one);
}

/* out = id / 2, by shifting the big-endian bytes right one bit. */
static void id_halve(struct chord_id *out, const struct chord_id *id)
{
  unsigned carry = 0;
  for (int i = 0; i < CHORD_ID_BYTES; i++) {
    unsigned b = id->b[i];
    out->b[i] = (uint8_t)((b >> 1) | (carry << 7));
    carry = b & 1;
  }
}

/* Index of the peer with id in ring[0..n), or n. */
static size_t peer_index(const struct chord_peer *ring, size_t n,
                         const struct chord_id *id)
{
  for (size_t i = 0; i < n; i++)
    if (ring[i].id.b[0] == id->b[0] && chord_id_eq(&ring[i].id, id))
      return i;
  return n;
}

/* Fills ring[0..n) with distinct random ids, in no particular order. */
static void random_ring(struct chord_peer *ring, size_t n, uint64_t seed)
{
  for (size_t k = 0; k < n; k++) {
    struct chord_id id;
    do
      random_id(&seed, &id);
    while (peer_index(ring, k, &id) != k);
    make_peer(&ring[k], &id, k);
  }
}

/* --- brute force: linear scans over the unsorted member list ------------- */

/* successor(key): the member with the least clockwise distance from key
 * (distance 0 when a member's id is key). */
static size_t brute_owner(const struct chord_peer *ring, size_t n,
                          const struct chord_id *key)
{
  size_t best = 0;
  struct chord_id best_d, d;
  for (size_t i = 0; i < n; i++) {
    chord_id_sub(&d, &ring[i].id, key);
    if (i == 0 || chord_id_cmp(&d, &best_d) < 0) {
      best = i;
      best_d = d;
    }
  }
  return best;
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

/* The member just after ring[s] clockwise (ring[s] itself when alone). */
static size_t brute_succ(const struct chord_peer *ring, size_t n, size_t s)
{
  size_t best = s;
  struct chord_id best_d, d;
  for (size_t i = 0; i < n; i++) {
    if (i == s)
      continue;
    chord_id_sub(&d, &ring[i].id, &ring[s].id);
    if (best == s || chord_id_cmp(&d, &best_d) < 0) {
      best = i;
      best_d = d;
    }
  }
  return best;
}

static unsigned ceil_log2(size_t n)
{
  unsigned k = 0;
  while (((size_t)1 << k) < n)
    k++;
  return k;
}

static void assert_peer_equal(const struct chord_peer *a,
                              const struct chord_peer *b)
{
  assert_memory_equal(a->id.b, b->id.b, CHORD_ID_BYTES);
  assert_string_equal(a->addr, b->addr);
}

/* Whether p points into the storage of r. */
static bool points_into(const struct ring *r, const struct chord_peer *p)
{
  const char *lo = (const char *)r, *hi = (const char *)(r + 1);
  const char *in_list = (const char *)r->members;
  if ((const char *)p >= lo && (const char *)p < hi)
    return true;
  return r->members && (const char *)p >= in_list &&
         (const char *)p < (const char *)(r->members + r->nmembers);
}

/* Gives every peer its own ring built from the same member list (passed
 * unsorted, as the supernode would), and notes each one's neighbours. */
static void build_rings(struct fixture *f, size_t n, size_t succ_len)
{
  for (size_t i = 0; i < f->n; i++)
    ring_close(&f->rings[i]);
  f->n = n;
  for (size_t i = 0; i < n; i++) {
    ring_init(&f->rings[i], &f->peers[i], succ_len);
    assert_int_equal(ring_install(&f->rings[i], &f->peers[i], f->peers, n), 0);
    f->pred[i] = brute_pred(f->peers, n, i);
    f->succ[i] = brute_succ(f->peers, n, i);
  }
}

/* One routing step at peers[at] for key, whose brute-force owner is
 * peers[owner]. Checks the verdict against the owner and, when the step
 * forwards, where it goes. Returns the index of the next peer, or n when
 * the key is served here. */
static size_t check_step(const struct fixture *f, size_t at,
                         const struct chord_id *key, size_t owner)
{
  const struct ring *r = &f->rings[at];
  const struct chord_id *self = &f->peers[at].id;
  const struct chord_peer *next = NULL;
  size_t n = f->n;
  enum ring_verdict v = ring_route(r, key, &next);

  /* LOCAL exactly when this node is the owner. */
  assert_int_equal(v == RING_LOCAL, at == owner);
  assert_int_equal(ring_owns(r, key), at == owner);
  if (v == RING_LOCAL)
    return n;
  assert_int_equal(v, RING_FORWARD);
  assert_non_null(next);
  assert_true(points_into(r, next));

  /* A member, with the member's address, and not self. */
  size_t k = peer_index(f->peers, n, &next->id);
  assert_true(k < n);
  assert_string_equal(next->addr, f->peers[k].addr);
  assert_true(k != at);

  /* Never past the owner: next is in (self, owner], and unless it is the
   * owner it strictly precedes the key, i.e. it is in (self, key). */
  struct chord_id d_next, d_owner, d_key;
  chord_id_sub(&d_next, &next->id, self);
  chord_id_sub(&d_owner, &f->peers[owner].id, self);
  chord_id_sub(&d_key, key, self);
  assert_true(chord_id_cmp(&d_next, &d_owner) <= 0);
  if (k != owner)
    assert_true(chord_id_cmp(&d_next, &d_key) < 0);

  /* The neighbour rules: a key of the successor goes to it, and (with
   * three or more members) a key in (pred2, pred] goes straight to the
   * predecessor. */
  if (owner == f->succ[at])
    assert_int_equal(k, owner);
  if (n >= 3 && owner == f->pred[at])
    assert_int_equal(k, owner);
  return k;
}

/* Routes key from peers[start] node to node until it is served. Asserts
 * every step, that no node is visited twice and that it takes at most
 * ceil(log2(n)) + 2 forwards. Returns the number of forwards. */
static unsigned walk(const struct fixture *f, size_t start,
                     const struct chord_id *key)
{
  bool seen[RING_MAX] = {false};
  size_t owner = brute_owner(f->peers, f->n, key);
  unsigned limit = ceil_log2(f->n) + 2;
  unsigned hops = 0;
  size_t at = start;

  for (;;) {
    assert_false(seen[at]);
    seen[at] = true;
    size_t next = check_step(f, at, key, owner);
    if (next == f->n)
      break;
    hops++;
    if (hops > limit)
      fail_msg("%zu-node ring: %u hops from node %zu, limit %u", f->n, hops,
               start, limit);
    at = next;
  }
  assert_int_equal(at, owner);
  return hops;
}

/* --- tests --------------------------------------------------------------- */

static void test_ring_one_node_routes_local(void **state)
{
  struct fixture *f = *state;
  struct chord_peer *self = &f->peers[0];
  struct chord_peer alias;
  struct ring *r = &f->rings[0];
  uint64_t seed = 1;
  struct chord_id keys[1003];

  lead_peer(self, 0x42, 0);
  for (size_t i = 0; i < 1000; i++)
    random_id(&seed, &keys[i]);
  keys[1000] = self->id;
  id_plus_one(&keys[1001], &self->id);
  id_minus_one(&keys[1002], &self->id);

  /* Fresh, installed with nothing, and installed with self under
   * another address: every key is ours. */
  alias = *self;
  snprintf(alias.addr, sizeof(alias.addr), "elsewhere:1");
  for (int round = 0; round < 3; round++) {
    ring_init(r, self, SUCC_LEN);
    if (round == 1)
      assert_int_equal(ring_install(r, self, NULL, 0), 0);
    if (round == 2)
      assert_int_equal(ring_install(r, self, &alias, 1), 0);
    assert_false(r->has_pred2);
    for (size_t i = 0; i < 1003; i++) {
      const struct chord_peer *next = NULL;
      assert_int_equal(ring_route(r, &keys[i], &next), RING_LOCAL);
      assert_null(next);
      assert_true(ring_owns(r, &keys[i]));
      assert_peer_equal(ring_owner(r, &keys[i]), self);
    }
    ring_close(r);
  }
}

static void test_ring_install_keeps_self_address(void **state)
{
  struct fixture *f = *state;
  struct chord_peer self, impostor;
  struct ring *r = &f->rings[0];
  size_t m = 0;

  random_ring(f->peers, 10, 7);
  self = f->peers[3];
  impostor = self;
  snprintf(impostor.addr, sizeof(impostor.addr), "0.0.0.0:9");
  /* The impostor sorts before self's own address, so a plain
   * sort-and-keep-first would pick it. */
  assert_true(strcmp(impostor.addr, self.addr) < 0);
  f->members[m++] = impostor;
  for (size_t i = 0; i < 10; i++)
    if (i != 3)
      f->members[m++] = f->peers[i];
  f->members[m++] = impostor;

  ring_init(r, &self, SUCC_LEN);
  assert_int_equal(ring_install(r, &self, f->members, m), 0);
  assert_peer_equal(&r->ft.self, &self);
  assert_int_equal(r->nmembers, 10);
  size_t seen = 0;
  for (size_t i = 0; i < r->nmembers; i++) {
    if (chord_id_eq(&r->members[i].id, &self.id)) {
      assert_string_equal(r->members[i].addr, self.addr);
      seen++;
    }
  }
  assert_int_equal(seen, 1);
  for (size_t i = 0; i < FINGER_COUNT; i++)
    if (chord_id_eq(&r->ft.finger[i].id, &self.id))
      assert_string_equal(r->ft.finger[i].addr, self.addr);
  assert_peer_equal(ring_owner(r, &self.id), &self);
  ring_close(r);

  /* Also when self is missing from a list that holds only the impostor. */
  ring_init(r, &self, SUCC_LEN);
  assert_int_equal(ring_install(r, &self, &impostor, 1), 0);
  assert_int_equal(r->nmembers, 1);
  assert_peer_equal(&r->members[0], &self);
  assert_peer_equal(&r->ft.succ[0], &self);
  assert_peer_equal(&r->ft.pred, &self);
  ring_close(r);
}

static void test_ring_random_rings_route_to_owner(void **state)
{
  struct fixture *f = *state;
  unsigned worst = 0;

  for (size_t n = 2; n <= RING_MAX; n++) {
    uint64_t seed = 0x5eed0000u + n;
    random_ring(f->peers, n, seed);
    build_rings(f, n, SUCC_LEN);
    for (size_t i = 0; i < n; i++) {
      assert_int_equal(f->rings[i].nmembers, n);
      assert_int_equal(f->rings[i].has_pred2, n >= 3);
      if (n >= 3) {
        size_t p2 = f->pred[f->pred[i]];
        assert_peer_equal(&f->rings[i].pred2, &f->peers[p2]);
      }
      for (size_t k = 0; k < KEYS_PER_NODE; k++) {
        struct chord_id key;
        random_id(&seed, &key);
        unsigned hops = walk(f, i, &key);
        if (hops > worst)
          worst = hops;
      }
    }
  }
  print_message("random rings of 2..%d nodes: at most %u hops\n", RING_MAX,
                worst);
}

static void test_ring_mean_hops_64_nodes(void **state)
{
  struct fixture *f = *state;
  uint64_t total = 0, walks = 0;
  unsigned worst = 0;

  for (unsigned s = 0; s < MEAN_RINGS; s++) {
    uint64_t seed = 0x64640000u + s;
    random_ring(f->peers, RING_MAX, seed);
    build_rings(f, RING_MAX, SUCC_LEN);
    for (size_t i = 0; i < RING_MAX; i++) {
      for (size_t k = 0; k < KEYS_PER_NODE; k++) {
        struct chord_id key;
        random_id(&seed, &key);
        unsigned hops = walk(f, i, &key);
        total += hops;
        walks++;
        if (hops > worst)
          worst = hops;
      }
    }
  }
  double mean = (double)total / (double)walks;
  double bound = 0.5 * ceil_log2(RING_MAX) + 1.0; /* 64: log2 is exact */
  print_message("%d nodes, %u rings, %llu lookups: mean %.3f hops, "
                "max %u (bound %.1f)\n",
                RING_MAX, MEAN_RINGS, (unsigned long long)walks, mean, worst,
                bound);
  assert_true(mean <= bound);
}

static void test_ring_pred2_rule(void **state)
{
  struct fixture *f = *state;
  struct ring *r = &f->rings[0];
  struct chord_peer ring8[8];
  const struct chord_peer *next = NULL;
  struct chord_id key;

  /* 0x10 .. 0x80 with self at 0x80: pred 0x70, pred2 0x60. The fingers of
   * 0x80 reach only 0x10, so without the rule 0x65 would go the long way
   * round through 0x10. */
  for (size_t i = 0; i < 8; i++)
    lead_peer(&ring8[i], (uint8_t)(0x10 * (i + 1)), i);
  ring_init(r, &ring8[7], SUCC_LEN);
  assert_int_equal(ring_install(r, &ring8[7], ring8, 8), 0);
  assert_true(r->has_pred2);
  assert_peer_equal(&r->pred2, &ring8[5]);
  assert_peer_equal(&r->ft.pred, &ring8[6]);
  const uint8_t to_pred[] = {0x61, 0x65, 0x6f, 0x70};
  for (size_t i = 0; i < sizeof(to_pred); i++) {
    key = lead_id(to_pred[i]);
    assert_int_equal(ring_route(r, &key, &next), RING_FORWARD);
    assert_peer_equal(next, &ring8[6]);
  }
  id_plus_one(&key, &ring8[5].id);
  assert_int_equal(ring_route(r, &key, &next), RING_FORWARD);
  assert_peer_equal(next, &ring8[6]);
  /* pred2's own key is not in (pred2, pred]: it goes via the fingers. */
  key = ring8[5].id;
  assert_int_equal(ring_route(r, &key, &next), RING_FORWARD);
  assert_false(chord_id_eq(&next->id, &ring8[6].id));
  ring_close(r);

  /* Random rings: for every node, pred, pred2 + 1 and the midpoint of
   * (pred2, pred] go straight to the predecessor. */
  const size_t sizes[] = {3, 4, 5, 16, 64};
  for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
    size_t n = sizes[s];
    random_ring(f->peers, n, 0x9ed20000u + n);
    build_rings(f, n, SUCC_LEN);
    for (size_t i = 0; i < n; i++) {
      size_t p = brute_pred(f->peers, n, i);
      size_t p2 = brute_pred(f->peers, n, p);
      struct chord_id keys[3], d;
      keys[0] = f->peers[p].id;
      id_plus_one(&keys[1], &f->peers[p2].id);
      chord_id_sub(&d, &f->peers[p].id, &f->peers[p2].id);
      id_halve(&d, &d);
      chord_id_add(&keys[2], &f->peers[p2].id, &d);
      for (size_t k = 0; k < 3; k++) {
        next = NULL;
        assert_int_equal(ring_route(&f->rings[i], &keys[k], &next),
                         RING_FORWARD);
        assert_peer_equal(next, &f->peers[p]);
        assert_ptr_equal(next, &f->rings[i].ft.pred);
      }
    }
  }

  /* Two nodes: no pred2; the other node's keys go to it as successor. */
  random_ring(f->peers, 2, 0x9ed20002u);
  build_rings(f, 2, SUCC_LEN);
  for (size_t i = 0; i < 2; i++) {
    assert_false(f->rings[i].has_pred2);
    key = f->peers[1 - i].id;
    assert_int_equal(ring_route(&f->rings[i], &key, &next), RING_FORWARD);
    assert_peer_equal(next, &f->peers[1 - i]);
  }
}

static void test_ring_owns_and_owner_match_brute_force(void **state)
{
  struct fixture *f = *state;
  const size_t sizes[] = {1, 2, 3, 7, 20, 64};

  for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
    size_t n = sizes[s];
    uint64_t seed = 0x0c0e0000u + n;
    random_ring(f->peers, n, seed);
    build_rings(f, n, SUCC_LEN);
    for (size_t i = 0; i < n; i++) {
      const struct ring *r = &f->rings[i];
      /* Random keys, then every member's id and its two neighbours. */
      for (size_t k = 0; k < KEYS_PER_NODE + 3 * n; k++) {
        struct chord_id key;
        if (k < KEYS_PER_NODE) {
          random_id(&seed, &key);
        } else {
          size_t j = (k - KEYS_PER_NODE) / 3;
          size_t how = (k - KEYS_PER_NODE) % 3;
          key = f->peers[j].id;
          if (how == 1)
            id_plus_one(&key, &key);
          if (how == 2)
            id_minus_one(&key, &key);
        }
        size_t owner = brute_owner(f->peers, n, &key);
        const struct chord_peer *o = ring_owner(r, &key);
        assert_peer_equal(o, &f->peers[owner]);
        assert_true(points_into(r, o));
        assert_int_equal(ring_owns(r, &key), owner == i);
      }
    }
  }
}

static void test_ring_ids_at_the_extremes(void **state)
{
  struct fixture *f = *state;
  struct chord_id zero, top, key;
  memset(&zero, 0, sizeof(zero));
  memset(&top, 0xff, sizeof(top));

  /* 0, 2^159 and 2^160 - 1: the interval of 0 is (2^160 - 1, 0]. */
  make_peer(&f->peers[0], &zero, 0);
  lead_peer(&f->peers[1], 0x80, 1);
  make_peer(&f->peers[2], &top, 2);
  build_rings(f, 3, SUCC_LEN);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(ring_owns(&f->rings[i], &zero), i == 0);
    assert_int_equal(ring_owns(&f->rings[i], &top), i == 2);
    assert_peer_equal(ring_owner(&f->rings[i], &zero), &f->peers[0]);
    assert_peer_equal(ring_owner(&f->rings[i], &top), &f->peers[2]);
    id_plus_one(&key, &f->peers[1].id);
    assert_peer_equal(ring_owner(&f->rings[i], &key), &f->peers[2]);
    id_minus_one(&key, &f->peers[1].id);
    assert_peer_equal(ring_owner(&f->rings[i], &key), &f->peers[1]);
    for (size_t k = 0; k < 3; k++)
      walk(f, i, &f->peers[k].id);
  }
  uint64_t seed = 99;
  for (size_t k = 0; k < KEYS_PER_NODE; k++) {
    random_id(&seed, &key);
    for (size_t i = 0; i < 3; i++)
      walk(f, i, &key);
  }
}

static void test_ring_install_clamps_succ_len(void **state)
{
  struct fixture *f = *state;
  struct ring *r = &f->rings[0];
  const size_t asked[] = {
      0, 1, 5, FINGER_SUCC_MAX, FINGER_SUCC_MAX + 1, 1000, SIZE_MAX};
  const size_t got40[] = {1,
                          1,
                          5,
                          FINGER_SUCC_MAX,
                          FINGER_SUCC_MAX,
                          FINGER_SUCC_MAX,
                          FINGER_SUCC_MAX};

  random_ring(f->peers, 40, 0xc1a40000u);
  for (size_t a = 0; a < sizeof(asked) / sizeof(asked[0]); a++) {
    ring_init(r, &f->peers[0], asked[a]);
    assert_int_equal(ring_install(r, &f->peers[0], f->peers, 40), 0);
    assert_int_equal(r->ft.nsucc, got40[a]);
    size_t at = 0;
    for (size_t i = 0; i < r->ft.nsucc; i++) {
      at = brute_succ(f->peers, 40, at);
      assert_peer_equal(&r->ft.succ[i], &f->peers[at]);
    }
    assert_true(ring_owns(r, &f->peers[0].id));
    ring_close(r);
  }
  /* A short ring caps the list at the number of others. */
  ring_init(r, &f->peers[0], 1000);
  assert_int_equal(ring_install(r, &f->peers[0], f->peers, 4), 0);
  assert_int_equal(r->ft.nsucc, 3);
  ring_close(r);
}

static void test_ring_reinstall_replaces_the_list(void **state)
{
  struct fixture *f = *state;
  struct ring *r = &f->rings[0];
  struct chord_id key;
  const struct chord_peer *next = NULL;

  random_ring(f->peers, 20, 0x4e150000u);
  ring_init(r, &f->peers[0], SUCC_LEN);
  /* Each install frees the list before it: ASan's leak check sees it. */
  assert_int_equal(ring_install(r, &f->peers[0], f->peers, 20), 0);
  assert_int_equal(r->nmembers, 20);
  assert_true(r->has_pred2);
  assert_int_equal(ring_install(r, &f->peers[0], f->peers, 20), 0);
  assert_int_equal(ring_install(r, &f->peers[0], f->peers, 5), 0);
  assert_int_equal(r->nmembers, 5);
  assert_true(r->has_pred2);
  assert_peer_equal(&r->ft.pred, &f->peers[brute_pred(f->peers, 5, 0)]);
  /* Down to two: pred2 must not linger from the larger ring. */
  assert_int_equal(ring_install(r, &f->peers[0], f->peers, 2), 0);
  assert_int_equal(r->nmembers, 2);
  assert_false(r->has_pred2);
  key = f->peers[1].id;
  assert_int_equal(ring_route(r, &key, &next), RING_FORWARD);
  assert_peer_equal(next, &f->peers[1]);
  for (size_t i = 0; i < r->nmembers; i++)
    assert_true(peer_index(f->peers, 2, &r->members[i].id) < 2);
  ring_close(r);
  assert_null(r->members);
  assert_int_equal(r->nmembers, 0);
  ring_close(r); /* a second close is harmless */
}

static void test_ring_member_order_and_repeats(void **state)
{
  struct fixture *f = *state;
  struct ring *a = &f->rings[0], *b = &f->rings[1];
  uint64_t seed = 0x0dde0000u;
  size_t m = 0;

  random_ring(f->peers, 30, 0x0dd30000u);
  /* Every member up to three times, in a shuffled order, self included. */
  for (size_t i = 0; i < 30; i++)
    for (size_t k = 0; k <= i % 3; k++)
      f->members[m++] = f->peers[i];
  for (size_t i = m - 1; i > 0; i--) {
    size_t j = (size_t)(rng_next(&seed) % (i + 1));
    struct chord_peer t = f->members[i];
    f->members[i] = f->members[j];
    f->members[j] = t;
  }
  ring_init(a, &f->peers[5], SUCC_LEN);
  ring_init(b, &f->peers[5], SUCC_LEN);
  assert_int_equal(ring_install(a, &f->peers[5], f->peers, 30), 0);
  assert_int_equal(ring_install(b, &f->peers[5], f->members, m), 0);
  assert_int_equal(a->nmembers, 30);
  assert_int_equal(b->nmembers, 30);
  for (size_t i = 0; i < 30; i++)
    assert_peer_equal(&a->members[i], &b->members[i]);
  for (size_t i = 1; i < 30; i++)
    assert_true(chord_id_cmp(&a->members[i - 1].id, &a->members[i].id) < 0);
  for (size_t i = 0; i < FINGER_COUNT; i++)
    assert_peer_equal(&a->ft.finger[i], &b->ft.finger[i]);
  assert_int_equal(a->ft.nsucc, b->ft.nsucc);
  for (size_t i = 0; i < a->ft.nsucc; i++)
    assert_peer_equal(&a->ft.succ[i], &b->ft.succ[i]);
  assert_peer_equal(&a->ft.pred, &b->ft.pred);
  assert_peer_equal(&a->pred2, &b->pred2);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_ring_one_node_routes_local, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_ring_install_keeps_self_address,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_ring_random_rings_route_to_owner,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_ring_mean_hops_64_nodes, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_ring_pred2_rule, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_ring_owns_and_owner_match_brute_force, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ring_ids_at_the_extremes, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_ring_install_clamps_succ_len, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_ring_reinstall_replaces_the_list,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_ring_member_order_and_repeats, setup,
                                      teardown),
  };
  return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
