/* SPDX-License-Identifier: MIT */
/* Unit tests for the ring's setters and dead marks: each setter changes
 * only its part, the dead-mark buffer's bounds, and that installing a
 * member list and routing without dead marks match finger.c's answers. */
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

#define NPEERS 40  /* peers of the random rings */
#define SUCC_LEN 3 /* chord-node's default --successors */
#define NKEYS 2000 /* random keys per routing comparison */

/* A struct ring is ~50 KB: the rings and their snapshots live here. */
struct fixture {
  struct ring r, before, other;
  struct finger_table ft;
  struct chord_peer peers[NPEERS + 1];
  struct chord_id ids[RING_DEAD_MAX + 8];
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
  ring_close(&f->r);
  ring_close(&f->other);
  free(f);
  return 0;
}

/* Fills f->peers[0..n) with distinct random ids. */
static void random_peers(struct fixture *f, size_t n, uint64_t seed)
{
  for (size_t k = 0; k < n; k++) {
    struct chord_id id;
    bool dup;
    do {
      random_id(&seed, &id);
      dup = false;
      for (size_t j = 0; j < k; j++)
        dup = dup || chord_id_eq(&f->peers[j].id, &id);
    } while (dup);
    make_peer(&f->peers[k], &id, k);
  }
}

static void assert_peer_equal(const struct chord_peer *a,
                              const struct chord_peer *b)
{
  assert_memory_equal(a->id.b, b->id.b, CHORD_ID_BYTES);
  assert_string_equal(a->addr, b->addr);
}

/* The ring's routing table equals t. */
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

/* r (whole struct, bytes) equals what the test expects. */
static void assert_ring_is(const struct ring *r, const struct ring *want)
{
  assert_memory_equal(r, want, sizeof(*r));
}

static void test_ring_state_set_pred_and_pred2_only_their_part(void **state)
{
  struct fixture *f = *state;
  random_peers(f, 10, 0x9e1d0000u);
  ring_init(&f->r, &f->peers[0], SUCC_LEN);
  assert_int_equal(ring_install(&f->r, &f->peers[0], f->peers, 10), 0);

  memcpy(&f->before, &f->r, sizeof(f->r));
  ring_set_pred(&f->r, &f->peers[7]);
  f->before.ft.pred = f->peers[7];
  f->before.ft.has_pred = true;
  assert_ring_is(&f->r, &f->before);

  ring_set_pred(&f->r, NULL);
  assert_false(f->r.ft.has_pred);
  f->before.ft.has_pred = false;
  memset(&f->before.ft.pred, 0, sizeof(f->before.ft.pred));
  assert_ring_is(&f->r, &f->before);

  ring_set_pred2(&f->r, &f->peers[8]);
  f->before.pred2 = f->peers[8];
  f->before.has_pred2 = true;
  assert_ring_is(&f->r, &f->before);

  ring_set_pred2(&f->r, NULL);
  f->before.has_pred2 = false;
  memset(&f->before.pred2, 0, sizeof(f->before.pred2));
  assert_ring_is(&f->r, &f->before);
}

static void test_ring_state_set_successors_cut_and_empty(void **state)
{
  struct fixture *f = *state;
  random_peers(f, 10, 0x5acc0000u);
  ring_init(&f->r, &f->peers[0], SUCC_LEN);
  assert_int_equal(ring_install(&f->r, &f->peers[0], f->peers, 10), 0);

  /* Five given, three kept: only succ[0..3) and nsucc change. */
  memcpy(&f->before, &f->r, sizeof(f->r));
  ring_set_successors(&f->r, &f->peers[4], 5);
  for (size_t i = 0; i < SUCC_LEN; i++)
    f->before.ft.succ[i] = f->peers[4 + i];
  f->before.ft.nsucc = SUCC_LEN;
  assert_ring_is(&f->r, &f->before);

  /* Fewer than succ_len: kept as given. */
  ring_set_successors(&f->r, &f->peers[1], 2);
  assert_int_equal(f->r.ft.nsucc, 2);
  assert_peer_equal(&f->r.ft.succ[0], &f->peers[1]);
  assert_peer_equal(&f->r.ft.succ[1], &f->peers[2]);

  /* A list that is r's own (overlapping) list. */
  ring_set_successors(&f->r, &f->r.ft.succ[1], 1);
  assert_int_equal(f->r.ft.nsucc, 1);
  assert_peer_equal(&f->r.ft.succ[0], &f->peers[2]);

  /* Empty: self alone. */
  memcpy(&f->before, &f->r, sizeof(f->r));
  ring_set_successors(&f->r, NULL, 0);
  f->before.ft.succ[0] = f->peers[0];
  f->before.ft.nsucc = 1;
  assert_ring_is(&f->r, &f->before);
}

static void test_ring_state_set_finger_only_that_finger(void **state)
{
  struct fixture *f = *state;
  random_peers(f, 10, 0xf1790000u);
  ring_init(&f->r, &f->peers[0], SUCC_LEN);
  assert_int_equal(ring_install(&f->r, &f->peers[0], f->peers, 10), 0);
  const unsigned idx[] = {0, 1, 77, FINGER_COUNT - 1};
  for (size_t k = 0; k < sizeof(idx) / sizeof(idx[0]); k++) {
    memcpy(&f->before, &f->r, sizeof(f->r));
    ring_set_finger(&f->r, idx[k], &f->peers[1 + k]);
    f->before.ft.finger[idx[k]] = f->peers[1 + k];
    assert_ring_is(&f->r, &f->before);
  }
  /* An index out of range changes nothing. */
  memcpy(&f->before, &f->r, sizeof(f->r));
  ring_set_finger(&f->r, FINGER_COUNT, &f->peers[9]);
  assert_ring_is(&f->r, &f->before);
}

static void test_ring_state_dead_marks(void **state)
{
  struct fixture *f = *state;
  random_peers(f, 4, 0xdead0000u);
  ring_init(&f->r, &f->peers[0], SUCC_LEN);

  /* Self is never marked. */
  ring_mark_dead(&f->r, &f->peers[0].id);
  assert_false(ring_is_dead(&f->r, &f->peers[0].id));
  assert_int_equal(f->r.ndead, 0);

  /* A repeated mark is stored once; one mark_alive clears it. */
  ring_mark_dead(&f->r, &f->peers[1].id);
  ring_mark_dead(&f->r, &f->peers[1].id);
  ring_mark_dead(&f->r, &f->peers[2].id);
  assert_int_equal(f->r.ndead, 2);
  assert_true(ring_is_dead(&f->r, &f->peers[1].id));
  assert_true(ring_is_dead(&f->r, &f->peers[2].id));
  assert_false(ring_is_dead(&f->r, &f->peers[3].id));
  ring_mark_alive(&f->r, &f->peers[1].id);
  assert_false(ring_is_dead(&f->r, &f->peers[1].id));
  assert_true(ring_is_dead(&f->r, &f->peers[2].id));
  /* Alive for one never marked: nothing changes. */
  ring_mark_alive(&f->r, &f->peers[3].id);
  assert_int_equal(f->r.ndead, 1);
  assert_true(ring_is_dead(&f->r, &f->peers[2].id));
}

static void test_ring_state_dead_marks_forget_oldest(void **state)
{
  struct fixture *f = *state;
  uint64_t seed = 0x01de0000u;
  size_t n = RING_DEAD_MAX + 8;
  random_peers(f, 1, seed + 1);
  for (size_t i = 0; i < n; i++)
    random_id(&seed, &f->ids[i]);
  ring_init(&f->r, &f->peers[0], SUCC_LEN);

  /* Marks 0 .. MAX+7: each mark past MAX forgets the oldest. */
  for (size_t i = 0; i < n; i++) {
    ring_mark_dead(&f->r, &f->ids[i]);
    size_t first = i + 1 > RING_DEAD_MAX ? i + 1 - RING_DEAD_MAX : 0;
    assert_int_equal(f->r.ndead, i + 1 - first);
    for (size_t k = 0; k <= i; k++)
      assert_int_equal(ring_is_dead(&f->r, &f->ids[k]), k >= first);
  }
}

/* The bound holds after a mark is lifted from a full, wrapped buffer: the
 * marks forgotten next are still the oldest ones. */
static void test_ring_state_dead_marks_forget_oldest_after_alive(void **state)
{
  struct fixture *f = *state;
  uint64_t seed = 0x02de0000u;
  size_t n = RING_DEAD_MAX + 3;
  random_peers(f, 1, seed + 1);
  for (size_t i = 0; i < n; i++)
    random_id(&seed, &f->ids[i]);
  ring_init(&f->r, &f->peers[0], SUCC_LEN);

  /* ids[0] is forgotten by ids[MAX]; the oldest mark is then ids[1]. */
  for (size_t i = 0; i <= RING_DEAD_MAX; i++)
    ring_mark_dead(&f->r, &f->ids[i]);
  assert_false(ring_is_dead(&f->r, &f->ids[0]));
  ring_mark_alive(&f->r, &f->ids[30]);
  assert_int_equal(f->r.ndead, RING_DEAD_MAX - 1);
  /* One free place: ids[MAX+1] takes it, forgetting nothing. */
  ring_mark_dead(&f->r, &f->ids[RING_DEAD_MAX + 1]);
  assert_int_equal(f->r.ndead, RING_DEAD_MAX);
  assert_true(ring_is_dead(&f->r, &f->ids[1]));
  /* Full again: ids[MAX+2] must forget the oldest, ids[1], and keep the
   * newer ids[MAX]. */
  ring_mark_dead(&f->r, &f->ids[RING_DEAD_MAX + 2]);
  assert_int_equal(f->r.ndead, RING_DEAD_MAX);
  assert_true(ring_is_dead(&f->r, &f->ids[RING_DEAD_MAX + 2]));
  assert_true(ring_is_dead(&f->r, &f->ids[RING_DEAD_MAX + 1]));
  assert_true(ring_is_dead(&f->r, &f->ids[RING_DEAD_MAX]));
  assert_false(ring_is_dead(&f->r, &f->ids[1]));
}

static void test_ring_state_first_live_successor(void **state)
{
  struct fixture *f = *state;
  random_peers(f, 10, 0x11fe0000u);
  ring_init(&f->r, &f->peers[0], 4);
  assert_int_equal(ring_install(&f->r, &f->peers[0], f->peers, 10), 0);
  assert_int_equal(f->r.ft.nsucc, 4);
  assert_ptr_equal(ring_first_live_successor(&f->r), &f->r.ft.succ[0]);
  for (size_t i = 0; i < 3; i++) {
    ring_mark_dead(&f->r, &f->r.ft.succ[i].id);
    assert_ptr_equal(ring_first_live_successor(&f->r), &f->r.ft.succ[i + 1]);
  }
  ring_mark_dead(&f->r, &f->r.ft.succ[3].id);
  assert_null(ring_first_live_successor(&f->r));
  ring_mark_alive(&f->r, &f->r.ft.succ[2].id);
  assert_ptr_equal(ring_first_live_successor(&f->r), &f->r.ft.succ[2]);
}

static void test_ring_state_install_matches_finger_build(void **state)
{
  struct fixture *f = *state;
  for (size_t n = 1; n <= NPEERS; n += 3) {
    random_peers(f, n, 0x1b570000u + n);
    for (size_t s = 0; s < n; s += 5) {
      for (size_t len = 1; len <= 5; len += 2) {
        ring_close(&f->r);
        ring_init(&f->r, &f->peers[s], len);
        assert_int_equal(ring_install(&f->r, &f->peers[s], f->peers, n), 0);
        assert_int_equal(finger_build(&f->ft, &f->peers[s], f->peers, n, len),
                         0);
        assert_table_equal(&f->r.ft, &f->ft);
        assert_int_equal(f->r.nmembers, n);
      }
    }
  }
}

static void test_ring_state_add_member_equals_install(void **state)
{
  struct fixture *f = *state;
  for (size_t n = 1; n < NPEERS; n += 4) {
    random_peers(f, n + 1, 0xadd00000u + n);
    ring_close(&f->r);
    ring_close(&f->other);
    ring_init(&f->r, &f->peers[0], SUCC_LEN);
    ring_init(&f->other, &f->peers[0], SUCC_LEN);
    assert_int_equal(ring_install(&f->r, &f->peers[0], f->peers, n), 0);
    assert_int_equal(ring_add_member(&f->r, &f->peers[n]), 0);
    assert_int_equal(ring_install(&f->other, &f->peers[0], f->peers, n + 1), 0);
    assert_table_equal(&f->r.ft, &f->other.ft);
    assert_int_equal(f->r.has_pred2, f->other.has_pred2);
    if (f->r.has_pred2)
      assert_peer_equal(&f->r.pred2, &f->other.pred2);
    assert_int_equal(f->r.nmembers, n + 1);
    for (size_t i = 0; i <= n; i++)
      assert_peer_equal(&f->r.members[i], &f->other.members[i]);
    /* Adding one already there changes nothing. */
    assert_int_equal(ring_add_member(&f->r, &f->peers[n / 2]), 0);
    assert_int_equal(f->r.nmembers, n + 1);
  }
}

static void test_ring_state_route_matches_closest_preceding(void **state)
{
  struct fixture *f = *state;
  const size_t sizes[] = {2, 3, 9, NPEERS};
  uint64_t seed = 0xc105e000u;
  for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
    size_t n = sizes[z];
    random_peers(f, n, 0xc1050000u + n);
    ring_close(&f->r);
    ring_init(&f->r, &f->peers[1], SUCC_LEN);
    assert_int_equal(ring_install(&f->r, &f->peers[1], f->peers, n), 0);
    const struct finger_table *ft = &f->r.ft;
    for (size_t k = 0; k < NKEYS; k++) {
      struct chord_id key;
      const struct chord_peer *next = NULL, *want;
      random_id(&seed, &key);
      enum ring_verdict v = ring_route(&f->r, &key, &next);
      if (chord_id_in_oc(&key, &ft->pred.id, &ft->self.id)) {
        assert_int_equal(v, RING_LOCAL);
        continue;
      }
      assert_int_equal(v, RING_FORWARD);
      if (ring_pred_owns(&f->r, &key))
        want = &ft->pred;
      else if (chord_id_in_oc(&key, &ft->self.id, &ft->succ[0].id))
        want = &ft->succ[0];
      else
        want = finger_closest_preceding(ft, &key);
      if (chord_id_eq(&want->id, &ft->self.id))
        want = &ft->succ[0];
      assert_peer_equal(next, want);
    }
  }
}

static void test_ring_state_all_successors_dead_still_forwards(void **state)
{
  struct fixture *f = *state;
  uint64_t seed = 0xa11d0000u;
  random_peers(f, 12, 0xa11d0001u);
  ring_init(&f->r, &f->peers[0], SUCC_LEN);
  assert_int_equal(ring_install(&f->r, &f->peers[0], f->peers, 12), 0);
  for (size_t i = 1; i < 12; i++)
    ring_mark_dead(&f->r, &f->peers[i].id);
  assert_null(ring_first_live_successor(&f->r));
  for (size_t k = 0; k < NKEYS; k++) {
    struct chord_id key;
    const struct chord_peer *next = NULL;
    random_id(&seed, &key);
    enum ring_verdict v = ring_route(&f->r, &key, &next);
    /* Ours, or our dead predecessor's: we are its first replica. */
    if (ring_owns(&f->r, &key) || ring_pred_owns(&f->r, &key)) {
      assert_int_equal(v, RING_LOCAL);
      continue;
    }
    assert_int_equal(v, RING_FORWARD);
    assert_ptr_equal(next, &f->r.ft.succ[0]);
  }
}

/* A member counts the live peers it knows between a key and itself:
 * never more than there are (so it never refuses a key it replicates),
 * exactly as many when they are its predecessors, and none marked dead. */
static void test_ring_state_known_before(void **state)
{
  struct fixture *f = *state;
  enum { N = 12, R = 3 };
  uint64_t seed = 0xbef0000u;
  random_peers(f, N, 0xbef0001u);
  ring_init(&f->r, &f->peers[0], SUCC_LEN);
  assert_int_equal(ring_install(&f->r, &f->peers[0], f->peers, N), 0);
  unsigned refused = 0;
  for (size_t k = 0; k < NKEYS; k++) {
    struct chord_id key;
    unsigned truly = 0;
    random_id(&seed, &key);
    for (size_t i = 1; i < N; i++)
      truly += chord_id_in_oo(&f->peers[i].id, &key, &f->peers[0].id);
    unsigned got = ring_known_before(&f->r, &key, R);
    assert_true(got <= truly);
    if (truly < R)
      assert_int_equal(got, truly); /* pred and pred2 are known */
    refused += got >= R;
  }
  assert_true(refused > NKEYS / 2); /* most keys are far away */
  /* Dead peers do not count: with pred dead, its own key has none. */
  ring_mark_dead(&f->r, &f->r.ft.pred.id);
  struct chord_id k1 = f->r.pred2.id;
  unsigned before = ring_known_before(&f->r, &k1, R);
  ring_mark_alive(&f->r, &f->r.ft.pred.id);
  assert_int_equal(ring_known_before(&f->r, &k1, R), before + 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_ring_state_known_before, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(
          test_ring_state_set_pred_and_pred2_only_their_part, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_ring_state_set_successors_cut_and_empty, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_ring_state_set_finger_only_that_finger, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ring_state_dead_marks, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_ring_state_dead_marks_forget_oldest,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_ring_state_dead_marks_forget_oldest_after_alive, setup,
          teardown),
      cmocka_unit_test_setup_teardown(test_ring_state_first_live_successor,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_ring_state_install_matches_finger_build, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ring_state_add_member_equals_install,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_ring_state_route_matches_closest_preceding, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_ring_state_all_successors_dead_still_forwards, setup, teardown),
  };
  return cmocka_run_group_tests_name("ring_state", tests, NULL, NULL);
}
