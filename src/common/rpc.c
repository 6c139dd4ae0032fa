/* SPDX-License-Identifier: MIT */
/* gRPC core wrapper. Server: registered methods with armed request slots,
 * catch-all slots answering UNIMPLEMENTED, replies as one batch. Client:
 * one cached channel per target with registered call handles, unary calls
 * as one batch. Every tag is a struct cq_tag run on the loop thread, but
 * for the reply batches: those complete on the server's own non-polling
 * queue, which the loop reaps itself (see server_reap). */
#include "common/rpc.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>

#include "common/codec.h"
#include "common/err.h"
#include "common/log.h"

#define RPC_DEFAULT_SLOTS 8
#define RPC_CATCHALL_SLOTS 2
#define RPC_ENVELOPE 65536 /* room for names and framing beyond content */
#define RPC_TOKEN_KEY "x-chord-token"
#define RPC_REAP_MS 100 /* bound on reaping a reply that finished late */

/* ---- status codes and time ---------------------------------------------- */

int rpc_status_to_err(grpc_status_code code)
{
  switch (code) {
  case GRPC_STATUS_OK: return 0;
  case GRPC_STATUS_INVALID_ARGUMENT: return CHORD_EINVAL;
  case GRPC_STATUS_NOT_FOUND: return CHORD_ENOTFOUND;
  case GRPC_STATUS_ALREADY_EXISTS: return CHORD_EEXIST;
  case GRPC_STATUS_UNAVAILABLE: return CHORD_EUNAVAIL;
  case GRPC_STATUS_DEADLINE_EXCEEDED: return CHORD_ETIMEDOUT;
  case GRPC_STATUS_RESOURCE_EXHAUSTED: return CHORD_ETOOBIG;
  case GRPC_STATUS_PERMISSION_DENIED:
  case GRPC_STATUS_UNAUTHENTICATED:
  case GRPC_STATUS_FAILED_PRECONDITION: return CHORD_EPERM;
  case GRPC_STATUS_UNIMPLEMENTED: return CHORD_EUNIMPL;
  case GRPC_STATUS_CANCELLED: return CHORD_ECANCELLED;
  case GRPC_STATUS_ABORTED: return CHORD_ELOOP;
  case GRPC_STATUS_DATA_LOSS: return CHORD_EIO;
  default: return CHORD_EINTERNAL;
  }
}

grpc_status_code rpc_err_to_status(int err)
{
  switch (err) {
  case 0: return GRPC_STATUS_OK;
  case CHORD_EINVAL: return GRPC_STATUS_INVALID_ARGUMENT;
  case CHORD_ENOTFOUND: return GRPC_STATUS_NOT_FOUND;
  case CHORD_EEXIST: return GRPC_STATUS_ALREADY_EXISTS;
  case CHORD_EUNAVAIL: return GRPC_STATUS_UNAVAILABLE;
  case CHORD_ETIMEDOUT: return GRPC_STATUS_DEADLINE_EXCEEDED;
  case CHORD_ETOOBIG:
  case CHORD_ENOMEM: return GRPC_STATUS_RESOURCE_EXHAUSTED;
  case CHORD_EPERM: return GRPC_STATUS_FAILED_PRECONDITION;
  case CHORD_EUNIMPL: return GRPC_STATUS_UNIMPLEMENTED;
  case CHORD_ECANCELLED: return GRPC_STATUS_CANCELLED;
  case CHORD_ELOOP: return GRPC_STATUS_ABORTED;
  case CHORD_EIO: return GRPC_STATUS_DATA_LOSS;
  default: return GRPC_STATUS_INTERNAL;
  }
}

const char *rpc_status_name(grpc_status_code code)
{
  static const char *const names[] = {
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
      "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  if ((unsigned)code < sizeof(names) / sizeof(names[0]))
    return names[code];
  return "UNKNOWN";
}

gpr_timespec rpc_deadline_in(int64_t ms)
{
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                      gpr_time_from_millis(ms, GPR_TIMESPAN));
}

int64_t rpc_ms_until(gpr_timespec deadline)
{
  if (gpr_time_cmp(deadline, gpr_inf_future(deadline.clock_type)) == 0)
    return INT64_MAX;
  gpr_timespec d = gpr_convert_clock_type(deadline, GPR_CLOCK_MONOTONIC);
  gpr_timespec left = gpr_time_sub(d, gpr_now(GPR_CLOCK_MONOTONIC));
  return left.tv_sec * 1000 + left.tv_nsec / 1000000;
}

static void library_log(gpr_log_func_args *a)
{
  log_write(LOG_LVL_DEBUG, "grpc %s:%d: %s", a->file, a->line, a->message);
}

void rpc_route_library_logs(void)
{
  gpr_set_log_function(library_log);
  gpr_set_log_verbosity(log_get_level() <= LOG_LVL_DEBUG ? GPR_LOG_SEVERITY_INFO
                                                          : GPR_LOG_SEVERITY_ERROR);
}

/* Method paths are built once per (service, method) and kept for the life
 * of the process: a small append-only table guarded by a mutex, since the
 * sync client may run on any thread. */
struct path_entry {
  const ProtobufCServiceDescriptor *svc;
  unsigned i;
  char *path;
};
static struct path_entry *path_table;
static size_t path_count, path_cap;
static pthread_mutex_t path_lock = PTHREAD_MUTEX_INITIALIZER;

const char *rpc_method_path(const ProtobufCServiceDescriptor *svc, unsigned i)
{
  const char *res = NULL;
  if (i >= svc->n_methods)
    return NULL;
  pthread_mutex_lock(&path_lock);
  for (size_t k = 0; k < path_count; k++) {
    if (path_table[k].svc == svc && path_table[k].i == i) {
      res = path_table[k].path;
      goto done;
    }
  }
  if (path_count == path_cap) {
    size_t ncap = path_cap ? path_cap * 2 : 64;
    struct path_entry *n = realloc(path_table, ncap * sizeof(*n));
    if (!n)
      goto done;
    path_table = n;
    path_cap = ncap;
  }
  size_t len = strlen(svc->name) + strlen(svc->methods[i].name) + 3;
  char *p = malloc(len);
  if (!p)
    goto done;
  snprintf(p, len, "/%s/%s", svc->name, svc->methods[i].name);
  path_table[path_count++] = (struct path_entry){svc, i, p};
  res = p;
done:
  pthread_mutex_unlock(&path_lock);
  return res;
}

static void status_set(struct rpc_status *st, grpc_status_code code,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void status_set(struct rpc_status *st, grpc_status_code code,
                       const char *fmt, ...)
{
  va_list ap;
  st->code = code;
  va_start(ap, fmt);
  vsnprintf(st->message, sizeof(st->message), fmt, ap);
  va_end(ap);
}

static void channel_args_fill(grpc_arg *a, size_t *n, size_t max_message,
                              int reconnect_max_ms)
{
  int max = (int)(max_message + RPC_ENVELOPE);
  size_t k = 0;
  a[k++] = (grpc_arg){GRPC_ARG_INTEGER,
                      (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                      {.integer = max}};
  a[k++] = (grpc_arg){GRPC_ARG_INTEGER,
                      (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
                      {.integer = max}};
  if (reconnect_max_ms > 0) {
    /* Retries are off (no policy is used, and they cost 20-30% per call);
     * reconnects start at 100 ms and are capped so a restarted peer is
     * reachable again within reconnect_max_ms. The minimum doubles as the
     * connect timeout, so it stays at a second. */
    a[k++] = (grpc_arg){GRPC_ARG_INTEGER, (char *)GRPC_ARG_ENABLE_RETRIES,
                        {.integer = 0}};
    a[k++] = (grpc_arg){GRPC_ARG_INTEGER,
                        (char *)GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
                        {.integer = 100}};
    a[k++] = (grpc_arg){GRPC_ARG_INTEGER,
                        (char *)GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
                        {.integer = 1000}};
    a[k++] = (grpc_arg){GRPC_ARG_INTEGER,
                        (char *)GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
                        {.integer = reconnect_max_ms}};
  }
  *n = k;
}

/* ---- server ------------------------------------------------------------- */

struct srv_method {
  struct rpc_server *srv;
  const char *path;
  void *handle;                              /* registered method */
  const ProtobufCMessageDescriptor *input;
  rpc_handler_cb handler;                    /* NULL: UNIMPLEMENTED */
  void *ud;
};

/* One armed request: for a method (m set) or the catch-all (m NULL). */
struct srv_slot {
  struct cq_tag tag;
  struct rpc_server *srv;
  struct srv_method *m;
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array md;
  grpc_byte_buffer *payload;
  grpc_call_details details;
  struct srv_slot *next; /* all slots, for freeing */
};

struct rpc_srv_call {
  struct rpc_server *srv;
  struct srv_method *m; /* NULL for an unknown method */
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array md;
  ProtobufCMessage *req;
  grpc_byte_buffer *send;
  grpc_slice details;
  bool has_details;
  int cancelled; /* RECV_CLOSE_ON_SERVER output */
  bool answered;
  rpc_cancel_cb on_cancel;
  void *cancel_ud;
  struct rpc_srv_call *prev, *next; /* open (unanswered) calls */
};

struct rpc_server {
  struct cq_bridge *bridge;
  grpc_completion_queue *cq;
  grpc_server *server;
  struct srv_method *methods;
  size_t nmethods, methods_cap;
  struct srv_slot *slots;          /* every slot ever made */
  size_t armed;                    /* slots waiting for a call */
  size_t batches;                  /* reply batches in flight */
  struct rpc_srv_call *open;       /* unanswered calls */
  unsigned slots_per_method;
  bool started, stopping, notified;
  bool forced;                     /* open calls answered, rest cancelled */
  bool grace_on;                   /* grace timer initialised */
  uv_timer_t grace;                /* ends the drain; data = this */
  struct cq_tag shutdown_tag;
  /* Server calls are bound to done_cq, a queue no thread polls: a reply
   * batch that completes while the loop sends it (the usual case) costs
   * neither a kick of the bridge thread nor a wake-up of the loop. The
   * loop reaps them after serving each new call and, when none comes,
   * every RPC_REAP_MS (reap_timer). */
  grpc_completion_queue *done_cq;
  uv_timer_t reap_timer;           /* data = this */
  int closing;                     /* handles whose close is pending */
  void (*done)(void *ud);
  void *done_ud;
};

static void slot_on_event(struct cq_tag *tag, bool ok);
static void server_maybe_finish(struct rpc_server *s);
static void server_force(struct rpc_server *s);

struct rpc_server *rpc_server_create(struct cq_bridge *b,
                                     const struct rpc_server_opts *o)
{
  struct rpc_server *s = calloc(1, sizeof(*s));
  grpc_arg args[8];
  size_t nargs;
  if (!s)
    return NULL;
  s->bridge = b;
  s->cq = cq_bridge_cq(b);
  s->slots_per_method = o && o->slots ? o->slots : RPC_DEFAULT_SLOTS;
  channel_args_fill(args, &nargs,
                    o && o->max_message ? o->max_message
                                        : RPC_DEFAULT_MAX_MESSAGE,
                    0);
  /* gRPC binds with SO_REUSEPORT by default, so a second daemon on a port
   * in use would silently share it: refuse instead. */
  args[nargs++] = (grpc_arg){GRPC_ARG_INTEGER, (char *)GRPC_ARG_ALLOW_REUSEPORT,
                             {.integer = 0}};
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
    s->methods[s->nmethods++] = (struct srv_method){
        s, path, h, svc->methods[i].input, handlers ? handlers[i] : NULL, ud};
  }
  return 0;
}

int rpc_server_listen(struct rpc_server *s, const char *addr, int *port)
{
  grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
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
  server_maybe_finish(s);
}

static void on_reap_timer(uv_timer_t *t)
{
  server_reap(t->data);
}

/* Sends the reply batch: the message (when bb) or only a status. */
static int call_send(struct rpc_srv_call *c, grpc_status_code code,
                     const char *msg, grpc_byte_buffer *bb)
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
  ops[n].data.send_status_from_server.trailing_metadata_count = 0;
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
    call_send(c, GRPC_STATUS_INTERNAL, "out of memory", NULL);
    return CHORD_ENOMEM;
  }
  return call_send(c, GRPC_STATUS_OK, NULL, copy);
}

int rpc_srv_reply(struct rpc_srv_call *c, const ProtobufCMessage *resp)
{
  grpc_byte_buffer *bb = codec_encode(resp);
  if (!bb) {
    call_send(c, GRPC_STATUS_INTERNAL, "cannot encode the response", NULL);
    return CHORD_ENOMEM;
  }
  return call_send(c, GRPC_STATUS_OK, NULL, bb);
}

void rpc_srv_reply_error(struct rpc_srv_call *c, grpc_status_code code,
                         const char *fmt, ...)
{
  char msg[RPC_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  call_send(c, code, msg, NULL);
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
  size_t klen = strlen(key);
  for (size_t i = 0; i < c->md.count; i++) {
    grpc_slice k = c->md.metadata[i].key;
    if (GRPC_SLICE_LENGTH(k) != klen ||
        memcmp(GRPC_SLICE_START_PTR(k), key, klen) != 0)
      continue;
    grpc_slice v = c->md.metadata[i].value;
    size_t vlen = GRPC_SLICE_LENGTH(v);
    if (vlen + 1 > len)
      return CHORD_ETOOBIG;
    memcpy(out, GRPC_SLICE_START_PTR(v), vlen);
    out[vlen] = '\0';
    return 0;
  }
  return CHORD_ENOTFOUND;
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
    call_send(c, GRPC_STATUS_UNIMPLEMENTED, unknown, NULL);
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
    server_maybe_finish(s);
    return;
  }
  slot_serve(sl);
  /* The new call is answered or on its way: now free the earlier calls
   * whose reply has completed, off the new request's path. */
  if (s->batches)
    server_reap(s);
}

static void server_destroy(struct rpc_server *s)
{
  grpc_server_destroy(s->server);
  /* Every batch has been reaped, so the queue drains at once. */
  grpc_completion_queue_shutdown(s->done_cq);
  while (grpc_completion_queue_next(s->done_cq,
                                    gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL)
             .type != GRPC_QUEUE_SHUTDOWN)
    ;
  grpc_completion_queue_destroy(s->done_cq);
  while (s->slots) {
    struct srv_slot *next = s->slots->next;
    free(s->slots);
    s->slots = next;
  }
  free(s->methods);
  void (*done)(void *) = s->done;
  void *ud = s->done_ud;
  free(s);
  if (done)
    done(ud);
}

static void on_handle_closed(uv_handle_t *h)
{
  struct rpc_server *s = h->data;
  if (--s->closing == 0)
    server_destroy(s);
}

/* Closes the server's handles; the last close callback destroys it. */
static void server_free(struct rpc_server *s)
{
  if (s->closing)
    return;
  s->closing = 1;
  uv_close((uv_handle_t *)&s->reap_timer, on_handle_closed);
  if (s->grace_on) {
    s->closing++;
    uv_close((uv_handle_t *)&s->grace, on_handle_closed);
  }
}

static void server_maybe_finish(struct rpc_server *s)
{
  if (!s->stopping || s->armed || s->batches || s->open)
    return;
  /* Every slot has come back and every reply has been sent: nothing of
   * ours is left, so close what gRPC still holds (idle connections)
   * instead of waiting for the peers to hang up. */
  if (s->started && !s->forced)
    server_force(s);
  if (!s->notified)
    return;
  server_free(s);
}

/* Answers what handlers still owe (telling each owner first) and cancels
 * every call still in progress. */
static void server_force(struct rpc_server *s)
{
  if (s->forced)
    return;
  s->forced = true;
  if (s->grace_on)
    uv_timer_stop(&s->grace);
  while (s->open) {
    struct rpc_srv_call *c = s->open;
    if (c->on_cancel)
      c->on_cancel(c, c->cancel_ud);
    call_send(c, GRPC_STATUS_UNAVAILABLE, "server shutting down", NULL);
  }
  grpc_server_cancel_all_calls(s->server);
}

static void on_grace_over(uv_timer_t *t)
{
  server_force(t->data);
}

static void shutdown_on_notify(struct cq_tag *tag, bool ok)
{
  struct rpc_server *s =
      (struct rpc_server *)((char *)tag - offsetof(struct rpc_server,
                                                   shutdown_tag));
  (void)ok;
  s->notified = true;
  server_maybe_finish(s);
}

void rpc_server_drain(struct rpc_server *s, uint64_t grace_ms,
                      void (*done)(void *ud), void *ud)
{
  s->done = done;
  s->done_ud = ud;
  s->stopping = true;
  if (!s->started) {
    s->notified = true;
    server_maybe_finish(s);
    return;
  }
  s->shutdown_tag.cb = shutdown_on_notify;
  grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
  if (grace_ms == 0) {
    server_force(s);
    return;
  }
  /* New calls are refused from now on; those under way get grace_ms. Not
   * forced at once even when none is open: a call gRPC has already matched
   * to a slot may still be on its way to the loop, and cancelling it would
   * tell its client CANCELLED instead of the retryable UNAVAILABLE that
   * slot_on_event answers. server_maybe_finish forces the rest once every
   * slot is back and every reply sent. */
  uv_timer_init(cq_bridge_loop(s->bridge), &s->grace);
  s->grace.data = s;
  s->grace_on = true;
  uv_timer_start(&s->grace, on_grace_over, grace_ms, 0);
}

void rpc_server_shutdown(struct rpc_server *s, void (*done)(void *ud),
                         void *ud)
{
  rpc_server_drain(s, 0, done, ud);
}

/* ---- client ------------------------------------------------------------- */

struct reg_method {
  const char *path; /* interned by the caller's static strings */
  void *handle;
};

struct chan {
  char *target;
  grpc_channel *ch;
  struct reg_method *regs;
  size_t nregs, regs_cap;
  struct chan *next;
};

struct out_call {
  struct cq_tag tag;
  struct rpc_client *cli;
  grpc_call *call;
  grpc_byte_buffer *send, *recv;
  grpc_metadata_array init_md, trail_md;
  grpc_metadata token_md;
  grpc_status_code status;
  grpc_slice details;
  const char *error_string;
  const ProtobufCMessageDescriptor *resp_desc;
  rpc_done_cb cb;
  void *ud;
  struct out_call *prev, *next;
};

struct rpc_client {
  grpc_completion_queue *cq;       /* async calls (NULL: sync only) */
  grpc_completion_queue *pluck_cq; /* sync calls */
  pthread_mutex_t lock;            /* channel cache, for sync callers */
  struct chan *chans;
  struct out_call *inflight;
  size_t ninflight;
  size_t max_message;
  int reconnect_max_ms;
  char *token;
  bool stopping;
  void (*done)(void *ud);
  void *done_ud;
};

struct rpc_client *rpc_client_create(struct cq_bridge *b,
                                     const struct rpc_client_opts *o)
{
  struct rpc_client *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  c->cq = b ? cq_bridge_cq(b) : NULL;
  c->max_message =
      o && o->max_message ? o->max_message : RPC_DEFAULT_MAX_MESSAGE;
  c->reconnect_max_ms =
      o && o->reconnect_max_ms > 0 ? o->reconnect_max_ms : 2000;
  if (o && o->token) {
    c->token = strdup(o->token);
    if (!c->token)
      goto fail;
  }
  if (pthread_mutex_init(&c->lock, NULL))
    goto fail;
  return c;
fail:
  free(c->token);
  free(c);
  return NULL;
}

/* Finds or makes the channel to target and the registered handle for
 * method. Called with c->lock held. */
static int chan_get(struct rpc_client *c, const char *target,
                    const char *method, grpc_channel **ch, void **handle)
{
  struct chan *k;
  for (k = c->chans; k; k = k->next)
    if (strcmp(k->target, target) == 0)
      break;
  if (!k) {
    grpc_arg args[8];
    size_t nargs;
    k = calloc(1, sizeof(*k));
    if (!k)
      return CHORD_ENOMEM;
    k->target = strdup(target);
    if (!k->target) {
      free(k);
      return CHORD_ENOMEM;
    }
    channel_args_fill(args, &nargs, c->max_message, c->reconnect_max_ms);
    grpc_channel_args ca = {nargs, args};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    k->ch = grpc_channel_create(target, creds, &ca);
    grpc_channel_credentials_release(creds);
    if (!k->ch) {
      free(k->target);
      free(k);
      return CHORD_EINVAL;
    }
    k->next = c->chans;
    c->chans = k;
  }
  for (size_t i = 0; i < k->nregs; i++) {
    if (k->regs[i].path == method || strcmp(k->regs[i].path, method) == 0) {
      *ch = k->ch;
      *handle = k->regs[i].handle;
      return 0;
    }
  }
  if (k->nregs == k->regs_cap) {
    size_t ncap = k->regs_cap ? k->regs_cap * 2 : 16;
    struct reg_method *n = realloc(k->regs, ncap * sizeof(*n));
    if (!n)
      return CHORD_ENOMEM;
    k->regs = n;
    k->regs_cap = ncap;
  }
  void *h = grpc_channel_register_call(k->ch, method, NULL, NULL);
  if (!h)
    return CHORD_EINVAL;
  k->regs[k->nregs++] = (struct reg_method){method, h};
  *ch = k->ch;
  *handle = h;
  return 0;
}

static void chan_free(struct chan *k)
{
  grpc_channel_destroy(k->ch);
  free(k->regs);
  free(k->target);
  free(k);
}

void rpc_client_forget(struct rpc_client *c, const char *target)
{
  pthread_mutex_lock(&c->lock);
  for (struct chan **pp = &c->chans; *pp; pp = &(*pp)->next) {
    if (strcmp((*pp)->target, target) == 0) {
      struct chan *k = *pp;
      *pp = k->next;
      /* Calls in flight keep their own reference to the channel. */
      chan_free(k);
      break;
    }
  }
  pthread_mutex_unlock(&c->lock);
}

static void out_free(struct out_call *oc)
{
  if (oc->call)
    grpc_call_unref(oc->call);
  if (oc->send)
    grpc_byte_buffer_destroy(oc->send);
  if (oc->recv)
    grpc_byte_buffer_destroy(oc->recv);
  grpc_metadata_array_destroy(&oc->init_md);
  grpc_metadata_array_destroy(&oc->trail_md);
  grpc_slice_unref(oc->details);
  if (oc->error_string)
    gpr_free((void *)oc->error_string);
  free(oc);
}

/* Creates the call and starts its one batch on cq with tag. */
static int out_start(struct rpc_client *c, struct out_call *oc,
                     const struct rpc_req *r, grpc_completion_queue *cq)
{
  grpc_channel *ch;
  void *handle;
  grpc_op ops[6];
  size_t n = 0;
  int rc;

  if (!r->target || !r->method || (!r->msg && !r->raw))
    return CHORD_EINVAL;
  pthread_mutex_lock(&c->lock);
  rc = chan_get(c, r->target, r->method, &ch, &handle);
  if (!rc) {
    oc->call = grpc_channel_create_registered_call(
        ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, handle, r->deadline, NULL);
    if (!oc->call)
      rc = CHORD_EINTERNAL;
  }
  pthread_mutex_unlock(&c->lock);
  if (rc)
    return rc;

  oc->send = r->raw ? grpc_byte_buffer_copy(r->raw) : codec_encode(r->msg);
  if (!oc->send)
    return CHORD_ENOMEM;
  oc->resp_desc = r->resp_desc;
  memset(ops, 0, sizeof(ops));
  ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
  if (c->token) {
    oc->token_md.key = grpc_slice_from_static_string(RPC_TOKEN_KEY);
    oc->token_md.value = grpc_slice_from_static_string(c->token);
    ops[n].data.send_initial_metadata.count = 1;
    ops[n].data.send_initial_metadata.metadata = &oc->token_md;
  }
  if (r->wait_for_ready)
    ops[n].flags = GRPC_INITIAL_METADATA_WAIT_FOR_READY;
  n++;
  ops[n].op = GRPC_OP_SEND_MESSAGE;
  ops[n++].data.send_message.send_message = oc->send;
  ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[n++].data.recv_initial_metadata.recv_initial_metadata = &oc->init_md;
  ops[n].op = GRPC_OP_RECV_MESSAGE;
  ops[n++].data.recv_message.recv_message = &oc->recv;
  ops[n].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[n].data.recv_status_on_client.trailing_metadata = &oc->trail_md;
  ops[n].data.recv_status_on_client.status = &oc->status;
  ops[n].data.recv_status_on_client.status_details = &oc->details;
  ops[n++].data.recv_status_on_client.error_string = &oc->error_string;
  if (grpc_call_start_batch(oc->call, ops, n, &oc->tag, NULL) != GRPC_CALL_OK)
    return CHORD_EINTERNAL;
  return 0;
}

static struct out_call *out_new(struct rpc_client *c)
{
  struct out_call *oc = calloc(1, sizeof(*oc));
  if (!oc)
    return NULL;
  oc->cli = c;
  oc->details = grpc_empty_slice();
  grpc_metadata_array_init(&oc->init_md);
  grpc_metadata_array_init(&oc->trail_md);
  return oc;
}

/* Turns a finished call into a result (the caller frees what it keeps). */
static void out_result(struct out_call *oc, struct rpc_result *res)
{
  memset(res, 0, sizeof(*res));
  res->status.code = oc->status;
  size_t dl = GRPC_SLICE_LENGTH(oc->details);
  if (dl >= sizeof(res->status.message))
    dl = sizeof(res->status.message) - 1;
  memcpy(res->status.message, GRPC_SLICE_START_PTR(oc->details), dl);
  res->status.message[dl] = '\0';
  if (oc->status != GRPC_STATUS_OK)
    return;
  if (!oc->recv) {
    status_set(&res->status, GRPC_STATUS_INTERNAL,
               "the peer answered OK without a message");
    return;
  }
  if (oc->resp_desc &&
      codec_decode(oc->recv, oc->resp_desc, &res->resp) != 0) {
    status_set(&res->status, GRPC_STATUS_INTERNAL,
               "the peer's response is not a valid %s",
               oc->resp_desc->name);
    return;
  }
  res->raw = oc->recv;
  oc->recv = NULL;
}

static void client_maybe_finish(struct rpc_client *c)
{
  if (!c->stopping || c->ninflight)
    return;
  while (c->chans) {
    struct chan *next = c->chans->next;
    chan_free(c->chans);
    c->chans = next;
  }
  if (c->pluck_cq) {
    grpc_completion_queue_shutdown(c->pluck_cq);
    grpc_completion_queue_destroy(c->pluck_cq);
  }
  pthread_mutex_destroy(&c->lock);
  void (*done)(void *) = c->done;
  void *ud = c->done_ud;
  free(c->token);
  free(c);
  if (done)
    done(ud);
}

static void out_on_done(struct cq_tag *tag, bool ok)
{
  struct out_call *oc = (struct out_call *)tag;
  struct rpc_client *c = oc->cli;
  struct rpc_result res;
  (void)ok; /* RECV_STATUS_ON_CLIENT reports success; the status says */
  if (oc->prev)
    oc->prev->next = oc->next;
  else
    c->inflight = oc->next;
  if (oc->next)
    oc->next->prev = oc->prev;
  out_result(oc, &res);
  /* Still counted in flight while its callback runs, so a callback that
   * shuts the client down does not free it under us. */
  oc->cb(&res, oc->ud);
  c->ninflight--;
  rpc_result_clear(&res);
  out_free(oc);
  client_maybe_finish(c);
}

int rpc_client_call(struct rpc_client *c, const struct rpc_req *r,
                    rpc_done_cb cb, void *ud)
{
  if (c->stopping)
    return CHORD_ECANCELLED;
  if (!c->cq)
    return CHORD_EINVAL;
  struct out_call *oc = out_new(c);
  if (!oc)
    return CHORD_ENOMEM;
  oc->tag.cb = out_on_done;
  oc->cb = cb;
  oc->ud = ud;
  int rc = out_start(c, oc, r, c->cq);
  if (rc) {
    if (oc->call)
      grpc_call_cancel(oc->call, NULL);
    out_free(oc);
    return rc;
  }
  oc->next = c->inflight;
  if (c->inflight)
    c->inflight->prev = oc;
  c->inflight = oc;
  c->ninflight++;
  return 0;
}

int rpc_client_call_sync(struct rpc_client *c, const struct rpc_req *r,
                         struct rpc_result *out)
{
  memset(out, 0, sizeof(*out));
  pthread_mutex_lock(&c->lock);
  if (!c->pluck_cq)
    c->pluck_cq = grpc_completion_queue_create_for_pluck(NULL);
  grpc_completion_queue *cq = c->pluck_cq;
  pthread_mutex_unlock(&c->lock);
  struct out_call *oc = out_new(c);
  if (!cq || !oc) {
    free(oc);
    status_set(&out->status, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return CHORD_ENOMEM;
  }
  int rc = out_start(c, oc, r, cq);
  if (rc) {
    if (oc->call)
      grpc_call_cancel(oc->call, NULL);
    out_free(oc);
    status_set(&out->status, rpc_err_to_status(rc), "cannot start a call to %s: %s",
               r->target ? r->target : "(null)", chord_strerror(rc));
    return rc;
  }
  grpc_event ev = grpc_completion_queue_pluck(
      cq, &oc->tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  (void)ev; /* the call has a deadline, so the tag always comes back */
  out_result(oc, out);
  out_free(oc);
  return rpc_status_to_err(out->status.code);
}

void rpc_result_clear(struct rpc_result *out)
{
  codec_free(out->resp);
  out->resp = NULL;
  if (out->raw)
    grpc_byte_buffer_destroy(out->raw);
  out->raw = NULL;
}

size_t rpc_client_inflight(const struct rpc_client *c)
{
  return c->ninflight;
}

void rpc_client_shutdown(struct rpc_client *c, void (*done)(void *ud),
                         void *ud)
{
  c->done = done;
  c->done_ud = ud;
  c->stopping = true;
  for (struct out_call *oc = c->inflight; oc; oc = oc->next)
    grpc_call_cancel(oc->call, NULL);
  client_maybe_finish(c);
}
