/* SPDX-License-Identifier: MIT */
/* The server side of the rpc layer: registered methods with armed request
 * slots, catch-all slots answering UNIMPLEMENTED, replies as one batch that
 * the loop reaps from a non-polling queue (see server_reap). */
#include "common/rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>

#include "common/auth.h"
#include "common/codec.h"
#include "common/err.h"
#include "common/log.h"
#include "common/rpc_internal.h"
#include "common/rpc_server_internal.h"

#define RPC_DEFAULT_SLOTS 8
#define RPC_CATCHALL_SLOTS 2
#define RPC_REAP_MS 100        /* bound on reaping a reply that finished late */
#define RPC_MAX_STREAMS 1024   /* concurrent calls per connection */
#define RPC_HANDSHAKE_MS 10000 /* to finish the HTTP/2 (and TLS) handshake */

static void slot_on_event(struct cq_tag *tag, bool ok);

struct rpc_server *rpc_server_create(struct cq_bridge *b,
                                     const struct rpc_server_opts *o)
{
  struct rpc_server *s = calloc(1, sizeof(*s));
  grpc_arg args[RPC__MAX_ARGS];
  size_t nargs;
  if (!s)
    return NULL;
  s->bridge = b;
  s->auth = o ? o->auth : NULL;
  s->cq = cq_bridge_cq(b);
  s->slots_per_method = o && o->slots ? o->slots : RPC_DEFAULT_SLOTS;
  rpc__channel_args_fill(
      args, &nargs,
      o && o->max_message ? o->max_message : RPC_DEFAULT_MAX_MESSAGE, 0);
  /* gRPC binds with SO_REUSEPORT by default, so a second daemon on a port
   * in use would silently share it: refuse instead. */
  args[nargs++] = (grpc_arg){
      GRPC_ARG_INTEGER, (char *)GRPC_ARG_ALLOW_REUSEPORT, {.integer = 0}};
  /* Bounds on what one peer holds: calls at once on one connection (a
   * node's forwards to a neighbour share one), and how long a connection
   * may sit without finishing its handshake (a descriptor each). */
  args[nargs++] = (grpc_arg){GRPC_ARG_INTEGER,
                             (char *)GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             {.integer = RPC_MAX_STREAMS}};
  args[nargs++] = (grpc_arg){GRPC_ARG_INTEGER,
                             (char *)GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             {.integer = RPC_HANDSHAKE_MS}};
  grpc_channel_args ca = {nargs, args};
  s->server = grpc_server_create(&ca, NULL);
  if (!s->server) {
    free(s);
    return NULL;
  }
  grpc_completion_queue_attributes attr = {
      GRPC_CQ_CURRENT_VERSION, GRPC_CQ_NEXT, GRPC_CQ_NON_POLLING, NULL};
  s->done_cq = grpc_completion_queue_create(
      grpc_completion_queue_factory_lookup(&attr), &attr, NULL);
  if (!s->done_cq) {
    grpc_server_destroy(s->server);
    free(s);
    return NULL;
  }
  grpc_server_register_completion_queue(s->server, s->cq, NULL);
  uv_loop_t *loop = cq_bridge_loop(b);
  uv_timer_init(loop, &s->reap_timer);
  s->reap_timer.data = s;
  return s;
}

int rpc_server_add_service(struct rpc_server *s,
                           const ProtobufCServiceDescriptor *svc,
                           const rpc_handler_cb *handlers, void *ud)
{
  if (s->started)
    return CHORD_EINVAL;
  if (s->nmethods + svc->n_methods > s->methods_cap) {
    /* Slots point into the array, so it must not move once armed; it is
     * only grown before start. */
    size_t ncap = s->nmethods + svc->n_methods + 16;
    struct srv_method *n = realloc(s->methods, ncap * sizeof(*n));
    if (!n)
      return CHORD_ENOMEM;
    s->methods = n;
    s->methods_cap = ncap;
  }
  for (unsigned i = 0; i < svc->n_methods; i++) {
    const char *path = rpc_method_path(svc, i);
    if (!path)
      return CHORD_ENOMEM;
    void *h = grpc_server_register_method(
        s->server, path, NULL, GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
    if (!h)
      return CHORD_EINVAL;
    struct srv_method *m = &s->methods[s->nmethods++];
    memset(m, 0, sizeof(*m));
    m->srv = s;
    m->path = path;
    m->handle = h;
    m->input = svc->methods[i].input;
    m->handler = handlers ? handlers[i] : NULL;
    m->ud = ud;
    m->need = AUTH_RING;
    metrics_hist_init(&m->stats.seconds, metrics_seconds_bounds,
                      metrics_seconds_nbounds);
  }
  return 0;
}

void rpc_server_guard(struct rpc_server *s,
                      const ProtobufCServiceDescriptor *svc,
                      const unsigned char *levels)
{
  for (unsigned i = 0; i < svc->n_methods; i++) {
    const char *path = rpc_method_path(svc, i);
    for (size_t k = 0; path && k < s->nmethods; k++)
      if (s->methods[k].path == path)
        s->methods[k].need = (enum auth_level)levels[i];
  }
}

int rpc_server_listen(struct rpc_server *s, const char *addr, int *port)
{
  grpc_server_credentials *creds =
      s->auth ? auth_server_creds(s->auth)
              : grpc_insecure_server_credentials_create();
  if (!creds)
    return CHORD_EINVAL;
  int p = grpc_server_add_http2_port(s->server, addr, creds);
  grpc_server_credentials_release(creds);
  if (p <= 0)
    return CHORD_EINVAL;
  if (port)
    *port = p;
  return 0;
}

static int slot_arm(struct srv_slot *sl)
{
  struct rpc_server *s = sl->srv;
  grpc_call_error e;
  grpc_metadata_array_init(&sl->md);
  sl->call = NULL;
  sl->payload = NULL;
  if (sl->m) {
    e = grpc_server_request_registered_call(
        s->server, sl->m->handle, &sl->call, &sl->deadline, &sl->md,
        &sl->payload, s->done_cq, s->cq, &sl->tag);
  } else {
    grpc_call_details_init(&sl->details);
    e = grpc_server_request_call(s->server, &sl->call, &sl->details, &sl->md,
                                 s->done_cq, s->cq, &sl->tag);
  }
  if (e != GRPC_CALL_OK) {
    grpc_metadata_array_destroy(&sl->md);
    if (!sl->m)
      grpc_call_details_destroy(&sl->details);
    return CHORD_EINTERNAL;
  }
  s->armed++;
  return 0;
}

static int slot_add(struct rpc_server *s, struct srv_method *m)
{
  struct srv_slot *sl = calloc(1, sizeof(*sl));
  if (!sl)
    return CHORD_ENOMEM;
  sl->tag.cb = slot_on_event;
  sl->srv = s;
  sl->m = m;
  sl->next = s->slots;
  s->slots = sl;
  return slot_arm(sl);
}

int rpc_server_start(struct rpc_server *s)
{
  int rc;
  grpc_server_start(s->server);
  s->started = true;
  for (size_t i = 0; i < s->nmethods; i++) {
    for (unsigned k = 0; k < s->slots_per_method; k++) {
      rc = slot_add(s, &s->methods[i]);
      if (rc)
        return rc;
    }
  }
  for (unsigned k = 0; k < RPC_CATCHALL_SLOTS; k++) {
    rc = slot_add(s, NULL);
    if (rc)
      return rc;
  }
  return 0;
}

static void call_free(struct rpc_srv_call *c)
{
  codec_free(c->req);
  if (c->send)
    grpc_byte_buffer_destroy(c->send);
  if (c->has_details)
    grpc_slice_unref(c->details);
  if (c->has_trailer)
    grpc_slice_unref(c->trailer.value);
  grpc_metadata_array_destroy(&c->md);
  if (c->call)
    grpc_call_unref(c->call);
  free(c);
}

static void call_unlink(struct rpc_srv_call *c)
{
  struct rpc_server *s = c->srv;
  if (c->prev)
    c->prev->next = c->next;
  else if (s->open == c)
    s->open = c->next;
  if (c->next)
    c->next->prev = c->prev;
  c->prev = c->next = NULL;
}

/* Frees the calls whose reply batch has completed (a failed one means the
 * client went away: nothing to do either way). May free the server when it
 * is stopping, so it is the last thing its callers do. */
static void server_reap(struct rpc_server *s)
{
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(
        s->done_cq, gpr_inf_past(GPR_CLOCK_MONOTONIC), NULL);
    if (ev.type != GRPC_OP_COMPLETE)
      break;
    s->batches--;
    call_free(ev.tag);
  }
  if (!s->batches)
    uv_timer_stop(&s->reap_timer);
  rpc__srv_maybe_finish(s);
}

static void on_reap_timer(uv_timer_t *t)
{
  server_reap(t->data);
}

/* Sends the reply batch: the message (when bb) or only a status. A non-OK
 * status carries the RPC_ERROR_KEY trailer with detail (NULL for none),
 * so that the client can tell it from one gRPC made up. */
int rpc__srv_call_send(struct rpc_srv_call *c, grpc_status_code code,
                       const char *msg, const char *detail,
                       grpc_byte_buffer *bb)
{
  grpc_op ops[4];
  size_t n = 0;
  if (c->answered) {
    /* A second answer would start a second batch and free the call under
     * the first: refuse it. */
    LOG_ERROR("%s answered twice; second answer dropped", rpc_srv_method(c));
    if (bb)
      grpc_byte_buffer_destroy(bb);
    return CHORD_EINVAL;
  }
  memset(ops, 0, sizeof(ops));
  c->answered = true;
  call_unlink(c);
  rpc__srv_stats_answered(c, code);
  c->send = bb;
  if (msg) {
    c->details = grpc_slice_from_copied_string(msg);
    c->has_details = true;
  }
  ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[n++].data.send_initial_metadata.count = 0;
  if (bb) {
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = bb;
  }
  ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  if (code != GRPC_STATUS_OK) {
    char value[RPC_DETAIL_MAX];
    rpc__error_value(detail, value, sizeof(value));
    c->trailer.key = grpc_slice_from_static_string(RPC_ERROR_KEY);
    c->trailer.value = grpc_slice_from_copied_string(value);
    c->has_trailer = true;
    ops[n].data.send_status_from_server.trailing_metadata_count = 1;
    ops[n].data.send_status_from_server.trailing_metadata = &c->trailer;
  }
  ops[n].data.send_status_from_server.status = code;
  ops[n++].data.send_status_from_server.status_details =
      c->has_details ? &c->details : NULL;
  ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  ops[n++].data.recv_close_on_server.cancelled = &c->cancelled;
  /* Completes on done_cq (the call is bound to it): see server_reap. */
  grpc_call_error e = grpc_call_start_batch(c->call, ops, n, c, NULL);
  if (e != GRPC_CALL_OK) {
    call_free(c);
    return CHORD_EINTERNAL;
  }
  struct rpc_server *s = c->srv;
  if (s->batches++ == 0)
    uv_timer_start(&s->reap_timer, on_reap_timer, RPC_REAP_MS, RPC_REAP_MS);
  return 0;
}

int rpc_srv_reply_raw(struct rpc_srv_call *c, grpc_byte_buffer *bb)
{
  grpc_byte_buffer *copy = grpc_byte_buffer_copy(bb);
  if (!copy) {
    rpc__srv_call_send(c, GRPC_STATUS_INTERNAL, "out of memory", NULL, NULL);
    return CHORD_ENOMEM;
  }
  return rpc__srv_call_send(c, GRPC_STATUS_OK, NULL, NULL, copy);
}

int rpc_srv_reply(struct rpc_srv_call *c, const ProtobufCMessage *resp)
{
  grpc_byte_buffer *bb = codec_encode(resp);
  if (!bb) {
    rpc__srv_call_send(c, GRPC_STATUS_INTERNAL, "cannot encode the response",
                       NULL, NULL);
    return CHORD_ENOMEM;
  }
  return rpc__srv_call_send(c, GRPC_STATUS_OK, NULL, NULL, bb);
}

/* Answers with code (not OK), a printf-style message for people, and
 * detail for programs (an RPC_DETAIL_* string, or NULL for none): the
 * status goes out with the RPC_ERROR_KEY trailer. The call is invalid
 * afterwards. Loop thread only. */
void rpc_srv_reply_error_detail(struct rpc_srv_call *c, grpc_status_code code,
                                const char *detail, const char *fmt, ...)
{
  char msg[RPC_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  rpc__srv_call_send(c, code, msg, detail, NULL);
}

/* As rpc_srv_reply_error_detail with no detail. */
void rpc_srv_reply_error(struct rpc_srv_call *c, grpc_status_code code,
                         const char *fmt, ...)
{
  char msg[RPC_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  rpc__srv_call_send(c, code, msg, NULL, NULL);
}

uint64_t rpc_server_served(const struct rpc_server *s)
{
  return s ? s->served : 0;
}

gpr_timespec rpc_srv_deadline(const struct rpc_srv_call *c)
{
  return c->deadline;
}

const char *rpc_srv_method(const struct rpc_srv_call *c)
{
  return c->m ? c->m->path : "";
}

int rpc_srv_metadata(const struct rpc_srv_call *c, const char *key, char *out,
                     size_t len)
{
  return rpc__metadata_get(&c->md, key, out, len);
}

bool rpc_srv_member(const struct rpc_srv_call *c)
{
  return c->member;
}

/* Checks the caller's token against what the method needs; answers and
 * returns false when it falls short. */
static bool call_admit(struct rpc_server *s, struct rpc_srv_call *c)
{
  char token[AUTH_TOKEN_MAX + 1];
  const char *t = NULL;
  size_t len = 0;
  if (!s->auth) {
    c->member = true;
    return true;
  }
  int rc = rpc__metadata_get(&c->md, AUTH_TOKEN_KEY, token, sizeof(token));
  if (rc == 0) {
    t = token;
    len = strlen(token);
  } else if (rc == CHORD_ETOOBIG) {
    t = ""; /* too long to be right: a wrong token */
  }
  grpc_status_code code = auth_check(s->auth, c->m->need, t, len, &c->member);
  if (code == GRPC_STATUS_OK)
    return true;
  rpc_srv_reply_error(c, code,
                      code == GRPC_STATUS_UNAUTHENTICATED
                          ? "%s needs a token (x-chord-token metadata)"
                          : "%s: the token is not accepted here",
                      c->m->path);
  return false;
}

void rpc_srv_on_cancel(struct rpc_srv_call *c, rpc_cancel_cb cb, void *ud)
{
  c->on_cancel = cb;
  c->cancel_ud = ud;
}

/* A slot's call has arrived: re-arms the slot and hands the call to its
 * handler (or answers it). */
static void slot_serve(struct srv_slot *sl)
{
  struct rpc_server *s = sl->srv;
  struct rpc_srv_call *c = calloc(1, sizeof(*c));
  if (!c) {
    /* Cannot even answer: cancel the call so the client is not stuck. */
    grpc_call_cancel_with_status(sl->call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                                 "out of memory", NULL);
    grpc_call_unref(sl->call);
    grpc_metadata_array_destroy(&sl->md);
    if (sl->payload)
      grpc_byte_buffer_destroy(sl->payload);
    if (!sl->m)
      grpc_call_details_destroy(&sl->details);
    goto rearm;
  }
  s->served++;
  metrics_inc(&s->in_flight, 1);
  c->start_ns = uv_hrtime();
  c->srv = s;
  c->m = sl->m;
  c->call = sl->call;
  c->deadline = sl->m ? sl->deadline : sl->details.deadline;
  c->md = sl->md; /* moves the array; the slot re-inits its own */
  c->next = s->open;
  if (s->open)
    s->open->prev = c;
  s->open = c;
  grpc_byte_buffer *payload = sl->payload;
  char unknown[RPC_MESSAGE_MAX] = "";
  if (!sl->m) {
    char *method = grpc_slice_to_c_string(sl->details.method);
    snprintf(unknown, sizeof(unknown), "unknown method %s", method);
    gpr_free(method);
    grpc_call_details_destroy(&sl->details);
  }

rearm:
  if (!s->stopping)
    slot_arm(sl);
  if (!c)
    return;
  if (!c->m) {
    rpc__srv_call_send(c, GRPC_STATUS_UNIMPLEMENTED, unknown, NULL, NULL);
    return;
  }
  if (!call_admit(s, c)) {
    if (payload)
      grpc_byte_buffer_destroy(payload);
    return;
  }
  bool had_payload = payload != NULL;
  int rc = codec_decode(payload, c->m->input, &c->req);
  if (payload)
    grpc_byte_buffer_destroy(payload);
  if (rc) {
    rpc_srv_reply_error(c, GRPC_STATUS_INVALID_ARGUMENT,
                        had_payload ? "request is not a valid %s message"
                                    : "request carries no %s message",
                        c->m->input->name);
    return;
  }
  if (s->stopping) {
    rpc_srv_reply_error(c, GRPC_STATUS_UNAVAILABLE, "server shutting down");
    return;
  }
  if (!c->m->handler) {
    rpc_srv_reply_error(c, GRPC_STATUS_UNIMPLEMENTED,
                        "%s is not implemented by this server", c->m->path);
    return;
  }
  c->m->handler(c, c->req, c->m->ud);
}

static void slot_on_event(struct cq_tag *tag, bool ok)
{
  struct srv_slot *sl = (struct srv_slot *)tag;
  struct rpc_server *s = sl->srv;
  s->armed--;
  if (!ok) {
    /* The server is shutting down: the slot is not re-armed. */
    grpc_metadata_array_destroy(&sl->md);
    if (!sl->m)
      grpc_call_details_destroy(&sl->details);
    rpc__srv_maybe_finish(s);
    return;
  }
  slot_serve(sl);
  /* The new call is answered or on its way: now free the earlier calls
   * whose reply has completed, off the new request's path. */
  if (s->batches)
    server_reap(s);
}
