/* SPDX-License-Identifier: MIT */
/* Unit tests for route_decide: each verdict on a hand-made ring of eight
 * nodes (0x10 .. 0x80, seen from 0x40), the node states, hand-offs and
 * direct requests, and a hop-by-hop walk over random rings. */
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
#include "node/handoff.h"
#include "node/ring.h"
#include "node/route.h"

#define RING_MAX 48       /* largest random ring */
#define KEYS_PER_NODE 200 /* random keys routed from each node */
#define SUCC_LEN 3        /* chord-node's default --successors */
#define HOP_LIMIT 32      /* chord-node's default hop limit */
#define SELF 3            /* index of 0x40 in the hand-made ring */

/* Per-test storage (rings are ~50 KB each). The hand-made ring is
 * peers[0..8) = 0x10, 0x20, ... 0x80, with rings[0] the view of 0x40. */
struct fixture {
  struct chord_peer peers[RING_MAX];
  struct ring rings[RING_MAX];
  struct handoff give;
  struct route_view v;
  size_t n;
};

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  if (!f)
    return -1;
  handoff_init(&f->give);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  for (size_t i = 0; i < RING_MAX; i++)
    ring_close(&f->rings[i]);
  handoff_clear(&f->give);
  free(f);
  return 0;
}

static struct chord_id lead_id(uint8_t lead)
{
  struct chord_id id;
  memset(&id, 0, sizeof(id));
  id.b[0] = lead;
  return id;
}

/* The eight-node ring seen from 0x40, JOINED, no hand-off. */
static int setup_eight(void **state)
{
  if (setup(state))
    return -1;
  struct fixture *f = *state;
  for (size_t i = 0; i < 8; i++) {
    struct chord_id id = lead_id((uint8_t)(0x10 * (i + 1)));
    make_peer(&f->peers[i], &id, i);
  }
  f->n = 8;
  ring_init(&f->rings[0], &f->peers[SELF], SUCC_LEN);
  if (ring_install(&f->rings[0], &f->peers[SELF], f->peers, 8))
    return -1;
  f->v.state = NODE_JOINED;
  f->v.ring = &f->rings[0];
  f->v.give = &f->give;
  f->v.hop_limit = HOP_LIMIT;
  return 0;
}

static void assert_peer_equal(const struct chord_peer *a,
                              const struct chord_peer *b)
{
  assert_memory_equal(a->id.b, b->id.b, CHORD_ID_BYTES);
  assert_string_equal(a->addr, b->addr);
}

/* Decides for key (a read, not direct, no hops) and returns the verdict;
 * *next and *direct as route_decide sets them. */
static enum route_verdict decide(const struct fixture *f,
                                 const struct chord_id *key, bool mutating,
                                 bool direct_in, uint32_t hops,
                                 const struct chord_peer **next, bool *direct)
{
  struct route_req rq = {*key, mutating, direct_in, hops};
  return route_decide(&f->v, &rq, next, direct);
}

/* Asserts that key forwards (not direct) to want. */
static void assert_forwards(const struct fixture *f, uint8_t lead,
                            const struct chord_peer *want)
{
  struct chord_id key = lead_id(lead);
  const struct chord_peer *next = NULL;
  bool direct = true;
  assert_int_equal(decide(f, &key, false, false, 0, &next, &direct),
                   ROUTE_FORWARD);
  assert_non_null(next);
  assert_false(direct);
  assert_peer_equal(next, want);
}

static void assert_verdict(const struct fixture *f, uint8_t lead, bool mutating,
                           bool direct_in, enum route_verdict want)
{
  struct chord_id key = lead_id(lead);
  const struct chord_peer *next = NULL;
  bool direct;
  assert_int_equal(decide(f, &key, mutating, direct_in, 0, &next, &direct),
                   want);
}

/* Brute force: the live finger or successor in (self, key) nearest to key,
 * else the first live successor, else succ[0]. */
static const struct chord_peer *brute_next(const struct ring *r,
                                           const struct chord_id *key)
{
  const struct finger_table *ft = &r->ft;
  const struct chord_peer *best = NULL;
  struct chord_id d, best_d;
  for (size_t i = 0; i < FINGER_COUNT + ft->nsucc; i++) {
    const struct chord_peer *c =
        i < FINGER_COUNT ? &ft->finger[i] : &ft->succ[i - FINGER_COUNT];
    if (!chord_id_in_oo(&c->id, &ft->self.id, key) || ring_is_dead(r, &c->id))
      continue;
    chord_id_sub(&d, key, &c->id);
    if (!best || chord_id_cmp(&d, &best_d) < 0) {
      best = c;
      best_d = d;
    }
  }
  if (best)
    return best;
  best = ring_first_live_successor(r);
  return best ? best : &ft->succ[0];
}

static void test_route_owned_key_is_local(void **state)
{
  struct fixture *f = *state;
  const uint8_t mine[] = {0x31, 0x35, 0x40};
  for (size_t i = 0; i < sizeof(mine); i++) {
    assert_verdict(f, mine[i], false, false, ROUTE_LOCAL);
    assert_verdict(f, mine[i], true, false, ROUTE_LOCAL);
  }
}

static void test_route_successor_range_goes_to_successor(void **state)
{
  struct fixture *f = *state;
  assert_forwards(f, 0x41, &f->peers[4]);
  assert_forwards(f, 0x50, &f->peers[4]);
}

static void test_route_pred_range_goes_to_pred(void **state)
{
  struct fixture *f = *state;
  assert_forwards(f, 0x21, &f->peers[2]);
  assert_forwards(f, 0x30, &f->peers[2]);
  /* pred2's own key is not in (pred2, pred]. */
  assert_verdict(f, 0x20, false, false, ROUTE_FORWARD);
  struct chord_id key = lead_id(0x20);
  const struct chord_peer *next = NULL;
  bool direct;
  decide(f, &key, false, false, 0, &next, &direct);
  assert_false(chord_id_eq(&next->id, &f->peers[2].id));
}

static void test_route_far_key_goes_to_closest_preceding(void **state)
{
  struct fixture *f = *state;
  const struct ring *r = &f->rings[0];
  uint64_t seed = 0xfa700000u;
  /* 0x05 and 0x0f: 0x80 is the nearest finger before them. */
  assert_forwards(f, 0x05, &f->peers[7]);
  assert_forwards(f, 0x0f, &f->peers[7]);
  assert_forwards(f, 0x75, &f->peers[6]);
  for (size_t k = 0; k < 5000; k++) {
    struct chord_id key;
    const struct chord_peer *next = NULL;
    bool direct;
    random_id(&seed, &key);
    if (ring_owns(r, &key) || ring_pred_owns(r, &key) ||
        chord_id_in_oc(&key, &r->ft.self.id, &r->ft.succ[0].id))
      continue;
    assert_int_equal(decide(f, &key, false, false, 0, &next, &direct),
                     ROUTE_FORWARD);
    assert_peer_equal(next, brute_next(r, &key));
  }
}

static void test_route_dead_finger_skipped(void **state)
{
  struct fixture *f = *state;
  struct ring *r = &f->rings[0];
  uint64_t seed = 0xdeadf000u;
  /* 0x80 dead: 0x05 goes to the next best live peer, 0x70. */
  ring_mark_dead(r, &f->peers[7].id);
  assert_forwards(f, 0x05, &f->peers[6]);
  /* 0x70 dead too: 0x60. */
  ring_mark_dead(r, &f->peers[6].id);
  assert_forwards(f, 0x05, &f->peers[5]);
  for (size_t k = 0; k < 5000; k++) {
    struct chord_id key;
    const struct chord_peer *next = NULL;
    bool direct;
    random_id(&seed, &key);
    if (ring_owns(r, &key) || ring_pred_owns(r, &key))
      continue;
    assert_int_equal(decide(f, &key, false, false, 0, &next, &direct),
                     ROUTE_FORWARD);
    assert_false(ring_is_dead(r, &next->id));
    if (!chord_id_in_oc(&key, &r->ft.self.id, &r->ft.succ[0].id))
      assert_peer_equal(next, brute_next(r, &key));
  }
  ring_mark_alive(r, &f->peers[7].id);
  assert_forwards(f, 0x05, &f->peers[7]);
}

static void test_route_dead_successor_skipped(void **state)
{
  struct fixture *f = *state;
  ring_mark_dead(&f->rings[0], &f->peers[4].id);
  assert_forwards(f, 0x45, &f->peers[5]);
  assert_forwards(f, 0x50, &f->peers[5]);
  assert_forwards(f, 0x55, &f->peers[5]);
  ring_mark_dead(&f->rings[0], &f->peers[5].id);
  assert_forwards(f, 0x45, &f->peers[6]);
}

static void test_route_hop_limit(void **state)
{
  struct fixture *f = *state;
  struct chord_id far = lead_id(0x05), mine = lead_id(0x35);
  const struct chord_peer *next = NULL;
  bool direct;
  assert_int_equal(decide(f, &far, false, false, HOP_LIMIT - 1, &next, &direct),
                   ROUTE_FORWARD);
  assert_int_equal(decide(f, &far, false, false, HOP_LIMIT, &next, &direct),
                   ROUTE_HOP_LIMIT);
  assert_null(next);
  assert_int_equal(decide(f, &far, true, false, HOP_LIMIT + 5, &next, &direct),
                   ROUTE_HOP_LIMIT);
  /* Even a key of ours: the request has gone round too often. */
  assert_int_equal(decide(f, &mine, false, false, HOP_LIMIT, &next, &direct),
                   ROUTE_HOP_LIMIT);
  assert_int_equal(
      decide(f, &mine, false, false, HOP_LIMIT - 1, &next, &direct),
      ROUTE_LOCAL);
}

static void test_route_joining(void **state)
{
  struct fixture *f = *state;
  const uint8_t keys[] = {0x05, 0x35, 0x40, 0x45, 0x75};
  f->v.state = NODE_JOINING;
  for (size_t i = 0; i < sizeof(keys); i++)
    assert_verdict(f, keys[i], false, false, ROUTE_NOT_READY);

  /* With a successor to serve us, everything goes to it, ours too. */
  f->v.join_succ = &f->peers[4];
  for (size_t i = 0; i < sizeof(keys); i++) {
    struct chord_id key = lead_id(keys[i]);
    const struct chord_peer *next = NULL;
    bool direct = true;
    assert_int_equal(decide(f, &key, true, false, 0, &next, &direct),
                     ROUTE_FORWARD);
    assert_ptr_equal(next, &f->peers[4]);
    assert_false(direct);
  }

  /* Holding (pred, self]: those park, reads and writes alike. */
  f->v.join_hold = true;
  assert_verdict(f, 0x31, false, false, ROUTE_PARK);
  assert_verdict(f, 0x35, true, false, ROUTE_PARK);
  assert_verdict(f, 0x40, true, false, ROUTE_PARK);
  assert_verdict(f, 0x41, true, false, ROUTE_FORWARD);
  assert_verdict(f, 0x30, true, false, ROUTE_FORWARD);
  assert_verdict(f, 0x05, false, false, ROUTE_FORWARD);
}

static void test_route_left_forwards_given_range_direct(void **state)
{
  struct fixture *f = *state;
  struct chord_id from = lead_id(0x30), upto = lead_id(0x40);
  f->v.state = NODE_LEFT;
  handoff_begin(&f->give, &f->peers[4], &from, &upto, 0);
  const uint8_t given[] = {0x31, 0x35, 0x40};
  for (size_t i = 0; i < sizeof(given); i++) {
    struct chord_id key = lead_id(given[i]);
    const struct chord_peer *next = NULL;
    bool direct = false;
    assert_int_equal(decide(f, &key, true, false, 0, &next, &direct),
                     ROUTE_FORWARD);
    assert_ptr_equal(next, &f->give.to);
    assert_true(direct);
  }
  /* Outside the range: the ring's choice, not direct. */
  assert_forwards(f, 0x05, &f->peers[7]);
  assert_forwards(f, 0x45, &f->peers[4]);
  assert_forwards(f, 0x25, &f->peers[2]);
}

static void test_route_held_handoff_parks_changes_only(void **state)
{
  struct fixture *f = *state;
  struct chord_id from = lead_id(0x30), upto = lead_id(0x38);
  struct chord_peer joiner;
  make_peer(&joiner, &upto, 99);
  handoff_begin(&f->give, &joiner, &from, &upto, 0);
  /* Active but not held: nothing parks. */
  assert_verdict(f, 0x35, true, false, ROUTE_LOCAL);
  f->give.hold = true;
  assert_verdict(f, 0x35, true, false, ROUTE_PARK);
  assert_verdict(f, 0x38, true, false, ROUTE_PARK);
  assert_verdict(f, 0x35, true, true, ROUTE_PARK);
  /* Reads in the range and changes outside it go on. */
  assert_verdict(f, 0x35, false, false, ROUTE_LOCAL);
  assert_verdict(f, 0x39, true, false, ROUTE_LOCAL);
  assert_verdict(f, 0x30, true, false, ROUTE_FORWARD);
  assert_verdict(f, 0x05, true, false, ROUTE_FORWARD);
}

static void test_route_direct_honoured_only_for_our_ranges(void **state)
{
  struct fixture *f = *state;
  const enum node_state members[] = {NODE_JOINED, NODE_LEAVING};
  for (size_t s = 0; s < 2; s++) {
    f->v.state = members[s];
    /* Ours and the predecessor's: served here when direct. */
    assert_verdict(f, 0x35, true, true, ROUTE_LOCAL);
    assert_verdict(f, 0x25, true, true, ROUTE_LOCAL);
    assert_verdict(f, 0x30, false, true, ROUTE_LOCAL);
    assert_verdict(f, 0x25, true, false, ROUTE_FORWARD);
    /* Anyone else's: routed as usual. */
    assert_verdict(f, 0x05, true, true, ROUTE_FORWARD);
    assert_verdict(f, 0x45, true, true, ROUTE_FORWARD);
    assert_verdict(f, 0x20, true, true, ROUTE_FORWARD);
    struct chord_id k = lead_id(0x25);
    assert_true(route_direct_allowed(&f->v, &k));
    k = lead_id(0x55);
    assert_false(route_direct_allowed(&f->v, &k));
  }
  /* Not a member: never honoured. */
  const enum node_state others[] = {NODE_JOINING, NODE_LEFT};
  f->v.join_succ = &f->peers[4];
  for (size_t s = 0; s < 2; s++) {
    f->v.state = others[s];
    struct chord_id k = lead_id(0x35);
    assert_false(route_direct_allowed(&f->v, &k));
    k = lead_id(0x25);
    assert_false(route_direct_allowed(&f->v, &k));
    assert_verdict(f, 0x25, true, true, ROUTE_FORWARD);
  }
  f->v.state = NODE_JOINING;
  assert_verdict(f, 0x35, true, true, ROUTE_FORWARD);
}

/* --- random rings, walked hop by hop ------------------------------------- */

static size_t peer_index(const struct fixture *f, const struct chord_id *id)
{
  for (size_t i = 0; i < f->n; i++)
    if (chord_id_eq(&f->peers[i].id, id))
      return i;
  return f->n;
}

static size_t brute_owner(const struct fixture *f, const struct chord_id *key)
{
  size_t best = 0;
  struct chord_id best_d, d;
  for (size_t i = 0; i < f->n; i++) {
    chord_id_sub(&d, &f->peers[i].id, key);
    if (i == 0 || chord_id_cmp(&d, &best_d) < 0) {
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

static void test_route_random_rings_reach_owner(void **state)
{
  struct fixture *f = *state;
  unsigned worst = 0;
  for (size_t n = 1; n <= RING_MAX; n += (n < 8 ? 1 : 5)) {
    uint64_t seed = 0x70a70000u + n;
    for (size_t i = 0; i < RING_MAX; i++)
      ring_close(&f->rings[i]);
    f->n = n;
    for (size_t k = 0; k < n; k++) {
      struct chord_id id;
      do
        random_id(&seed, &id);
      while (peer_index(f, &id) < k);
      make_peer(&f->peers[k], &id, k);
    }
    for (size_t i = 0; i < n; i++) {
      ring_init(&f->rings[i], &f->peers[i], SUCC_LEN);
      assert_int_equal(ring_install(&f->rings[i], &f->peers[i], f->peers, n),
                       0);
    }
    unsigned limit = ceil_log2(n) + 2;
    for (size_t start = 0; start < n; start++) {
      for (size_t k = 0; k < KEYS_PER_NODE; k++) {
        bool seen[RING_MAX] = {false};
        struct chord_id key;
        random_id(&seed, &key);
        size_t owner = brute_owner(f, &key), at = start;
        uint32_t hops = 0;
        for (;;) {
          struct route_view v = {NODE_JOINED, &f->rings[at], &f->give,
                                 NULL,        false,         HOP_LIMIT};
          struct route_req rq = {key, k % 2 == 0, false, hops};
          const struct chord_peer *next = NULL;
          bool direct = true;
          assert_false(seen[at]);
          seen[at] = true;
          enum route_verdict verdict = route_decide(&v, &rq, &next, &direct);
          if (verdict == ROUTE_LOCAL)
            break;
          assert_int_equal(verdict, ROUTE_FORWARD);
          assert_false(direct);
          at = peer_index(f, &next->id);
          assert_true(at < n);
          hops++;
          if (hops > limit)
            fail_msg("%zu nodes: %u hops from %zu", n, hops, start);
        }
        assert_int_equal(at, owner);
        if (hops > worst)
          worst = hops;
      }
    }
  }
  print_message("random rings of 1..%d nodes: at most %u hops\n", RING_MAX,
                worst);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_route_owned_key_is_local,
                                      setup_eight, teardown),
      cmocka_unit_test_setup_teardown(
          test_route_successor_range_goes_to_successor, setup_eight, teardown),
      cmocka_unit_test_setup_teardown(test_route_pred_range_goes_to_pred,
                                      setup_eight, teardown),
      cmocka_unit_test_setup_teardown(
          test_route_far_key_goes_to_closest_preceding, setup_eight, teardown),
      cmocka_unit_test_setup_teardown(test_route_dead_finger_skipped,
                                      setup_eight, teardown),
      cmocka_unit_test_setup_teardown(test_route_dead_successor_skipped,
                                      setup_eight, teardown),
      cmocka_unit_test_setup_teardown(test_route_hop_limit, setup_eight,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_route_joining, setup_eight,
                                      teardown),
      cmocka_unit_test_setup_teardown(
          test_route_left_forwards_given_range_direct, setup_eight, teardown),
      cmocka_unit_test_setup_teardown(
          test_route_held_handoff_parks_changes_only, setup_eight, teardown),
      cmocka_unit_test_setup_teardown(
          test_route_direct_honoured_only_for_our_ranges, setup_eight,
          teardown),
      cmocka_unit_test_setup_teardown(test_route_random_rings_reach_owner,
                                      setup, teardown),
  };
  return cmocka_run_group_tests_name("route", tests, NULL, NULL);
}
