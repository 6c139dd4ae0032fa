/* SPDX-License-Identifier: MIT */
/* Unit tests for handoff: the range and its wrap past zero, the change
 * set, idle expiry, when a request must park, and parking real calls on a
 * gRPC server on 127.0.0.1 (replay order, re-parking, shutdown, and a
 * client that gives up while parked). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chord/v1/node.pb-c.h"
#include "common/chord_id.h"
#include "common/cq_bridge.h"
#include "common/err.h"
#include "common/rpc.h"
#include "ring_util.h"
#include "node/handoff.h"

#define NODE_SVC (&chord__v1__node__descriptor)
#define NCALLS 6      /* calls parked by the server tests */
#define NKEYS 300     /* distinct keys touched (past the first realloc) */
#define WAIT_MS 10000 /* longest wait for an event on the loop */

/* A hand-off, and for the server tests one server, client and bridge on a
 * fresh loop. The server's Delete handler parks while handoff_must_park
 * says so and otherwise records the name and answers OK. */
struct fixture {
  struct handoff h;
  struct chord_peer to;
  uv_loop_t loop;
  struct cq_bridge *bridge;
  struct rpc_server *srv;
  struct rpc_client *cli;
  char addr[64];
  bool has_server;
  char ran[NCALLS * 2][16]; /* names served, in order */
  size_t nran;
  const char *repark;     /* a name parked again once when replayed */
  int status[NCALLS + 1]; /* each call's gRPC status, -1 until done */
  int done;
  int stopped;
};

static uint64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct chord_id lead_id(uint8_t lead)
{
  struct chord_id id;
  memset(&id, 0, sizeof(id));
  id.b[0] = lead;
  return id;
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  if (!f)
    return -1;
  handoff_init(&f->h);
  struct chord_id id = lead_id(0x10);
  make_peer(&f->to, &id, 1);
  *state = f;
  return 0;
}

static void on_stopped(void *ud)
{
  struct fixture *f = ud;
  if (++f->stopped == 2)
    cq_bridge_shutdown(f->bridge, NULL, NULL);
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  if (f->has_server) {
    rpc_client_shutdown(f->cli, on_stopped, f);
    if (f->srv)
      rpc_server_shutdown(f->srv, on_stopped, f);
    uint64_t t0 = now_ms();
    while (uv_run(&f->loop, UV_RUN_ONCE) && now_ms() - t0 < WAIT_MS)
      ;
    assert_int_equal(f->stopped, 2);
    assert_int_equal(uv_loop_close(&f->loop), 0);
  }
  assert_int_equal(handoff_parked_count(&f->h), 0);
  handoff_clear(&f->h);
  free(f);
  return 0;
}

/* --- pure rules ----------------------------------------------------------- */

static void test_handoff_range_wraps_past_zero(void **state)
{
  struct fixture *f = *state;
  struct chord_id from = lead_id(0xf0), upto = lead_id(0x10), zero, k;
  memset(&zero, 0, sizeof(zero));
  k = lead_id(0x80);
  assert_false(handoff_covers(&f->h, &k));
  assert_false(handoff_is(&f->h, &f->to, &from, &upto));

  handoff_begin(&f->h, &f->to, &from, &upto, 1000);
  assert_true(handoff_is(&f->h, &f->to, &from, &upto));
  assert_false(handoff_is(&f->h, &f->to, &upto, &from));
  assert_false(handoff_is(&f->h, &f->to, &from, &from));
  struct chord_peer other = f->to;
  other.id.b[19] ^= 1;
  assert_false(handoff_is(&f->h, &other, &from, &upto));

  const uint8_t in[] = {0xf1, 0xff, 0x00, 0x0f, 0x10};
  const uint8_t out[] = {0xf0, 0x11, 0x80, 0xef};
  for (size_t i = 0; i < sizeof(in); i++) {
    k = lead_id(in[i]);
    assert_true(handoff_covers(&f->h, &k));
  }
  assert_true(handoff_covers(&f->h, &zero));
  for (size_t i = 0; i < sizeof(out); i++) {
    k = lead_id(out[i]);
    assert_false(handoff_covers(&f->h, &k));
  }
  handoff_clear(&f->h);
  k = lead_id(0x00);
  assert_false(handoff_covers(&f->h, &k));
  assert_false(handoff_is(&f->h, &f->to, &from, &upto));
}

static void test_handoff_touch_records_each_key_once(void **state)
{
  struct fixture *f = *state;
  struct chord_id from = lead_id(0xf0), upto = lead_id(0x10);
  struct chord_id keys[NKEYS], *taken = NULL;
  enum handoff_touch what;
  size_t n = 0;
  uint64_t seed = 0x70c40000u;
  handoff_begin(&f->h, &f->to, &from, &upto, 1000);
  for (size_t i = 0; i < NKEYS; i++) {
    random_id(&seed, &keys[i]);
    keys[i].b[0] = (uint8_t)(0xf1 + i % 0x1f); /* 0xf1 .. 0x0f */
  }
  for (int pass = 0; pass < 3; pass++) {
    for (size_t i = 0; i < NKEYS; i++) {
      assert_int_equal(handoff_touch(&f->h, &keys[i], 1000, true, &what), 0);
      assert_int_equal(what, HANDOFF_RECORDED);
      assert_int_equal(f->h.nchanged, pass == 0 ? i + 1 : NKEYS);
    }
  }
  /* Keys outside the range are not recorded. */
  for (uint8_t lead = 0x11; lead < 0xf0; lead += 0x17) {
    struct chord_id k = lead_id(lead);
    assert_int_equal(handoff_touch(&f->h, &k, 1000, true, &what), 0);
    assert_int_equal(what, HANDOFF_OUTSIDE);
  }
  assert_int_equal(f->h.nchanged, NKEYS);

  /* Taking the set moves it out: each key once, and h starts afresh. */
  handoff_take_changes(&f->h, &taken, &n);
  assert_int_equal(n, NKEYS);
  for (size_t i = 0; i < NKEYS; i++) {
    size_t hits = 0;
    for (size_t j = 0; j < n; j++)
      hits += chord_id_eq(&taken[j], &keys[i]);
    assert_int_equal(hits, 1);
  }
  free(taken);
  assert_int_equal(f->h.nchanged, 0);
  assert_null(f->h.changed);
  assert_true(f->h.active);
  handoff_take_changes(&f->h, &taken, &n);
  assert_int_equal(n, 0);
  free(taken);
  assert_int_equal(handoff_touch(&f->h, &keys[0], 1000, true, &what), 0);
  assert_int_equal(f->h.nchanged, 1);

  /* Not active: nothing is recorded. */
  handoff_clear(&f->h);
  assert_int_equal(handoff_touch(&f->h, &keys[0], 1000, true, &what), 0);
  assert_int_equal(what, HANDOFF_OUTSIDE);
  assert_int_equal(f->h.nchanged, 0);
}

static void test_handoff_touch_expires_idle_taker(void **state)
{
  struct fixture *f = *state;
  struct chord_id from = lead_id(0x20), upto = lead_id(0x40);
  struct chord_id k = lead_id(0x30);
  enum handoff_touch what;
  const uint64_t t0 = 5000;
  handoff_begin(&f->h, &f->to, &from, &upto, t0);

  /* Silent exactly HANDOFF_IDLE_MS: still on. */
  assert_int_equal(handoff_touch(&f->h, &k, t0 + HANDOFF_IDLE_MS, true, &what),
                   0);
  assert_int_equal(what, HANDOFF_RECORDED);
  /* Longer, but without expire_idle: recorded. */
  assert_int_equal(
      handoff_touch(&f->h, &k, t0 + 10 * HANDOFF_IDLE_MS, false, &what), 0);
  assert_int_equal(what, HANDOFF_RECORDED);
  assert_true(f->h.active);
  /* With expire_idle: dropped, and inactive afterwards. */
  assert_int_equal(
      handoff_touch(&f->h, &k, t0 + HANDOFF_IDLE_MS + 1, true, &what), 0);
  assert_int_equal(what, HANDOFF_EXPIRED);
  assert_false(f->h.active);
  assert_false(handoff_covers(&f->h, &k));
  assert_int_equal(f->h.nchanged, 0);
  assert_int_equal(
      handoff_touch(&f->h, &k, t0 + HANDOFF_IDLE_MS + 2, true, &what), 0);
  assert_int_equal(what, HANDOFF_OUTSIDE);

  /* A taker heard from recently (last_ms moved on) is kept. */
  handoff_begin(&f->h, &f->to, &from, &upto, t0);
  f->h.last_ms = t0 + HANDOFF_IDLE_MS;
  assert_int_equal(
      handoff_touch(&f->h, &k, t0 + HANDOFF_IDLE_MS + 2, true, &what), 0);
  assert_int_equal(what, HANDOFF_RECORDED);
}

static void test_handoff_must_park_only_held_changes_in_range(void **state)
{
  struct fixture *f = *state;
  struct chord_id from = lead_id(0x20), upto = lead_id(0x40);
  struct chord_id in = lead_id(0x30), out = lead_id(0x50);
  /* Held but inactive: nothing parks. */
  f->h.hold = true;
  assert_false(handoff_must_park(&f->h, &in, true));
  handoff_begin(&f->h, &f->to, &from, &upto, 0);
  for (int hold = 0; hold < 2; hold++) {
    f->h.hold = hold;
    for (int mut = 0; mut < 2; mut++) {
      assert_int_equal(handoff_must_park(&f->h, &in, mut), hold && mut);
      assert_false(handoff_must_park(&f->h, &out, mut));
    }
  }
}

/* --- parking real calls ----------------------------------------------------
 */

static void h_delete(struct rpc_srv_call *call, const ProtobufCMessage *req,
                     void *ud)
{
  struct fixture *f = ud;
  const Chord__V1__DeleteRequest *r = (const Chord__V1__DeleteRequest *)req;
  struct chord_id key;
  chord_id_sha1_str(&key, r->name);
  bool again = f->repark && strcmp(r->name, f->repark) == 0 && !f->h.hold;
  if (again)
    f->repark = NULL; /* once, from inside handoff_unpark */
  if (again || handoff_must_park(&f->h, &key, true)) {
    assert_int_equal(handoff_park(&f->h, call, req, h_delete, f), 0);
    return;
  }
  snprintf(f->ran[f->nran++], sizeof(f->ran[0]), "%s", r->name);
  Chord__V1__DeleteResponse resp = CHORD__V1__DELETE_RESPONSE__INIT;
  rpc_srv_reply(call, &resp.base);
}

static unsigned method_index(const char *name)
{
  for (unsigned i = 0; i < NODE_SVC->n_methods; i++)
    if (strcmp(NODE_SVC->methods[i].name, name) == 0)
      return i;
  fail_msg("no method %s", name);
  return 0;
}

/* A server whose Delete is h_delete, a client, and a held hand-off of the
 * whole ring but id 0. */
static int setup_server(void **state)
{
  if (setup(state))
    return -1;
  struct fixture *f = *state;
  rpc_handler_cb h[32] = {0};
  int port = 0;
  struct chord_id from, upto;
  memset(&from, 0, sizeof(from));
  memset(&upto, 0xff, sizeof(upto));
  h[method_index("Delete")] = h_delete;
  if (uv_loop_init(&f->loop))
    return -1;
  f->bridge = cq_bridge_create(&f->loop);
  f->srv = f->bridge ? rpc_server_create(f->bridge, NULL) : NULL;
  if (!f->srv || rpc_server_add_service(f->srv, NODE_SVC, h, f) ||
      rpc_server_listen(f->srv, "127.0.0.1:0", &port) ||
      rpc_server_start(f->srv))
    return -1;
  snprintf(f->addr, sizeof(f->addr), "127.0.0.1:%d", port);
  f->cli = rpc_client_create(f->bridge, NULL);
  if (!f->cli)
    return -1;
  f->has_server = true;
  handoff_begin(&f->h, &f->to, &from, &upto, 0);
  f->h.hold = true;
  for (size_t i = 0; i <= NCALLS; i++)
    f->status[i] = -1;
  return 0;
}

struct pending {
  struct fixture *f;
  size_t i;
};

static void on_done(struct rpc_result *r, void *ud)
{
  struct pending *p = ud;
  p->f->status[p->i] = r->status.code;
  p->f->done++;
  free(p);
}

/* Sends Delete(name) as call i with a deadline of timeout_ms. */
static void send_delete(struct fixture *f, size_t i, const char *name,
                        int64_t timeout_ms)
{
  Chord__V1__DeleteRequest d = CHORD__V1__DELETE_REQUEST__INIT;
  struct pending *p = malloc(sizeof(*p));
  assert_non_null(p);
  p->f = f;
  p->i = i;
  d.name = (char *)name;
  struct rpc_req r = {.target = f->addr,
                      .method =
                          rpc_method_path(NODE_SVC, method_index("Delete")),
                      .msg = &d.base,
                      .resp_desc = &chord__v1__delete_response__descriptor,
                      .deadline = rpc_deadline_in(timeout_ms)};
  assert_int_equal(rpc_client_call(f->cli, &r, on_done, p), 0);
}

/* Runs the loop until cond holds or WAIT_MS passes. */
#define RUN_UNTIL(f, cond)                      \
  do {                                          \
    uint64_t t0_ = now_ms();                    \
    while (!(cond) && now_ms() - t0_ < WAIT_MS) \
      uv_run(&(f)->loop, UV_RUN_ONCE);          \
    assert_true(cond);                          \
  } while (0)

static const char *const names[NCALLS] = {"c0", "c1", "again",
                                          "c3", "c4", "c5"};

/* Parks the NCALLS calls one after another, so that arrival order is
 * send order. */
static void park_all(struct fixture *f, int64_t timeout_ms)
{
  for (size_t i = 0; i < NCALLS; i++) {
    send_delete(f, i, names[i], timeout_ms);
    RUN_UNTIL(f, handoff_parked_count(&f->h) == i + 1);
  }
  assert_int_equal(f->nran, 0);
  assert_int_equal(f->done, 0);
}

static void test_handoff_unpark_replays_in_arrival_order(void **state)
{
  struct fixture *f = *state;
  park_all(f, WAIT_MS);
  f->repark = "again";
  handoff_unpark(&f->h);
  /* The hold is lifted; every call but the re-parked one ran, in order. */
  assert_false(f->h.hold);
  assert_int_equal(f->nran, NCALLS - 1);
  for (size_t i = 0, k = 0; i < NCALLS; i++) {
    if (i == 2)
      continue;
    assert_string_equal(f->ran[k++], names[i]);
  }
  assert_int_equal(handoff_parked_count(&f->h), 1);
  RUN_UNTIL(f, f->done == NCALLS - 1);
  for (size_t i = 0; i < NCALLS; i++)
    assert_int_equal(f->status[i], i == 2 ? -1 : GRPC_STATUS_OK);

  /* A new change while not held is served at once. */
  send_delete(f, NCALLS, "c0", WAIT_MS);
  RUN_UNTIL(f, f->nran == NCALLS);
  assert_string_equal(f->ran[NCALLS - 1], "c0");
  assert_int_equal(handoff_parked_count(&f->h), 1);

  /* The next unpark replays the re-parked call. */
  handoff_unpark(&f->h);
  assert_int_equal(handoff_parked_count(&f->h), 0);
  assert_string_equal(f->ran[NCALLS], "again");
  RUN_UNTIL(f, f->done == NCALLS + 1);
  assert_int_equal(f->status[2], GRPC_STATUS_OK);
  assert_int_equal(f->status[NCALLS], GRPC_STATUS_OK);
}

static void test_handoff_shutdown_drops_parked_calls(void **state)
{
  struct fixture *f = *state;
  park_all(f, WAIT_MS);
  rpc_server_shutdown(f->srv, on_stopped, f);
  f->srv = NULL;
  /* The server answered each call itself: the queue forgets them. */
  assert_int_equal(handoff_parked_count(&f->h), 0);
  RUN_UNTIL(f, f->done == NCALLS);
  for (size_t i = 0; i < NCALLS; i++)
    assert_int_equal(f->status[i], GRPC_STATUS_UNAVAILABLE);
  handoff_unpark(&f->h);
  assert_int_equal(f->nran, 0);
}

static int group_setup(void **state)
{
  (void)state;
  grpc_init();
  return 0;
}

static int group_teardown(void **state)
{
  (void)state;
  grpc_shutdown();
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_handoff_range_wraps_past_zero, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_handoff_touch_records_each_key_once,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_handoff_touch_expires_idle_taker,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_handoff_must_park_only_held_changes_in_range, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_handoff_unpark_replays_in_arrival_order, setup_server, teardown),
      cmocka_unit_test_setup_teardown(test_handoff_shutdown_drops_parked_calls,
                                      setup_server, teardown),
  };
  return cmocka_run_group_tests_name("handoff", tests, group_setup,
                                     group_teardown);
}
