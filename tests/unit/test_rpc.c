/* SPDX-License-Identifier: MIT */
/* The RPC layer on 127.0.0.1 with ephemeral ports: round trips, deadlines,
 * unknown methods, undecodable requests, forwarding handlers, size limits,
 * sync calls from another thread, shutdown with calls in flight, where an
 * error came from (remote, detail), and the status <-> CHORD_E* mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chord/v1/node.pb-c.h"
#include "common/codec.h"
#include "common/cq_bridge.h"
#include "common/err.h"
#include "common/rpc.h"

#define NODE_SVC (&chord__v1__node__descriptor)

/* One server + client + bridge on a fresh loop. */
struct fixture {
  uv_loop_t loop;
  struct cq_bridge *bridge;
  struct rpc_server *srv, *srv2;
  struct rpc_client *cli;
  char addr[64], addr2[64];
  struct rpc_srv_call *parked[256]; /* calls a handler left unanswered */
  size_t nparked;
  size_t cancelled; /* cancel callbacks run */
  int done;         /* async results received */
  struct rpc_result last[256];
  size_t nlast;
  int stopped;
};

static uint64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Ping echoes its payload and names the node. */
static void h_ping(struct rpc_srv_call *call, const ProtobufCMessage *req,
                   void *ud)
{
  const Chord__V1__PingRequest *r = (const Chord__V1__PingRequest *)req;
  Chord__V1__PingResponse resp = CHORD__V1__PING_RESPONSE__INIT;
  Chord__V1__NodeInfo me = CHORD__V1__NODE_INFO__INIT;
  (void)ud;
  me.addr = "self";
  resp.node = &me;
  resp.payload = r->payload;
  rpc_srv_reply(call, &resp.base);
}

static void on_park_cancel(struct rpc_srv_call *call, void *ud)
{
  struct fixture *f = ud;
  for (size_t i = 0; i < f->nparked; i++)
    if (f->parked[i] == call)
      f->parked[i] = NULL;
  f->cancelled++;
}

/* Status never answers: the call is parked. */
static void h_park(struct rpc_srv_call *call, const ProtobufCMessage *req,
                   void *ud)
{
  struct fixture *f = ud;
  (void)req;
  rpc_srv_on_cancel(call, on_park_cancel, f);
  f->parked[f->nparked++] = call;
}

/* Delete fails on purpose: name "plain" answers NOT_FOUND with no detail;
 * "detail:<d>" answers UNAVAILABLE with detail <d>. */
static void h_fail(struct rpc_srv_call *call, const ProtobufCMessage *req,
                   void *ud)
{
  const Chord__V1__DeleteRequest *r = (const Chord__V1__DeleteRequest *)req;
  (void)ud;
  if (strncmp(r->name, "detail:", 7) == 0)
    rpc_srv_reply_error_detail(call, GRPC_STATUS_UNAVAILABLE, r->name + 7,
                               "failed with detail %s", r->name + 7);
  else
    rpc_srv_reply_error(call, GRPC_STATUS_NOT_FOUND, "no file %s", r->name);
}

/* Lookup forwards a Ping to the second server and answers with its addr. */
struct fwd {
  struct rpc_srv_call *in;
};

static void fwd_done(struct rpc_result *r, void *ud)
{
  struct fwd *fw = ud;
  if (r->status.code != GRPC_STATUS_OK) {
    rpc_srv_reply_error(fw->in, r->status.code, "forward failed: %s",
                        r->status.message);
  } else {
    const Chord__V1__PingResponse *p = (const Chord__V1__PingResponse *)r->resp;
    Chord__V1__LookupResponse out = CHORD__V1__LOOKUP_RESPONSE__INIT;
    Chord__V1__NodeInfo owner = CHORD__V1__NODE_INFO__INIT;
    owner.addr = p->node->addr;
    out.owner = &owner;
    rpc_srv_reply(fw->in, &out.base);
  }
  free(fw);
}

static unsigned method_index(const char *name);

static void h_forward(struct rpc_srv_call *call, const ProtobufCMessage *req,
                      void *ud)
{
  struct fixture *f = ud;
  Chord__V1__PingRequest p = CHORD__V1__PING_REQUEST__INIT;
  struct fwd *fw = malloc(sizeof(*fw));
  (void)req;
  assert_non_null(fw);
  fw->in = call;
  struct rpc_req r = {.target = f->addr2,
                      .method = rpc_method_path(NODE_SVC, method_index("Ping")),
                      .msg = &p.base,
                      .resp_desc = &chord__v1__ping_response__descriptor,
                      .deadline = rpc_srv_deadline(call)};
  assert_string_equal(r.method, "/chord.v1.Node/Ping");
  assert_int_equal(rpc_client_call(f->cli, &r, fwd_done, fw), 0);
}

static unsigned method_index(const char *name)
{
  for (unsigned i = 0; i < NODE_SVC->n_methods; i++)
    if (strcmp(NODE_SVC->methods[i].name, name) == 0)
      return i;
  fail_msg("no method %s", name);
  return 0;
}

static struct rpc_server *start_server(struct fixture *f, char *addr,
                                       size_t max_message)
{
  rpc_handler_cb h[32] = {0};
  h[method_index("Ping")] = h_ping;
  h[method_index("Status")] = h_park;
  h[method_index("Lookup")] = h_forward;
  h[method_index("Delete")] = h_fail;
  struct rpc_server_opts o = {.max_message = max_message};
  struct rpc_server *s = rpc_server_create(f->bridge, &o);
  int port = 0;
  assert_non_null(s);
  assert_int_equal(rpc_server_add_service(s, NODE_SVC, h, f), 0);
  assert_int_equal(rpc_server_listen(s, "127.0.0.1:0", &port), 0);
  assert_true(port > 0);
  snprintf(addr, 64, "127.0.0.1:%d", port);
  assert_int_equal(rpc_server_start(s), 0);
  return s;
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  f->bridge = cq_bridge_create(&f->loop);
  assert_non_null(f->bridge);
  f->srv = start_server(f, f->addr, 1 << 20);
  f->srv2 = start_server(f, f->addr2, 0);
  f->cli = rpc_client_create(f->bridge, NULL);
  assert_non_null(f->cli);
  *state = f;
  return 0;
}

static void on_stopped(void *ud)
{
  struct fixture *f = ud;
  f->stopped++;
  if (f->stopped == 3)
    cq_bridge_shutdown(f->bridge, NULL, NULL);
}

/* Shuts down what the test left running (a test that shut the first
 * server down itself set f->srv to NULL; its on_stopped has counted). */
static int teardown(void **state)
{
  struct fixture *f = *state;
  rpc_client_shutdown(f->cli, on_stopped, f);
  if (f->srv)
    rpc_server_shutdown(f->srv, on_stopped, f);
  rpc_server_shutdown(f->srv2, on_stopped, f);
  uint64_t t0 = now_ms();
  while (uv_run(&f->loop, UV_RUN_ONCE) && now_ms() - t0 < 10000)
    ;
  assert_int_equal(f->stopped, 3);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  for (size_t i = 0; i < f->nlast; i++)
    rpc_result_clear(&f->last[i]);
  free(f);
  return 0;
}

static void on_result(struct rpc_result *r, void *ud)
{
  struct fixture *f = ud;
  f->last[f->nlast++] = *r;
  r->resp = NULL; /* taken */
  r->raw = NULL;
  f->done++;
}

/* Runs the loop until want results arrived or limit_ms passed. */
static void run_until(struct fixture *f, int want, uint64_t limit_ms)
{
  uint64_t t0 = now_ms();
  while (f->done < want && now_ms() - t0 < limit_ms)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(f->done, want);
}

static void call_ping(struct fixture *f, const char *target,
                      const uint8_t *data, size_t len, int64_t timeout_ms)
{
  Chord__V1__PingRequest p = CHORD__V1__PING_REQUEST__INIT;
  p.payload.data = (uint8_t *)data;
  p.payload.len = len;
  struct rpc_req r = {.target = target,
                      .method = rpc_method_path(NODE_SVC, method_index("Ping")),
                      .msg = &p.base,
                      .resp_desc = &chord__v1__ping_response__descriptor,
                      .deadline = rpc_deadline_in(timeout_ms)};
  assert_int_equal(rpc_client_call(f->cli, &r, on_result, f), 0);
}

static void test_rpc_round_trip(void **state)
{
  struct fixture *f = *state;
  call_ping(f, f->addr, (const uint8_t *)"hello", 5, 5000);
  run_until(f, 1, 10000);
  assert_int_equal(f->last[0].status.code, GRPC_STATUS_OK);
  const Chord__V1__PingResponse *p =
      (const Chord__V1__PingResponse *)f->last[0].resp;
  assert_non_null(p);
  assert_int_equal(p->payload.len, 5);
  assert_memory_equal(p->payload.data, "hello", 5);
  assert_string_equal(p->node->addr, "self");
}

static void test_rpc_many_concurrent_calls(void **state)
{
  struct fixture *f = *state;
  uint8_t buf[200];
  for (int i = 0; i < 200; i++) {
    memset(buf, i, sizeof(buf));
    call_ping(f, i % 2 ? f->addr : f->addr2, buf, (size_t)i, 10000);
  }
  run_until(f, 200, 20000);
  size_t sizes[200] = {0};
  for (size_t i = 0; i < f->nlast; i++) {
    assert_int_equal(f->last[i].status.code, GRPC_STATUS_OK);
    const Chord__V1__PingResponse *p =
        (const Chord__V1__PingResponse *)f->last[i].resp;
    size_t n = p->payload.len;
    assert_true(n < 200);
    for (size_t k = 0; k < n; k++)
      assert_int_equal(p->payload.data[k], (uint8_t)n);
    sizes[n]++;
  }
  for (int i = 0; i < 200; i++)
    assert_int_equal(sizes[i], 1);
}

static void test_rpc_large_message_and_limit(void **state)
{
  struct fixture *f = *state;
  size_t big = 8u << 20;
  uint8_t *data = malloc(big);
  assert_non_null(data);
  for (size_t i = 0; i < big; i++)
    data[i] = (uint8_t)(i * 31 + 7);
  /* srv2 takes the default 64 MiB limit, srv only 1 MiB (+ envelope). */
  call_ping(f, f->addr2, data, big, 20000);
  run_until(f, 1, 30000);
  assert_int_equal(f->last[0].status.code, GRPC_STATUS_OK);
  const Chord__V1__PingResponse *p =
      (const Chord__V1__PingResponse *)f->last[0].resp;
  assert_int_equal(p->payload.len, big);
  assert_memory_equal(p->payload.data, data, big);
  call_ping(f, f->addr, data, 2u << 20, 20000);
  run_until(f, 2, 30000);
  assert_int_equal(f->last[1].status.code, GRPC_STATUS_RESOURCE_EXHAUSTED);
  /* The server still serves. */
  call_ping(f, f->addr, data, 1000, 5000);
  run_until(f, 3, 10000);
  assert_int_equal(f->last[2].status.code, GRPC_STATUS_OK);
  free(data);
}

static void test_rpc_deadline_exceeded(void **state)
{
  struct fixture *f = *state;
  Chord__V1__StatusRequest s = CHORD__V1__STATUS_REQUEST__INIT;
  struct rpc_req r = {.target = f->addr,
                      .method =
                          rpc_method_path(NODE_SVC, method_index("Status")),
                      .msg = &s.base,
                      .resp_desc = &chord__v1__status_response__descriptor,
                      .deadline = rpc_deadline_in(300)};
  uint64_t t0 = now_ms();
  assert_int_equal(rpc_client_call(f->cli, &r, on_result, f), 0);
  run_until(f, 1, 10000);
  uint64_t took = now_ms() - t0;
  assert_int_equal(f->last[0].status.code, GRPC_STATUS_DEADLINE_EXCEEDED);
  /* gRPC made this status up: no chord server sent it. */
  assert_false(f->last[0].status.remote);
  assert_string_equal(f->last[0].status.detail, "");
  /* The server got it: not "unsent", whatever it did with it. */
  assert_false(rpc_status_unsent(&f->last[0].status));
  /* Near the deadline: not early, and not a hang (a generous bound). */
  assert_true(took >= 250);
  assert_true(took < 5000);
  assert_int_equal(f->nparked, 1);
  /* The server still has the call open; answering late is harmless. */
  Chord__V1__StatusResponse resp = CHORD__V1__STATUS_RESPONSE__INIT;
  assert_int_equal(rpc_srv_reply(f->parked[0], &resp.base), 0);
  f->parked[0] = NULL;
  call_ping(f, f->addr, NULL, 0, 5000);
  run_until(f, 2, 10000);
  assert_int_equal(f->last[1].status.code, GRPC_STATUS_OK);
}

static void test_rpc_unknown_method(void **state)
{
  struct fixture *f = *state;
  Chord__V1__PingRequest p = CHORD__V1__PING_REQUEST__INIT;
  struct rpc_req r = {.target = f->addr,
                      .method = "/chord.v1.Node/NoSuchMethod",
                      .msg = &p.base,
                      .deadline = rpc_deadline_in(5000)};
  uint64_t t0 = now_ms();
  assert_int_equal(rpc_client_call(f->cli, &r, on_result, f), 0);
  r.method = "/no.such.Service/Ping";
  assert_int_equal(rpc_client_call(f->cli, &r, on_result, f), 0);
  run_until(f, 2, 10000);
  assert_true(now_ms() - t0 < 4000); /* answered, not timed out */
  for (int i = 0; i < 2; i++) {
    assert_int_equal(f->last[i].status.code, GRPC_STATUS_UNIMPLEMENTED);
    assert_non_null(strstr(f->last[i].status.message, "unknown method"));
    /* The rpc layer answered for the server: remote, no detail. */
    assert_true(f->last[i].status.remote);
    assert_string_equal(f->last[i].status.detail, "");
  }
  /* A declared method without a handler is UNIMPLEMENTED too. */
  r.method = rpc_method_path(NODE_SVC, method_index("Notify"));
  assert_int_equal(rpc_client_call(f->cli, &r, on_result, f), 0);
  run_until(f, 3, 10000);
  assert_int_equal(f->last[2].status.code, GRPC_STATUS_UNIMPLEMENTED);
}

static void test_rpc_undecodable_request(void **state)
{
  struct fixture *f = *state;
  static const uint8_t garbage[][6] = {
      {0x0a, 0xff, 0xff, 0x03, 'a', 'b'},   /* length runs past the end */
      {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, /* bad varint key */
      {0x0b, 0x00, 0x00, 0x00, 0x00, 0x00}, /* group wire type */
  };
  for (size_t i = 0; i < 3; i++) {
    grpc_slice s = grpc_slice_from_copied_buffer((const char *)garbage[i], 6);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    struct rpc_req r = {.target = f->addr,
                        .method =
                            rpc_method_path(NODE_SVC, method_index("Ping")),
                        .raw = bb,
                        .resp_desc = &chord__v1__ping_response__descriptor,
                        .deadline = rpc_deadline_in(5000)};
    assert_int_equal(rpc_client_call(f->cli, &r, on_result, f), 0);
    grpc_byte_buffer_destroy(bb);
  }
  /* A string field holding a NUL byte or invalid UTF-8: Read's name. */
  static const uint8_t bad_names[][5] = {
      {0x0a, 0x03, 'a', 0x00, 'b'},
      {0x0a, 0x03, 'a', 0xff, 'b'},
  };
  for (size_t i = 0; i < 2; i++) {
    grpc_slice s = grpc_slice_from_copied_buffer((const char *)bad_names[i], 5);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    struct rpc_req r = {.target = f->addr,
                        .method =
                            rpc_method_path(NODE_SVC, method_index("Ping")),
                        .raw = bb,
                        .deadline = rpc_deadline_in(5000)};
    /* Ping's field 1 is bytes, so send these to Read (field 1: string). */
    r.method = rpc_method_path(NODE_SVC, method_index("Read"));
    assert_int_equal(rpc_client_call(f->cli, &r, on_result, f), 0);
    grpc_byte_buffer_destroy(bb);
  }
  run_until(f, 5, 10000);
  for (int i = 0; i < 5; i++) {
    assert_int_equal(f->last[i].status.code, GRPC_STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(f->last[i].status.message, "chord.v1."));
    assert_true(f->last[i].status.remote);
  }
  call_ping(f, f->addr, (const uint8_t *)"x", 1, 5000);
  run_until(f, 6, 10000);
  assert_int_equal(f->last[5].status.code, GRPC_STATUS_OK);
}

static void test_rpc_forwarding_handler(void **state)
{
  struct fixture *f = *state;
  Chord__V1__LookupRequest l = CHORD__V1__LOOKUP_REQUEST__INIT;
  struct rpc_req r = {.target = f->addr,
                      .method =
                          rpc_method_path(NODE_SVC, method_index("Lookup")),
                      .msg = &l.base,
                      .resp_desc = &chord__v1__lookup_response__descriptor,
                      .deadline = rpc_deadline_in(5000)};
  for (int i = 0; i < 20; i++)
    assert_int_equal(rpc_client_call(f->cli, &r, on_result, f), 0);
  run_until(f, 20, 15000);
  for (int i = 0; i < 20; i++) {
    assert_int_equal(f->last[i].status.code, GRPC_STATUS_OK);
    const Chord__V1__LookupResponse *lr =
        (const Chord__V1__LookupResponse *)f->last[i].resp;
    assert_string_equal(lr->owner->addr, "self");
  }
}

static void test_rpc_unreachable_peer(void **state)
{
  struct fixture *f = *state;
  uint64_t t0 = now_ms();
  /* Port 1 on loopback: nothing listens there. */
  call_ping(f, "127.0.0.1:1", NULL, 0, 3000);
  run_until(f, 1, 10000);
  assert_int_equal(f->last[0].status.code, GRPC_STATUS_UNAVAILABLE);
  assert_true(now_ms() - t0 < 3000); /* fail-fast, before the deadline */
  /* No chord server sent it: UNAVAILABLE alone does not say busy. */
  assert_false(f->last[0].status.remote);
  assert_string_equal(f->last[0].status.detail, "");
  /* Never sent: a change may go again elsewhere. */
  assert_true(rpc_status_unsent(&f->last[0].status));
}

struct sync_arg {
  const char *addr;
  int ok;
  int deadline;
};

static void *sync_thread(void *p)
{
  struct sync_arg *a = p;
  struct rpc_client *c = rpc_client_create(NULL, NULL);
  Chord__V1__PingRequest ping = CHORD__V1__PING_REQUEST__INIT;
  ping.payload.data = (uint8_t *)"sync";
  ping.payload.len = 4;
  struct rpc_result res;
  for (int i = 0; i < 50; i++) {
    struct rpc_req r = {.target = a->addr,
                        .method = "/chord.v1.Node/Ping",
                        .msg = &ping.base,
                        .resp_desc = &chord__v1__ping_response__descriptor,
                        .deadline = rpc_deadline_in(5000)};
    if (rpc_client_call_sync(c, &r, &res) == 0 && res.resp &&
        ((Chord__V1__PingResponse *)res.resp)->payload.len == 4)
      a->ok++;
    rpc_result_clear(&res);
  }
  Chord__V1__StatusRequest s = CHORD__V1__STATUS_REQUEST__INIT;
  struct rpc_req r = {.target = a->addr,
                      .method = "/chord.v1.Node/Status",
                      .msg = &s.base,
                      .deadline = rpc_deadline_in(200)};
  if (rpc_client_call_sync(c, &r, &res) == CHORD_ETIMEDOUT &&
      !res.status.remote)
    a->deadline = 1;
  rpc_result_clear(&res);
  rpc_client_shutdown(c, NULL, NULL);
  return NULL;
}

static void test_rpc_sync_client(void **state)
{
  struct fixture *f = *state;
  struct sync_arg a = {f->addr, 0, 0};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, sync_thread, &a), 0);
  /* Serve on this thread while the other one blocks in its calls. */
  uint64_t t0 = now_ms();
  while (!a.deadline && now_ms() - t0 < 15000)
    uv_run(&f->loop, UV_RUN_NOWAIT);
  pthread_join(t, NULL);
  assert_int_equal(a.ok, 50);
  assert_int_equal(a.deadline, 1);
}

/* Starts n Status calls (60 s deadline) on f->addr, which its handler
 * parks, and runs the loop until all n are parked. *r (whose message is
 * *s) stays usable for more calls. */
static void park_status_calls(struct fixture *f, int n,
                              Chord__V1__StatusRequest *s, struct rpc_req *r)
{
  *r = (struct rpc_req){.target = f->addr,
                        .method =
                            rpc_method_path(NODE_SVC, method_index("Status")),
                        .msg = &s->base,
                        .resp_desc = &chord__v1__status_response__descriptor,
                        .deadline = rpc_deadline_in(60000)};
  for (int i = 0; i < n; i++)
    assert_int_equal(rpc_client_call(f->cli, r, on_result, f), 0);
  uint64_t t0 = now_ms();
  while (f->nparked < (size_t)n && now_ms() - t0 < 10000)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(f->nparked, n);
}

static void test_rpc_shutdown_with_calls_in_flight(void **state)
{
  struct fixture *f = *state;
  Chord__V1__StatusRequest s = CHORD__V1__STATUS_REQUEST__INIT;
  struct rpc_req r;
  /* Parked calls, plus a few pings in flight. */
  park_status_calls(f, 30, &s, &r);
  for (int i = 0; i < 10; i++)
    call_ping(f, f->addr, NULL, 0, 60000);
  /* The teardown shuts everything down; it must end promptly, with every
   * parked call answered by the server and every client callback run. */
  uint64_t t0 = now_ms();
  rpc_server_shutdown(f->srv, on_stopped, f);
  f->srv = NULL;
  while (f->done < 40 && now_ms() - t0 < 10000)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(f->done, 40);
  assert_int_equal(f->cancelled, 30);
  int unavailable = 0;
  for (size_t i = 0; i < f->nlast; i++) {
    if (f->last[i].status.code != GRPC_STATUS_OK)
      unavailable++;
    /* Every failed call had reached the server (which may have acted on
     * it): none may pass for never sent, or a change would go twice. */
    if (f->last[i].status.code != GRPC_STATUS_OK)
      assert_false(rpc_status_unsent(&f->last[i].status));
    /* "server shutting down" comes from the server's rpc layer. */
    if (f->last[i].status.code == GRPC_STATUS_UNAVAILABLE &&
        strstr(f->last[i].status.message, "shutting down"))
      assert_true(f->last[i].status.remote);
  }
  assert_true(unavailable >= 30);
  /* The other server still serves. */
  call_ping(f, f->addr2, NULL, 0, 5000);
  run_until(f, 41, 10000);
  assert_int_equal(f->last[40].status.code, GRPC_STATUS_OK);
  assert_true(now_ms() - t0 < 10000);
}

/* A drain with a long grace ends as soon as nothing is left to answer, not
 * when the grace runs out: the finished replies (lazy bridge events) still
 * reach the loop, and the idle connections are closed rather than waited
 * for. The client's channel to it then reconnects nowhere: UNAVAILABLE. */
static void test_rpc_drain_ends_when_idle(void **state)
{
  struct fixture *f = *state;
  for (int i = 0; i < 20; i++)
    call_ping(f, f->addr, NULL, 0, 5000);
  run_until(f, 20, 10000);
  for (size_t i = 0; i < f->nlast; i++)
    assert_int_equal(f->last[i].status.code, GRPC_STATUS_OK);
  uint64_t t0 = now_ms();
  rpc_server_drain(f->srv, 60000, on_stopped, f);
  f->srv = NULL;
  while (f->stopped < 1 && now_ms() - t0 < 30000)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(f->stopped, 1);
  call_ping(f, f->addr, NULL, 0, 5000);
  run_until(f, 21, 10000);
  assert_int_equal(f->last[20].status.code, GRPC_STATUS_UNAVAILABLE);
}

static void test_rpc_client_shutdown_cancels(void **state)
{
  struct fixture *f = *state;
  Chord__V1__StatusRequest s = CHORD__V1__STATUS_REQUEST__INIT;
  struct rpc_req r;
  park_status_calls(f, 5, &s, &r);
  struct rpc_client *cli = f->cli;
  rpc_client_shutdown(cli, on_stopped, f);
  f->cli = NULL;
  assert_int_equal(rpc_client_call(cli, &r, on_result, f) == 0, 0);
  run_until(f, 5, 10000);
  for (int i = 0; i < 5; i++)
    assert_int_equal(f->last[i].status.code, GRPC_STATUS_CANCELLED);
  /* Still-parked calls get answered by the server's shutdown later. */
  f->cli = rpc_client_create(f->bridge, NULL);
  f->stopped--; /* the new client will report again */
}

static void call_delete(struct fixture *f, const char *target, const char *name)
{
  Chord__V1__DeleteRequest d = CHORD__V1__DELETE_REQUEST__INIT;
  d.name = (char *)name;
  struct rpc_req r = {.target = target,
                      .method =
                          rpc_method_path(NODE_SVC, method_index("Delete")),
                      .msg = &d.base,
                      .resp_desc = &chord__v1__delete_response__descriptor,
                      .deadline = rpc_deadline_in(5000)};
  assert_int_equal(rpc_client_call(f->cli, &r, on_result, f), 0);
}

/* A handler's error with a detail arrives remote with that detail; a plain
 * one arrives remote with none; an OK is remote too. */
static void test_rpc_error_detail_async(void **state)
{
  struct fixture *f = *state;
  call_delete(f, f->addr, "detail:" RPC_DETAIL_BUSY);
  run_until(f, 1, 10000);
  call_delete(f, f->addr, "plain");
  run_until(f, 2, 10000);
  call_ping(f, f->addr, NULL, 0, 5000);
  run_until(f, 3, 10000);
  assert_int_equal(f->last[0].status.code, GRPC_STATUS_UNAVAILABLE);
  assert_true(f->last[0].status.remote);
  assert_string_equal(f->last[0].status.detail, RPC_DETAIL_BUSY);
  assert_string_equal(f->last[0].status.message, "failed with detail busy");
  assert_int_equal(f->last[1].status.code, GRPC_STATUS_NOT_FOUND);
  assert_true(f->last[1].status.remote);
  assert_string_equal(f->last[1].status.detail, "");
  assert_string_equal(f->last[1].status.message, "no file plain");
  assert_int_equal(f->last[2].status.code, GRPC_STATUS_OK);
  assert_true(f->last[2].status.remote);
  assert_string_equal(f->last[2].status.detail, "");
}

/* A detail is sent as a legal header value: characters outside
 * [a-z0-9._-] become '_', and a long one is cut to RPC_DETAIL_MAX - 1. */
static void test_rpc_error_detail_cleaned(void **state)
{
  struct fixture *f = *state;
  call_delete(f, f->addr, "detail:Bad detail\x01!");
  run_until(f, 1, 10000);
  call_delete(f, f->addr,
              "detail:0123456789abcdefghijklmnopqrstuvwxyz0123456789");
  run_until(f, 2, 10000);
  assert_true(f->last[0].status.remote);
  assert_string_equal(f->last[0].status.detail, "_ad_detail__");
  assert_true(f->last[1].status.remote);
  assert_int_equal(strlen(f->last[1].status.detail), RPC_DETAIL_MAX - 1);
  assert_memory_equal(f->last[1].status.detail,
                      "0123456789abcdefghijklmnopqrstuvwxyz",
                      RPC_DETAIL_MAX - 1);
}

struct sync_detail {
  const char *addr;
  struct rpc_status st[4]; /* detail, plain, no listener, deadline */
  int rc[4];
  int finished;
};

static void *sync_detail_thread(void *p)
{
  struct sync_detail *a = p;
  struct rpc_client *c = rpc_client_create(NULL, NULL);
  Chord__V1__DeleteRequest d = CHORD__V1__DELETE_REQUEST__INIT;
  Chord__V1__StatusRequest s = CHORD__V1__STATUS_REQUEST__INIT;
  struct rpc_result res;
  struct rpc_req r = {.target = a->addr,
                      .method = "/chord.v1.Node/Delete",
                      .msg = &d.base,
                      .deadline = rpc_deadline_in(5000)};
  d.name = "detail:" RPC_DETAIL_NOT_MEMBER;
  a->rc[0] = rpc_client_call_sync(c, &r, &res);
  a->st[0] = res.status;
  rpc_result_clear(&res);
  d.name = "plain";
  a->rc[1] = rpc_client_call_sync(c, &r, &res);
  a->st[1] = res.status;
  rpc_result_clear(&res);
  r.target = "127.0.0.1:1"; /* nothing listens there */
  a->rc[2] = rpc_client_call_sync(c, &r, &res);
  a->st[2] = res.status;
  rpc_result_clear(&res);
  r = (struct rpc_req){.target = a->addr,
                       .method = "/chord.v1.Node/Status", /* parked */
                       .msg = &s.base,
                       .deadline = rpc_deadline_in(200)};
  a->rc[3] = rpc_client_call_sync(c, &r, &res);
  a->st[3] = res.status;
  rpc_result_clear(&res);
  rpc_client_shutdown(c, NULL, NULL);
  a->finished = 1;
  return NULL;
}

/* The same facts reach a sync caller. */
static void test_rpc_error_detail_sync(void **state)
{
  struct fixture *f = *state;
  struct sync_detail a = {.addr = f->addr};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, sync_detail_thread, &a), 0);
  uint64_t t0 = now_ms();
  while (!a.finished && now_ms() - t0 < 15000)
    uv_run(&f->loop, UV_RUN_NOWAIT);
  pthread_join(t, NULL);
  assert_int_equal(a.rc[0], CHORD_EUNAVAIL);
  assert_true(a.st[0].remote);
  assert_string_equal(a.st[0].detail, RPC_DETAIL_NOT_MEMBER);
  assert_int_equal(a.rc[1], CHORD_ENOTFOUND);
  assert_true(a.st[1].remote);
  assert_string_equal(a.st[1].detail, "");
  assert_int_equal(a.rc[2], CHORD_EUNAVAIL);
  assert_int_equal(a.st[2].code, GRPC_STATUS_UNAVAILABLE);
  assert_false(a.st[2].remote);
  assert_string_equal(a.st[2].detail, "");
  assert_int_equal(a.rc[3], CHORD_ETIMEDOUT);
  assert_false(a.st[3].remote);
  assert_string_equal(a.st[3].detail, "");
}

/* The three codes about permission stay apart both ways, and each has its
 * own sentence. */
static void test_rpc_status_mapping_auth(void **state)
{
  (void)state;
  assert_int_equal(rpc_err_to_status(CHORD_EUNAUTH),
                   GRPC_STATUS_UNAUTHENTICATED);
  assert_int_equal(rpc_err_to_status(CHORD_EPERM),
                   GRPC_STATUS_PERMISSION_DENIED);
  assert_int_equal(rpc_err_to_status(CHORD_ESTATE),
                   GRPC_STATUS_FAILED_PRECONDITION);
  assert_int_equal(rpc_status_to_err(GRPC_STATUS_UNAUTHENTICATED),
                   CHORD_EUNAUTH);
  assert_int_equal(rpc_status_to_err(GRPC_STATUS_PERMISSION_DENIED),
                   CHORD_EPERM);
  assert_int_equal(rpc_status_to_err(GRPC_STATUS_FAILED_PRECONDITION),
                   CHORD_ESTATE);
  assert_string_equal(chord_strerror(CHORD_EUNAUTH), "not authenticated");
  assert_string_equal(chord_strerror(CHORD_ESTATE),
                      "not possible in the current state");
  assert_string_equal(chord_strerror(CHORD_EPERM), "not permitted");
}

static void test_rpc_status_mapping(void **state)
{
  (void)state;
  int errs[] = {CHORD_EINVAL,   CHORD_ENOTFOUND,  CHORD_EEXIST,
                CHORD_EUNAVAIL, CHORD_ETIMEDOUT,  CHORD_ETOOBIG,
                CHORD_EUNIMPL,  CHORD_ECANCELLED, CHORD_ELOOP,
                CHORD_EIO,      CHORD_EPERM,      CHORD_EUNAUTH,
                CHORD_ESTATE};
  for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
    assert_int_equal(rpc_status_to_err(rpc_err_to_status(errs[i])), errs[i]);
  assert_int_equal(rpc_err_to_status(0), GRPC_STATUS_OK);
  assert_string_equal(rpc_status_name(GRPC_STATUS_DEADLINE_EXCEEDED),
                      "DEADLINE_EXCEEDED");
  assert_string_equal(rpc_status_name((grpc_status_code)99), "UNKNOWN");
  assert_true(rpc_ms_until(rpc_deadline_in(1000)) > 900);
  assert_true(rpc_ms_until(rpc_deadline_in(-50)) < 0);
  assert_true(rpc_ms_until(gpr_inf_future(GPR_CLOCK_REALTIME)) == INT64_MAX);
  assert_null(rpc_method_path(NODE_SVC, 999));
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
      cmocka_unit_test(test_rpc_status_mapping),
      cmocka_unit_test(test_rpc_status_mapping_auth),
      cmocka_unit_test_setup_teardown(test_rpc_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rpc_many_concurrent_calls, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rpc_large_message_and_limit, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rpc_deadline_exceeded, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rpc_unknown_method, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rpc_undecodable_request, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rpc_forwarding_handler, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rpc_unreachable_peer, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rpc_sync_client, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rpc_shutdown_with_calls_in_flight,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_rpc_client_shutdown_cancels, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rpc_drain_ends_when_idle, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rpc_error_detail_async, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rpc_error_detail_cleaned, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rpc_error_detail_sync, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
