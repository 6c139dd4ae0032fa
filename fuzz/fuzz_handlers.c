/* SPDX-License-Identifier: MIT */
/* Fuzzes the node's request handlers in process, with a mem store and no
 * network: the rpc layer (rpc_server.c, rpc_client.c, daemon.c) is replaced
 * below by fakes that hand each handler a decoded request and answer each
 * outbound call from the input. Every call must be answered exactly once
 * (or be parked, cancellable), with a response that decodes as its
 * method's output, and no request may stop the node.
 * Input: byte 0 sets the node up (bits 0-1: other members, 2-3: replicas,
 * 4-5: state, 6: caller is a member, 7: a hand-off under way); byte 1:
 * bit 0 a deadline, bit 2 entries in the store, bit 3 the hand-off's
 * hold, bit 4 the calls all in flight together (else each settles first).
 * Then up to four calls, each [method][length, 2 bytes LE][request]; the
 * rest answers outbound calls, each [status][length, 2 bytes LE][response]:
 * status bits 0-2 pick the outcome, the rest which call in flight. */
#define STORE__BACKEND
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "common/codec.h"
#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"
#include "common/rpc.h"
#include "fuzz.h"
#include "node/node.h"

#define H_CALLS_MAX 4     /* calls per input */
#define H_OUT_MAX 256     /* outbound calls in flight */
#define H_ROUNDS_MAX 4096 /* loop turns before giving up on quiet */
#define H_PEERS 3

/* ---- the input, read front to back ------------------------------------ */

struct input {
  const uint8_t *p;
  size_t left;
};

static uint8_t in_byte(struct input *in)
{
  if (!in->left)
    return 0;
  in->left--;
  return *in->p++;
}

/* A [length][bytes] chunk; *len may be less than asked at the end. */
static const uint8_t *in_chunk(struct input *in, size_t *len)
{
  size_t n = in_byte(in);
  n |= (size_t)in_byte(in) << 8;
  if (n > in->left)
    n = in->left;
  const uint8_t *p = in->p;
  in->p += n;
  in->left -= n;
  *len = n;
  return p;
}

/* ---- fake server calls --------------------------------------------------- */

struct rpc_srv_call {
  const ProtobufCMethodDescriptor *m;
  ProtobufCMessage *req; /* owned, as rpc_server.c owns it */
  gpr_timespec deadline;
  bool member;
  bool answered;
  rpc_cancel_cb on_cancel;
  void *cancel_ud;
};

struct state {
  struct input in;
  struct rpc_srv_call *calls[H_CALLS_MAX]; /* freed at the end */
  size_t ncalls;
  struct out *out[H_OUT_MAX]; /* outbound calls not answered yet */
  size_t nout;
  bool handler_stopped; /* daemon_stop ran */
  bool member;          /* rpc_srv_member's answer */
};

static struct state st;
static struct node node; /* large: finger tables */

/* The answer must decode as the method's output. */
static void check_reply_bytes(struct rpc_srv_call *c, grpc_byte_buffer *bb)
{
  ProtobufCMessage *m;
  FUZZ_CHECK(codec_decode(bb, c->m->output, &m) == 0,
             "a reply does not decode as its method's output");
  codec_free(m);
}

static void answer(struct rpc_srv_call *c)
{
  FUZZ_CHECK(!c->answered, "a call answered twice");
  c->answered = true;
}

int rpc_srv_reply(struct rpc_srv_call *c, const ProtobufCMessage *resp)
{
  answer(c);
  FUZZ_CHECK(resp->descriptor == c->m->output, "a reply of another type");
  grpc_byte_buffer *bb = codec_encode(resp);
  FUZZ_CHECK(bb, "codec_encode");
  check_reply_bytes(c, bb);
  grpc_byte_buffer_destroy(bb);
  return 0;
}

/* A forward relays the next hop's answer as it came (which the fakes
 * below make up from the input): only its being there is checked. */
int rpc_srv_reply_raw(struct rpc_srv_call *c, grpc_byte_buffer *bb)
{
  answer(c);
  FUZZ_CHECK(bb, "a raw reply without bytes");
  return 0;
}

void rpc_srv_reply_error(struct rpc_srv_call *c, grpc_status_code code,
                         const char *fmt, ...)
{
  answer(c);
  FUZZ_CHECK(code != GRPC_STATUS_OK && fmt, "an error reply with OK");
}

void rpc_srv_reply_error_detail(struct rpc_srv_call *c, grpc_status_code code,
                                const char *detail, const char *fmt, ...)
{
  answer(c);
  FUZZ_CHECK(code != GRPC_STATUS_OK && fmt, "an error reply with OK");
  (void)detail;
}

void rpc_srv_on_cancel(struct rpc_srv_call *c, rpc_cancel_cb cb, void *ud)
{
  FUZZ_CHECK(!c->answered, "on_cancel set on an answered call");
  c->on_cancel = cb;
  c->cancel_ud = ud;
}

gpr_timespec rpc_srv_deadline(const struct rpc_srv_call *c)
{
  return c->deadline;
}

const char *rpc_srv_method(const struct rpc_srv_call *c)
{
  return c->m->name;
}

bool rpc_srv_member(const struct rpc_srv_call *c)
{
  return c->member;
}

int rpc_srv_metadata(const struct rpc_srv_call *c, const char *key, char *out,
                     size_t len)
{
  (void)c;
  (void)key;
  (void)out;
  (void)len;
  return CHORD_ENOTFOUND;
}

uint64_t rpc_server_served(const struct rpc_server *s)
{
  (void)s;
  return 0;
}

void daemon_stop(struct daemon *d, int exit_code)
{
  d->stopping = true;
  d->exit_code = exit_code;
  st.handler_stopped = true;
}

/* ---- fake outbound calls ------------------------------------------------- */

struct out {
  const ProtobufCMessageDescriptor *resp_desc;
  rpc_done_cb cb;
  void *ud;
};

int rpc_client_call(struct rpc_client *c, const struct rpc_req *r,
                    rpc_done_cb cb, void *ud)
{
  (void)c;
  FUZZ_CHECK(r->target && r->method && (r->msg || r->raw), "a bad rpc_req");
  FUZZ_CHECK(addr_validate(r->target, 0) == 0, "a call to a bad address");
  if (st.nout == H_OUT_MAX)
    return CHORD_ENOMEM; /* refused: cb is never run */
  if (r->msg) {
    grpc_byte_buffer *bb = codec_encode(r->msg);
    FUZZ_CHECK(bb, "codec_encode of a request");
    grpc_byte_buffer_destroy(bb);
  }
  struct out *o = calloc(1, sizeof(*o));
  FUZZ_CHECK(o, "out of memory");
  o->resp_desc = r->resp_desc;
  o->cb = cb;
  o->ud = ud;
  st.out[st.nout++] = o;
  return 0;
}

void rpc_client_forget(struct rpc_client *c, const char *target)
{
  (void)c;
  FUZZ_CHECK(target, "forget NULL");
}

/* Answers the oldest outbound call from the input: a status (OK, or an
 * error as gRPC or a chord server gives it) and, with OK, a response. */
static void answer_one(void)
{
  static const struct {
    grpc_status_code code;
    bool remote;
    const char *detail;
  } outcomes[8] = {
      {GRPC_STATUS_OK, true, ""},
      {GRPC_STATUS_UNAVAILABLE, false, ""},
      {GRPC_STATUS_DEADLINE_EXCEEDED, false, ""},
      {GRPC_STATUS_ABORTED, true, RPC_DETAIL_HOP_LIMIT},
      {GRPC_STATUS_UNAVAILABLE, true, RPC_DETAIL_NOT_MEMBER},
      {GRPC_STATUS_UNAVAILABLE, true, RPC_DETAIL_UNREACHABLE},
      {GRPC_STATUS_INVALID_ARGUMENT, true, ""},
      {GRPC_STATUS_FAILED_PRECONDITION, true, ""},
  };
  struct rpc_result res;
  /* Out of input: the oldest call first, and the peer is unreachable. */
  unsigned k = st.in.left ? in_byte(&st.in) : 1;
  size_t at = (k >> 3) % st.nout;
  struct out *o = st.out[at];
  k %= 8;
  memmove(st.out + at, st.out + at + 1, (--st.nout - at) * sizeof(st.out[0]));
  size_t len;
  const uint8_t *body = in_chunk(&st.in, &len);
  memset(&res, 0, sizeof(res));
  res.status.code = outcomes[k].code;
  res.status.remote = outcomes[k].remote;
  snprintf(res.status.detail, sizeof(res.status.detail), "%s",
           outcomes[k].detail);
  snprintf(res.status.message, sizeof(res.status.message), "fuzz");
  if (res.status.code == GRPC_STATUS_OK) {
    grpc_slice s = grpc_slice_from_copied_buffer((const char *)body, len);
    res.raw = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    if (o->resp_desc && codec_decode(res.raw, o->resp_desc, &res.resp)) {
      /* As rpc_client.c: an undecodable answer is a local failure. */
      grpc_byte_buffer_destroy(res.raw);
      res.raw = NULL;
      res.status.code = GRPC_STATUS_INTERNAL;
      res.status.remote = false;
    }
  }
  o->cb(&res, o->ud);
  codec_free(res.resp);
  if (res.raw)
    grpc_byte_buffer_destroy(res.raw);
  free(o);
}

/* ---- the node ------------------------------------------------------------ */

static void peer_at(struct chord_peer *p, int i)
{
  snprintf(p->addr, sizeof(p->addr), i ? "10.0.0.%d:5000" : "127.0.0.1:5000",
           i);
  chord_id_sha1_str(&p->id, p->addr);
}

static void fill_store(struct store *s)
{
  static const char *const names[] = {"a", "b", "hello.txt", "gone"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    struct store_entry *e =
        i == 3 ? store_tombstone_create(names[i], strlen(names[i]), 5)
               : store_entry_create(names[i], strlen(names[i]), "x", 1, 5 + i);
    FUZZ_CHECK(e && store_put(s, e, 0) == 0, "fill the store");
    store_entry_unref(e);
  }
}

static void node_setup(uint8_t how, uint8_t how2)
{
  static const enum node_state states[] = {NODE_JOINED, NODE_JOINED,
                                           NODE_JOINING, NODE_LEAVING};
  struct node *n = &node;
  struct chord_peer members[H_PEERS + 1];
  size_t k = 1 + (how & 3);
  memset(n, 0, sizeof(*n));
  FUZZ_CHECK(uv_loop_init(&n->d.loop) == 0, "uv_loop_init");
  n->o.max_file = 1 << 16;
  n->o.rpc_timeout_ms = 1000;
  n->o.forward_timeout_ms = 1000;
  n->o.hop_timeout_ms = 500;
  n->o.stabilize_ms = 1;
  n->o.hop_limit = 8;
  n->o.succ_len = 4;
  n->o.page_bytes = 256;
  n->o.replicas = 1 + (how >> 2 & 3) % 3;
  n->o.repair_ms = 1000;
  n->o.tomb_grace_ms = 1000;
  n->o.chunk_grace_ms = 1000;
  n->o.max_object = (uint64_t)1 << 30;
  n->o.store_kind = "mem";
  peer_at(&n->self, 0);
  n->store = store_open_mem();
  FUZZ_CHECK(n->store, "store_open_mem");
  if (how2 & 4)
    fill_store(n->store);
  n->d.client = (struct rpc_client *)&st; /* never dereferenced */
  n->d.ud = n;
  n->started_ms = node_now_ms();
  jobs_init(&n->jobs, &n->d.loop, true);
  handoff_init(&n->give);
  membership_init(&n->mem, &n->d.loop, n);
  maintain_init(&n->maintain, &n->d.loop, n);
  repair_init(&n->repair, &n->d.loop, n);
  chunk_gc_init(&n->chunk_gc, &n->d.loop, n);
  pull_init(&n->pull, &n->d.loop);
  n->pull.timer.data = n;
  uv_timer_init(&n->d.loop, &n->leave_timer);
  n->leave_timer.data = n;
  ring_init(&n->ring, &n->self, n->o.succ_len);
  for (size_t i = 0; i < k; i++)
    peer_at(&members[i], (int)i);
  FUZZ_CHECK(ring_install(&n->ring, &n->self, members, k) == 0, "ring_install");
  node_set_state(n, states[how >> 4 & 3]);
  if ((how & 0x80) && k > 1)
    handoff_begin(&n->give, &members[1], &n->ring.ft.pred.id, &members[1].id,
                  node_now_ms());
  n->give.hold = (how2 & 8) != 0;
}

static void on_closed(uv_handle_t *h)
{
  (void)h;
}

static void close_any(uv_handle_t *h, void *arg)
{
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, on_closed);
}

/* Runs the loop and answers outbound calls until nothing is left. */
static void settle(void)
{
  for (int round = 0; round < H_ROUNDS_MAX; round++) {
    if (st.nout) {
      answer_one();
      continue;
    }
    if (!uv_loop_alive(&node.d.loop))
      return;
    uv_run(&node.d.loop, UV_RUN_ONCE);
  }
  FUZZ_CHECK(0, "the node never settles");
}

/* The server's shutdown: what handlers still owe is cancelled (parked
 * calls leave their queue), then the node's parts are freed. */
static void node_teardown(void)
{
  struct node *n = &node;
  for (size_t i = 0; i < st.ncalls; i++) {
    struct rpc_srv_call *c = st.calls[i];
    if (c->answered)
      continue;
    FUZZ_CHECK(c->on_cancel, "a call left unanswered, not cancellable");
    c->on_cancel(c, c->cancel_ud);
    c->answered = true;
  }
  FUZZ_CHECK(handoff_parked_count(&n->give) == 0, "parked after cancel");
  settle();
  bool stopped = st.handler_stopped;
  node_stop(n, 0);
  uv_walk(&n->d.loop, close_any, NULL);
  uv_run(&n->d.loop, UV_RUN_DEFAULT);
  FUZZ_CHECK(!stopped, "a request stopped the node");
  handoff_clear(&n->give);
  repair_close(&n->repair);
  chunk_gc_close(&n->chunk_gc);
  pull_close(&n->pull);
  ring_close(&n->ring);
  store_close(n->store);
  FUZZ_CHECK(uv_loop_close(&n->d.loop) == 0, "a handle left open");
  for (size_t i = 0; i < st.ncalls; i++) {
    codec_free(st.calls[i]->req);
    free(st.calls[i]);
  }
}

/* ---- the handlers ---------------------------------------------------------
 */

static const struct {
  const char *name;
  rpc_handler_cb cb;
} handlers[] = {
    {"Read", svc_on_read},
    {"Write", svc_on_write},
    {"Delete", svc_on_delete},
    {"Lookup", svc_on_lookup},
    {"UpdateDHT", svc_on_update_dht},
    {"FindSuccessor", svc_on_find_successor},
    {"GetPredecessor", svc_on_get_predecessor},
    {"Notify", svc_on_notify},
    {"GetSuccessorList", svc_on_get_successor_list},
    {"TransferKeys", svc_on_transfer_keys},
    {"Replicate", svc_on_replicate},
    {"Fetch", svc_on_fetch},
    {"SyncDigest", svc_on_sync_digest},
    {"Ping", svc_on_ping},
    {"Status", svc_on_status},
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  FUZZ_CHECK(chord__v1__node__descriptor.n_methods ==
                 sizeof(handlers) / sizeof(handlers[0]),
             "a Node method without a handler here");
  log_set_level((enum log_level)(LOG_LVL_ERROR + 1)); /* quiet */
  return 0;
}

/* Decodes one call from the input and hands it to its handler. */
static void call_one(uint8_t how2)
{
  const ProtobufCServiceDescriptor *svc = &chord__v1__node__descriptor;
  size_t len;
  unsigned i = in_byte(&st.in) % svc->n_methods;
  const uint8_t *body = in_chunk(&st.in, &len);
  rpc_handler_cb cb = NULL;
  for (size_t k = 0; k < sizeof(handlers) / sizeof(handlers[0]); k++)
    if (strcmp(handlers[k].name, svc->methods[i].name) == 0)
      cb = handlers[k].cb;
  FUZZ_CHECK(cb, "no handler");
  struct rpc_srv_call *c = calloc(1, sizeof(*c));
  FUZZ_CHECK(c, "out of memory");
  c->m = &svc->methods[i];
  c->member = st.member;
  /* No deadline (a forward that fails is reported at once), or one that
   * leaves 15 ms for retries after a pause (forward.c stops retrying
   * with 2 * FORWARD_MARGIN_MS left). */
  c->deadline = how2 & 1 ? rpc_deadline_in(2 * FORWARD_MARGIN_MS + 15)
                         : gpr_inf_future(GPR_CLOCK_MONOTONIC);
  if (codec_decode_bytes(body, len, c->m->input, &c->req)) {
    free(c);
    return;
  }
  st.calls[st.ncalls++] = c;
  cb(c, c->req, &node);
  if (!(how2 & 0x10))
    settle();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  memset(&st, 0, sizeof(st));
  st.in = (struct input){data + 2, size - 2};
  st.member = data[0] & 0x40;
  node_setup(data[0], data[1]);
  for (int i = 0; i < H_CALLS_MAX && st.in.left; i++)
    call_one(data[1]);
  node_teardown();
  return 0;
}
