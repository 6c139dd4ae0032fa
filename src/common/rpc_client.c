/* SPDX-License-Identifier: MIT */
/* The client side of the rpc layer: one cached channel per target with
 * registered call handles, and unary calls as one batch, either async
 * (completing on the loop through the cq_bridge) or sync (plucked). */
#include "common/rpc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>

#include "common/auth.h"
#include "common/codec.h"
#include "common/err.h"
#include "common/rpc_internal.h"

struct reg_method {
  const char *path; /* interned by the caller's static strings */
  void *handle;
};

struct chan {
  char *target;
  grpc_channel *ch;
  struct reg_method *regs;
  size_t nregs, regs_cap;
  unsigned calls; /* started on it and not yet freed */
  bool retired;   /* forgotten: freed with its last call */
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
  struct chan *chan; /* the channel the call runs on (counted in calls) */
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
  const char *token;               /* the auth's cluster token, or NULL */
  grpc_channel_credentials *creds; /* every channel's */
  const char *server_name;         /* TLS name override, or NULL */
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
  const struct auth *a = o ? o->auth : NULL;
  c->token = a ? a->token : NULL;
  c->server_name = a ? a->server_name : NULL;
  c->creds = a ? auth_channel_creds(a) : grpc_insecure_credentials_create();
  if (!c->creds)
    goto fail;
  if (pthread_mutex_init(&c->lock, NULL))
    goto fail;
  return c;
fail:
  if (c->creds)
    grpc_channel_credentials_release(c->creds);
  free(c);
  return NULL;
}

/* Finds or makes the channel to target and the registered handle for
 * method. Called with c->lock held. */
static int chan_get(struct rpc_client *c, const char *target,
                    const char *method, struct chan **kout, void **handle)
{
  struct chan *k;
  for (k = c->chans; k; k = k->next)
    if (strcmp(k->target, target) == 0)
      break;
  if (!k) {
    grpc_arg args[RPC__MAX_ARGS];
    size_t nargs;
    k = calloc(1, sizeof(*k));
    if (!k)
      return CHORD_ENOMEM;
    k->target = strdup(target);
    if (!k->target) {
      free(k);
      return CHORD_ENOMEM;
    }
    rpc__channel_args_fill(args, &nargs, c->max_message, c->reconnect_max_ms);
    if (c->server_name)
      args[nargs++] = (grpc_arg){GRPC_ARG_STRING,
                                 (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG,
                                 {.string = (char *)c->server_name}};
    grpc_channel_args ca = {nargs, args};
    k->ch = grpc_channel_create(target, c->creds, &ca);
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
      *kout = k;
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
  *kout = k;
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
      /* Destroying a channel cancels the calls on it ("Channel
       * Destroyed"): one with calls under way goes with its last. */
      if (k->calls)
        k->retired = true;
      else
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
  if (oc->chan) {
    struct rpc_client *c = oc->cli;
    pthread_mutex_lock(&c->lock);
    if (--oc->chan->calls == 0 && oc->chan->retired)
      chan_free(oc->chan);
    pthread_mutex_unlock(&c->lock);
  }
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
  struct chan *k;
  void *handle;
  grpc_op ops[6];
  size_t n = 0;
  int rc;

  if (!r->target || !r->method || (!r->msg && !r->raw))
    return CHORD_EINVAL;
  pthread_mutex_lock(&c->lock);
  rc = chan_get(c, r->target, r->method, &k, &handle);
  if (!rc) {
    oc->call = grpc_channel_create_registered_call(
        k->ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, handle, r->deadline, NULL);
    if (!oc->call)
      rc = CHORD_EINTERNAL;
  }
  if (!rc) {
    k->calls++;
    oc->chan = k;
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
    oc->token_md.key = grpc_slice_from_static_string(AUTH_TOKEN_KEY);
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

/* Fills st->remote and st->detail from the trailing metadata of a failed
 * call: a chord server marks every error it sends with RPC_ERROR_KEY, so
 * its absence means gRPC made the status up. The metadata's slices belong
 * to the call, so this runs before out_free. */
static void out_error_origin(const struct out_call *oc, struct rpc_status *st)
{
  char v[RPC_DETAIL_MAX];
  int rc = rpc__metadata_get(&oc->trail_md, RPC_ERROR_KEY, v, sizeof(v));
  st->remote = rc != CHORD_ENOTFOUND;
  /* A value too long to be one of ours counts as no detail. */
  if (rc == 0 && strcmp(v, RPC_ERROR_NONE) != 0)
    memcpy(st->detail, v, sizeof(v));
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
  if (oc->status != GRPC_STATUS_OK) {
    out_error_origin(oc, &res->status);
    return;
  }
  /* Only a server sends OK; a broken response below turns it into a
   * status made up here (rpc__status_set clears remote). */
  res->status.remote = true;
  if (!oc->recv) {
    rpc__status_set(&res->status, GRPC_STATUS_INTERNAL,
                    "the peer answered OK without a message");
    return;
  }
  if (oc->resp_desc && codec_decode(oc->recv, oc->resp_desc, &res->resp) != 0) {
    rpc__status_set(&res->status, GRPC_STATUS_INTERNAL,
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
  grpc_channel_credentials_release(c->creds);
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
  pthread_mutex_lock(&c->lock);
  if (!c->pluck_cq)
    c->pluck_cq = grpc_completion_queue_create_for_pluck(NULL);
  grpc_completion_queue *cq = c->pluck_cq;
  pthread_mutex_unlock(&c->lock);
  if (!cq) {
    memset(out, 0, sizeof(*out));
    rpc__status_set(&out->status, GRPC_STATUS_RESOURCE_EXHAUSTED,
                    "out of memory");
    return CHORD_ENOMEM;
  }
  return rpc_client_call_sync_on(c, cq, r, out);
}

int rpc_client_call_sync_on(struct rpc_client *c, grpc_completion_queue *cq,
                            const struct rpc_req *r, struct rpc_result *out)
{
  memset(out, 0, sizeof(*out));
  struct out_call *oc = out_new(c);
  if (!oc) {
    rpc__status_set(&out->status, GRPC_STATUS_RESOURCE_EXHAUSTED,
                    "out of memory");
    return CHORD_ENOMEM;
  }
  int rc = out_start(c, oc, r, cq);
  if (rc) {
    if (oc->call)
      grpc_call_cancel(oc->call, NULL);
    out_free(oc);
    rpc__status_set(&out->status, rpc_err_to_status(rc),
                    "cannot start a call to %s: %s",
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

void rpc_client_shutdown(struct rpc_client *c, void (*done)(void *ud), void *ud)
{
  c->done = done;
  c->done_ud = ud;
  c->stopping = true;
  for (struct out_call *oc = c->inflight; oc; oc = oc->next)
    grpc_call_cancel(oc->call, NULL);
  client_maybe_finish(c);
}
