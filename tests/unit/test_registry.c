/* SPDX-License-Identifier: MIT */
/* Unit tests for the supernode registry: the join lock and its lease,
 * heartbeats and expiry, the random pick, driven by a fake clock. */
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
#include "supernode/registry.h"

#define LEASE_MS 10000
#define TIMEOUT_MS 5000
#define T0 1000000 /* the fake clock's start, ms */

struct fixture {
  uint64_t now;       /* fake clock, ms */
  uint32_t rng;       /* xorshift32 state */
  struct registry *r; /* the registry under test */
};

static uint64_t fake_now(void *ud)
{
  struct fixture *f = ud;

  return f->now;
}

/* xorshift32 with a fixed seed: the same draws on every run. */
static uint32_t fake_rand(void *ud)
{
  struct fixture *f = ud;
  uint32_t x = f->rng;

  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  f->rng = x;
  return x;
}

static struct registry *make_registry(struct fixture *f)
{
  struct registry_opts o = {
      .lease_ms = LEASE_MS,
      .heartbeat_timeout_ms = TIMEOUT_MS,
      .now_ms = fake_now,
      .clock_ud = f,
      .rand32 = fake_rand,
      .rand_ud = f,
  };

  return registry_create(&o);
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof *f);

  if (f == NULL)
    return -1;
  f->now = T0;
  f->rng = 0x2545f491u;
  f->r = make_registry(f);
  if (f->r == NULL) {
    free(f);
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;

  registry_destroy(f->r);
  free(f);
  return 0;
}

/* Peer i (i < 65536): distinct ids whose order differs from i's. */
static void mk_peer(struct chord_peer *p, unsigned i)
{
  memset(p, 0, sizeof *p);
  p->id.b[0] = (uint8_t)(i * 73u + 11u);
  p->id.b[1] = (uint8_t)(i >> 8);
  p->id.b[CHORD_ID_BYTES - 1] = (uint8_t)i;
  snprintf(p->addr, sizeof p->addr, "10.0.%u.%u:7000", i >> 8, i & 0xffu);
}

static void assert_sorted(const struct chord_peer *v, size_t n)
{
  size_t i;

  for (i = 1; i < n; i++)
    assert_true(chord_id_cmp(&v[i - 1].id, &v[i].id) < 0);
}

static bool peer_eq(const struct chord_peer *a, const struct chord_peer *b)
{
  return chord_id_eq(&a->id, &b->id) && strcmp(a->addr, b->addr) == 0;
}

/* Joins p, expecting want; returns how many members the joiner was given. */
static size_t join_expect(struct registry *r, const struct chord_peer *p,
                          int want)
{
  struct chord_peer *m = NULL;
  size_t n = 0;

  assert_int_equal(registry_join(r, p, &m, &n), want);
  if (want == 0)
    assert_sorted(m, n);
  else
    assert_null(m);
  free(m);
  return n;
}

/* Makes peer i a full member through Join and PostJoin. */
static void add_member(struct registry *r, unsigned i)
{
  struct chord_peer p;

  mk_peer(&p, i);
  join_expect(r, &p, 0);
  assert_int_equal(registry_post_join(r, &p), 0);
}

static void test_registry_first_join_empty(void **state)
{
  struct fixture *f = *state;
  struct chord_peer a;
  struct chord_peer h;
  struct chord_peer *m = (struct chord_peer *)&m;
  size_t n = 99;

  mk_peer(&a, 1);
  assert_false(registry_busy(f->r, NULL));
  assert_int_equal(registry_join(f->r, &a, &m, &n), 0);
  assert_int_equal(n, 0);
  assert_null(m);
  assert_true(registry_busy(f->r, &h));
  assert_true(peer_eq(&h, &a));
  assert_int_equal(registry_count(f->r), 0);
  assert_int_equal(registry_post_join(f->r, &a), 0);
  assert_false(registry_busy(f->r, NULL));
  assert_int_equal(registry_count(f->r), 1);
}

static void test_registry_second_joiner_unavail(void **state)
{
  struct fixture *f = *state;
  struct chord_peer a;
  struct chord_peer b;
  struct chord_peer h;

  mk_peer(&a, 1);
  mk_peer(&b, 2);
  join_expect(f->r, &a, 0);
  f->now += LEASE_MS / 2;
  join_expect(f->r, &b, CHORD_EUNAVAIL);
  assert_true(registry_busy(f->r, &h));
  assert_true(peer_eq(&h, &a));
  assert_int_equal(registry_post_join(f->r, &b), CHORD_ESTATE);
  assert_int_equal(registry_count(f->r), 0);
}

static void test_registry_post_join_then_next_sees_first(void **state)
{
  struct fixture *f = *state;
  struct chord_peer a;
  struct chord_peer b;
  struct chord_peer *m = NULL;
  size_t n = 0;

  mk_peer(&a, 1);
  mk_peer(&b, 2);
  join_expect(f->r, &a, 0);
  assert_int_equal(registry_post_join(f->r, &a), 0);
  assert_int_equal(registry_join(f->r, &b, &m, &n), 0);
  assert_int_equal(n, 1);
  assert_true(peer_eq(&m[0], &a));
  free(m);
  assert_int_equal(registry_post_join(f->r, &b), 0);
  assert_int_equal(registry_count(f->r), 2);
  /* A second PostJoin is refused: the lock is gone. */
  assert_int_equal(registry_post_join(f->r, &b), CHORD_ESTATE);
}

static void test_registry_join_lists_members_sorted(void **state)
{
  struct fixture *f = *state;
  struct chord_peer p;
  struct chord_peer *m = NULL;
  size_t n = 0;
  unsigned i;

  for (i = 0; i < 8; i++)
    add_member(f->r, i);
  mk_peer(&p, 100);
  assert_int_equal(registry_join(f->r, &p, &m, &n), 0);
  assert_int_equal(n, 8);
  assert_sorted(m, n);
  for (i = 0; i < n; i++)
    assert_false(chord_id_eq(&m[i].id, &p.id));
  free(m);
}

static void test_registry_lease_expiry_frees_lock(void **state)
{
  struct fixture *f = *state;
  struct chord_peer a;
  struct chord_peer b;
  struct chord_peer out[2];

  mk_peer(&a, 1);
  mk_peer(&b, 2);
  join_expect(f->r, &a, 0);
  f->now += LEASE_MS - 1;
  join_expect(f->r, &b, CHORD_EUNAVAIL);
  f->now += 1;
  assert_false(registry_busy(f->r, NULL));
  join_expect(f->r, &b, 0);
  /* The late PostJoin of the expired holder changes nothing. */
  assert_int_equal(registry_post_join(f->r, &a), CHORD_ESTATE);
  assert_int_equal(registry_count(f->r), 0);
  assert_int_equal(registry_post_join(f->r, &b), 0);
  assert_int_equal(registry_list(f->r, out, 2), 1);
  assert_true(peer_eq(&out[0], &b));
  assert_int_equal(registry_post_join(f->r, &a), CHORD_ESTATE);
  assert_int_equal(registry_count(f->r), 1);
}

static void test_registry_expire_frees_lock(void **state)
{
  struct fixture *f = *state;
  struct chord_peer a;

  mk_peer(&a, 1);
  join_expect(f->r, &a, 0);
  f->now += LEASE_MS;
  registry_expire(f->r);
  assert_false(registry_busy(f->r, NULL));
  assert_int_equal(registry_post_join(f->r, &a), CHORD_ESTATE);
}

static void test_registry_rejoin_by_holder_renews(void **state)
{
  struct fixture *f = *state;
  struct chord_peer a;
  struct chord_peer b;
  struct chord_peer h;
  struct chord_peer m7;

  add_member(f->r, 7);
  mk_peer(&m7, 7);
  mk_peer(&a, 1);
  mk_peer(&b, 2);
  join_expect(f->r, &a, 0);
  f->now += LEASE_MS / 2;
  assert_int_equal(registry_heartbeat(f->r, &m7, NULL), 0);
  f->now += LEASE_MS / 2 - 1;
  /* A retry after a lost reply: same answer, fresh lease. */
  assert_int_equal(join_expect(f->r, &a, 0), 1);
  f->now += LEASE_MS / 2;
  assert_int_equal(registry_heartbeat(f->r, &m7, NULL), 0);
  f->now += LEASE_MS / 2 - 1; /* 2 * LEASE_MS - 2 since the first Join */
  assert_true(registry_busy(f->r, &h));
  assert_true(peer_eq(&h, &a));
  join_expect(f->r, &b, CHORD_EUNAVAIL);
  assert_int_equal(registry_post_join(f->r, &a), 0);
  assert_int_equal(registry_count(f->r), 2);
}

static void test_registry_duplicate_id_other_addr(void **state)
{
  struct fixture *f = *state;
  struct chord_peer a;
  struct chord_peer clash;
  struct chord_peer c;
  struct chord_peer before[4];
  struct chord_peer after[4];
  struct chord_peer h;
  bool known = true;

  add_member(f->r, 1);
  add_member(f->r, 2);
  mk_peer(&a, 1);
  clash = a;
  snprintf(clash.addr, sizeof clash.addr, "192.168.1.1:9000");
  assert_int_equal(registry_list(f->r, before, 4), 2);

  /* A member has the id. */
  join_expect(f->r, &clash, CHORD_EEXIST);
  assert_false(registry_busy(f->r, NULL));
  assert_int_equal(registry_heartbeat(f->r, &clash, &known), CHORD_EEXIST);
  assert_true(known);
  assert_int_equal(registry_post_join(f->r, &clash), CHORD_ESTATE);
  assert_int_equal(registry_count(f->r), 2);
  assert_int_equal(registry_list(f->r, after, 4), 2);
  assert_memory_equal(before, after, 2 * sizeof before[0]);

  /* The lock holder has the id: EEXIST, not EUNAVAIL. */
  mk_peer(&c, 3);
  join_expect(f->r, &c, 0);
  clash = c;
  snprintf(clash.addr, sizeof clash.addr, "192.168.1.3:9000");
  join_expect(f->r, &clash, CHORD_EEXIST);
  assert_int_equal(registry_heartbeat(f->r, &clash, NULL), CHORD_EEXIST);
  assert_true(registry_busy(f->r, &h));
  assert_true(peer_eq(&h, &c));
  assert_int_equal(registry_count(f->r), 2);
  assert_int_equal(registry_list(f->r, after, 4), 2);
  assert_memory_equal(before, after, 2 * sizeof before[0]);
}

static void test_registry_rejoin_same_member(void **state)
{
  struct fixture *f = *state;
  struct chord_peer a;
  struct chord_peer b;
  struct chord_peer h;
  struct chord_peer *m = NULL;
  size_t n = 0;

  mk_peer(&a, 1);
  mk_peer(&b, 2);
  add_member(f->r, 1);
  add_member(f->r, 2);
  /* a restarted: it joins anew and is no member until PostJoin. */
  assert_int_equal(registry_join(f->r, &a, &m, &n), 0);
  assert_int_equal(n, 1);
  assert_true(peer_eq(&m[0], &b));
  free(m);
  assert_int_equal(registry_count(f->r), 1);
  assert_true(registry_busy(f->r, &h));
  assert_true(peer_eq(&h, &a));
  assert_int_equal(registry_post_join(f->r, &a), 0);
  assert_int_equal(registry_count(f->r), 2);
}

static void test_registry_rejoin_member_while_busy(void **state)
{
  struct fixture *f = *state;
  struct chord_peer a;
  struct chord_peer c;

  mk_peer(&a, 1);
  mk_peer(&c, 3);
  add_member(f->r, 1);
  join_expect(f->r, &c, 0);
  /* Refused while busy, and a stays a member. */
  join_expect(f->r, &a, CHORD_EUNAVAIL);
  assert_int_equal(registry_count(f->r), 1);
}

static void test_registry_heartbeat_keeps_alive(void **state)
{
  struct fixture *f = *state;
  struct chord_peer a;
  bool known;
  int i;

  mk_peer(&a, 1);
  add_member(f->r, 1);
  add_member(f->r, 2);
  for (i = 0; i < 100; i++) {
    f->now += TIMEOUT_MS - 1;
    known = false;
    assert_int_equal(registry_heartbeat(f->r, &a, &known), 0);
    assert_true(known);
    /* The silent member 2 lasts one interval, member 1 all of them. */
    assert_int_equal(registry_count(f->r), i == 0 ? 2 : 1);
  }
  f->now += TIMEOUT_MS;
  assert_int_equal(registry_count(f->r), 1);
}

static void test_registry_silence_drops_member(void **state)
{
  struct fixture *f = *state;
  struct chord_peer a;
  struct chord_peer out[4];
  int i;

  mk_peer(&a, 1);
  add_member(f->r, 1);
  add_member(f->r, 2);
  f->now += 3000;
  assert_int_equal(registry_heartbeat(f->r, &a, NULL), 0);
  f->now += TIMEOUT_MS - 3000;
  /* Exactly the timeout of silence: still there. */
  assert_int_equal(registry_count(f->r), 2);
  f->now += 1;
  assert_int_equal(registry_count(f->r), 1);
  assert_int_equal(registry_list(f->r, out, 4), 1);
  assert_true(peer_eq(&out[0], &a));
  for (i = 0; i < 50; i++) {
    assert_int_equal(registry_random(f->r, &out[1]), 0);
    assert_true(peer_eq(&out[1], &a));
  }
  f->now += TIMEOUT_MS;
  registry_expire(f->r);
  assert_int_equal(registry_count(f->r), 0);
  assert_int_equal(registry_list(f->r, out, 4), 0);
  assert_int_equal(registry_random(f->r, &out[0]), CHORD_ENOTFOUND);
}

static void test_registry_heartbeat_unknown_reregisters(void **state)
{
  struct fixture *f = *state;
  static const unsigned order[8] = {5, 0, 7, 2, 6, 1, 4, 3};
  struct chord_peer before[8];
  struct chord_peer after[8];
  struct chord_peer p;
  bool known;
  unsigned i;

  for (i = 0; i < 8; i++)
    add_member(f->r, i);
  assert_int_equal(registry_list(f->r, before, 8), 8);

  /* The supernode restarts: a fresh registry relearns from heartbeats. */
  registry_destroy(f->r);
  f->r = make_registry(f);
  assert_non_null(f->r);
  assert_int_equal(registry_count(f->r), 0);
  for (i = 0; i < 8; i++) {
    mk_peer(&p, order[i]);
    known = true;
    assert_int_equal(registry_heartbeat(f->r, &p, &known), 0);
    assert_false(known);
  }
  assert_int_equal(registry_list(f->r, after, 8), 8);
  assert_sorted(after, 8);
  assert_memory_equal(before, after, sizeof before);
  for (i = 0; i < 8; i++) {
    mk_peer(&p, i);
    assert_int_equal(registry_heartbeat(f->r, &p, &known), 0);
    assert_true(known);
  }
  assert_int_equal(registry_count(f->r), 8);
}

static void test_registry_heartbeat_from_holder_refused(void **state)
{
  struct fixture *f = *state;
  struct chord_peer a;
  bool known = true;

  mk_peer(&a, 1);
  join_expect(f->r, &a, 0);
  assert_int_equal(registry_heartbeat(f->r, &a, &known), CHORD_ESTATE);
  assert_true(known);
  assert_int_equal(registry_count(f->r), 0);
  assert_true(registry_busy(f->r, NULL));
  assert_int_equal(registry_post_join(f->r, &a), 0);
  assert_int_equal(registry_heartbeat(f->r, &a, &known), 0);
  assert_true(known);
}

static void test_registry_leave_removes_and_frees_lock(void **state)
{
  struct fixture *f = *state;
  struct chord_peer a;
  struct chord_peer b;
  struct chord_peer c;

  mk_peer(&a, 1);
  mk_peer(&b, 2);
  mk_peer(&c, 3);
  add_member(f->r, 1);
  join_expect(f->r, &b, 0);
  assert_int_equal(registry_leave(f->r, &b.id), 0);
  assert_false(registry_busy(f->r, NULL));
  assert_int_equal(registry_post_join(f->r, &b), CHORD_ESTATE);
  assert_int_equal(registry_count(f->r), 1);
  assert_int_equal(registry_leave(f->r, &a.id), 0);
  assert_int_equal(registry_count(f->r), 0);
  assert_int_equal(registry_leave(f->r, &a.id), CHORD_ENOTFOUND);
  assert_int_equal(registry_leave(f->r, &c.id), CHORD_ENOTFOUND);
  assert_int_equal(join_expect(f->r, &c, 0), 0);
}

static void test_registry_post_join_not_holder(void **state)
{
  struct fixture *f = *state;
  struct chord_peer a;
  struct chord_peer b;
  struct chord_peer moved;

  mk_peer(&a, 1);
  mk_peer(&b, 2);
  assert_int_equal(registry_post_join(f->r, &a), CHORD_ESTATE);
  join_expect(f->r, &a, 0);
  assert_int_equal(registry_post_join(f->r, &b), CHORD_ESTATE);
  moved = a;
  snprintf(moved.addr, sizeof moved.addr, "10.9.9.9:7000");
  assert_int_equal(registry_post_join(f->r, &moved), CHORD_ESTATE);
  assert_true(registry_busy(f->r, NULL));
  assert_int_equal(registry_count(f->r), 0);
}

static void test_registry_bad_args(void **state)
{
  struct fixture *f = *state;
  struct chord_peer p;
  struct chord_peer *m = NULL;
  size_t n = 0;

  mk_peer(&p, 1);
  p.addr[0] = '\0';
  assert_int_equal(registry_join(f->r, &p, &m, &n), CHORD_EINVAL);
  assert_int_equal(registry_heartbeat(f->r, &p, NULL), CHORD_EINVAL);
  assert_int_equal(registry_post_join(f->r, &p), CHORD_EINVAL);
  memset(p.addr, 'a', sizeof p.addr); /* no NUL */
  assert_int_equal(registry_join(f->r, &p, &m, &n), CHORD_EINVAL);
  assert_int_equal(registry_heartbeat(f->r, &p, NULL), CHORD_EINVAL);
  mk_peer(&p, 1);
  assert_int_equal(registry_join(f->r, NULL, &m, &n), CHORD_EINVAL);
  assert_int_equal(registry_join(f->r, &p, NULL, &n), CHORD_EINVAL);
  assert_int_equal(registry_join(f->r, &p, &m, NULL), CHORD_EINVAL);
  assert_int_equal(registry_leave(f->r, NULL), CHORD_EINVAL);
  assert_int_equal(registry_random(f->r, NULL), CHORD_EINVAL);
  assert_false(registry_busy(f->r, NULL));
  assert_int_equal(registry_count(f->r), 0);
}

static void test_registry_random_uniform(void **state)
{
  struct fixture *f = *state;
  struct chord_peer members[8];
  struct chord_peer holder;
  struct chord_peer got;
  unsigned hits[8] = {0};
  unsigned i;
  size_t j;

  for (i = 0; i < 8; i++)
    add_member(f->r, i);
  mk_peer(&holder, 50);
  join_expect(f->r, &holder, 0);
  assert_int_equal(registry_list(f->r, members, 8), 8);
  for (i = 0; i < 8000; i++) {
    assert_int_equal(registry_random(f->r, &got), 0);
    for (j = 0; j < 8; j++) {
      if (peer_eq(&got, &members[j]))
        break;
    }
    assert_true(j < 8); /* a member, never the lock holder */
    hits[j]++;
  }
  for (j = 0; j < 8; j++) {
    assert_in_range(hits[j], 700, 1300);
  }
}

static void test_registry_random_empty(void **state)
{
  struct fixture *f = *state;
  struct chord_peer a;
  struct chord_peer out;

  assert_int_equal(registry_random(f->r, &out), CHORD_ENOTFOUND);
  mk_peer(&a, 1);
  join_expect(f->r, &a, 0);
  assert_int_equal(registry_random(f->r, &out), CHORD_ENOTFOUND);
}

static void test_registry_list_truncation(void **state)
{
  struct fixture *f = *state;
  struct chord_peer all[5];
  struct chord_peer out[4];
  struct chord_peer sentinel;
  unsigned i;

  for (i = 0; i < 5; i++)
    add_member(f->r, i);
  assert_int_equal(registry_list(f->r, all, 5), 5);
  assert_sorted(all, 5);
  memset(&sentinel, 0x5a, sizeof sentinel);
  out[3] = sentinel;
  assert_int_equal(registry_list(f->r, out, 3), 5);
  assert_memory_equal(out, all, 3 * sizeof all[0]);
  assert_memory_equal(&out[3], &sentinel, sizeof sentinel);
  assert_int_equal(registry_list(f->r, NULL, 0), 5);
  assert_int_equal(registry_list(f->r, out, 0), 5);
}

static void test_registry_many_members(void **state)
{
  struct fixture *f = *state;
  enum { MANY = 20000 };
  struct chord_peer *out = calloc(MANY, sizeof *out);
  struct chord_peer p;
  bool known;
  unsigned i;

  assert_non_null(out);
  for (i = 0; i < MANY; i++) {
    memset(&p, 0, sizeof p);
    snprintf(p.addr, sizeof p.addr, "node-%u.example:7000", i);
    chord_id_sha1_str(&p.id, p.addr);
    assert_int_equal(registry_heartbeat(f->r, &p, &known), 0);
    assert_false(known);
  }
  assert_int_equal(registry_list(f->r, out, MANY), MANY);
  assert_sorted(out, MANY);
  for (i = 0; i < MANY; i += 2)
    assert_int_equal(registry_leave(f->r, &out[i].id), 0);
  assert_int_equal(registry_count(f->r), MANY / 2);
  for (i = 0; i < MANY; i++) {
    assert_int_equal(registry_heartbeat(f->r, &out[i], &known), 0);
    assert_int_equal(known, i % 2 == 1);
  }
  assert_int_equal(registry_list(f->r, out, MANY), MANY);
  assert_sorted(out, MANY);
  free(out);
}

static void test_registry_default_opts(void **state)
{
  struct registry_opts zero;
  struct registry *r = registry_create(NULL);
  struct chord_peer a;
  struct chord_peer got;

  (void)state;
  assert_non_null(r);
  mk_peer(&a, 1);
  assert_int_equal(join_expect(r, &a, 0), 0);
  assert_int_equal(registry_post_join(r, &a), 0);
  assert_int_equal(registry_random(r, &got), 0);
  assert_true(peer_eq(&got, &a));
  registry_destroy(r);

  memset(&zero, 0, sizeof zero);
  r = registry_create(&zero);
  assert_non_null(r);
  add_member(r, 1);
  add_member(r, 2);
  assert_int_equal(registry_count(r), 2);
  assert_int_equal(registry_random(r, &got), 0);
  registry_destroy(r);
}

static void test_registry_destroy_null(void **state)
{
  (void)state;
  registry_destroy(NULL);
  registry_expire(NULL);
  assert_int_equal(registry_count(NULL), 0);
  assert_int_equal(registry_list(NULL, NULL, 0), 0);
  assert_false(registry_busy(NULL, NULL));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_registry_first_join_empty, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_registry_second_joiner_unavail,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_registry_post_join_then_next_sees_first, setup, teardown),
      cmocka_unit_test_setup_teardown(test_registry_join_lists_members_sorted,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_registry_lease_expiry_frees_lock,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_registry_expire_frees_lock, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_registry_rejoin_by_holder_renews,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_registry_duplicate_id_other_addr,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_registry_rejoin_same_member, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_registry_rejoin_member_while_busy,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_registry_heartbeat_keeps_alive,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_registry_silence_drops_member, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(
          test_registry_heartbeat_unknown_reregisters, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_registry_heartbeat_from_holder_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_registry_leave_removes_and_frees_lock, setup, teardown),
      cmocka_unit_test_setup_teardown(test_registry_post_join_not_holder, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_registry_bad_args, setup, teardown),
      cmocka_unit_test_setup_teardown(test_registry_random_uniform, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_registry_random_empty, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_registry_list_truncation, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_registry_many_members, setup,
                                      teardown),
      cmocka_unit_test(test_registry_default_opts),
      cmocka_unit_test(test_registry_destroy_null),
  };

  return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
