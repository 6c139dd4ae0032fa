/* SPDX-License-Identifier: MIT */
/* Forwarding: an outbound call per inbound one, its answer relayed as is.
 * An answer the next node sent is passed on with its code and detail. A
 * next hop that cannot be reached, or stays silent past the per-hop
 * timeout, is routed around (FORWARD_RETRIES times, within the caller's
 * deadline); when no other way exists the caller gets UNAVAILABLE
 * "unreachable". */
#include "node/forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

struct fwd {
  struct rpc_srv_call *in; /* NULL once the server answered it itself */
  struct rpc_client *c;
  struct chord_peer to; /* the hop being tried */
  struct forward_opts o;
  struct route_req rq; /* for a reroute */
  uint8_t *copy;       /* the message to send (shallow copy), or NULL */
  const ProtobufCMessage *msg;
  const ProtobufCMessage *orig; /* the request as it came (lives as in) */
  const ProtobufCFieldDescriptor *direct_field;
  uint64_t size_ms;  /* forward_size_ms of the message */
  unsigned attempts; /* hops tried */
  uv_timer_t pause;  /* before a retry after a failure further on */
  bool has_timer;
};

static void fwd_closed(uv_handle_t *h)
{
  struct fwd *f = h->data;
  free(f->copy);
  free(f);
}

static void fwd_free(struct fwd *f)
{
  if (f->has_timer) {
    uv_close((uv_handle_t *)&f->pause, fwd_closed);
    return;
  }
  free(f->copy);
  free(f);
}

static void fwd_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct fwd *f = ud;
  (void)call;
  f->in = NULL;
}

/* Half the caller's time left (less FORWARD_MARGIN_MS), so that one
 * failure leaves time to try another way and to answer, and at most
 * hop_ms (cap_ms when the caller set none). Each hop further on thus
 * waits less than the one before it, and a node behind a dead one
 * answers before its caller gives up on it. */
int64_t forward_budget_ms(gpr_timespec in_deadline, uint64_t hop_ms,
                          uint64_t cap_ms)
{
  int64_t in = rpc_ms_until(in_deadline);
  int64_t ms = (int64_t)hop_ms;
  if (in == INT64_MAX) {
    if ((int64_t)cap_ms < ms)
      ms = (int64_t)cap_ms;
  } else if ((in - FORWARD_MARGIN_MS) / 2 < ms) {
    ms = (in - FORWARD_MARGIN_MS) / 2;
  }
  return ms < 1 ? 1 : ms;
}

uint64_t forward_size_ms(uint64_t len)
{
  return (len >> 20) * 1000;
}

/* A change (write, delete) is sent again only when it never left
 * (rpc_status_unsent, which is quick to find), so there is no second try
 * to keep time for: it may use all the caller's time but the margin, not
 * half, up to its hop's budget. A big write on a loaded ring needs it. */
static gpr_timespec forward_deadline(const struct fwd *f)
{
  gpr_timespec in = rpc_srv_deadline(f->in);
  uint64_t hop = f->o.hop_ms + f->size_ms, cap = f->o.cap_ms + f->size_ms;
  int64_t ms = forward_budget_ms(in, hop, cap), left = rpc_ms_until(in);
  if (f->rq.mutating && left != INT64_MAX) {
    int64_t whole = left - FORWARD_MARGIN_MS;
    if (whole > (int64_t)hop)
      whole = (int64_t)hop;
    if (whole > ms)
      ms = whole;
  }
  return rpc_deadline_in(ms);
}

static void fwd_done(struct rpc_result *r, void *ud);

/* Starts the call to f->to. 0, or the error that stopped it. */
static int fwd_start(struct fwd *f)
{
  struct rpc_req r = {.target = f->to.addr,
                      .method = rpc_srv_method(f->in),
                      .msg = f->msg,
                      .deadline = forward_deadline(f)};
  f->attempts++;
  return rpc_client_call(f->c, &r, fwd_done, f);
}

/* Whether the failure was the next hop's: unreachable (gRPC's own
 * UNAVAILABLE), or silent past its deadline with ours still ahead. (A
 * loop further on can spend that deadline too; the hop is then suspected
 * wrongly, and cleared when maintenance hears from it or the mark ages.) */
static bool hop_failed(const struct fwd *f, const struct rpc_status *st)
{
  if (st->remote)
    return false;
  /* UNKNOWN "Channel Destroyed": the peer's channel was dropped (it was
   * found dead) while this call was on it. */
  if (st->code == GRPC_STATUS_UNAVAILABLE || st->code == GRPC_STATUS_UNKNOWN)
    return true;
  return st->code == GRPC_STATUS_DEADLINE_EXCEEDED &&
         rpc_ms_until(rpc_srv_deadline(f->in)) > FORWARD_MARGIN_MS;
}

/* Whether a node further on failed: the next hop answered that it could
 * not reach its own next hop, or ran out of time waiting for it. */
static bool path_failed(const struct rpc_status *st)
{
  if (!st->remote)
    return false;
  return st->code == GRPC_STATUS_DEADLINE_EXCEEDED ||
         (st->code == GRPC_STATUS_UNAVAILABLE &&
          strcmp(st->detail, RPC_DETAIL_UNREACHABLE) == 0) ||
         strcmp(st->detail, RPC_DETAIL_HOP_LIMIT) == 0;
}

static void fwd_reply_failed(struct fwd *f, const char *why)
{
  rpc_srv_on_cancel(f->in, NULL, NULL);
  rpc_srv_reply_error_detail(f->in, GRPC_STATUS_UNAVAILABLE,
                             RPC_DETAIL_UNREACHABLE, "%s", why);
  fwd_free(f);
}

/* The pause is over: the ring has had time to close over the failure;
 * route again from here. */
static void on_pause(uv_timer_t *t)
{
  struct fwd *f = t->data;
  const struct chord_peer *next;
  bool direct;
  if (!f->in) {
    fwd_free(f);
    return;
  }
  if (f->o.rerun && f->orig) {
    struct rpc_srv_call *in = f->in;
    const ProtobufCMessage *orig = f->orig;
    rpc_handler_cb rerun = f->o.rerun;
    void *ud = f->o.ud;
    rpc_srv_on_cancel(in, NULL, NULL);
    fwd_free(f);
    rerun(in, orig, ud);
    return;
  }
  if (!f->o.reroute(f->o.ud, &f->rq, &f->to, false, &next, &direct)) {
    fwd_reply_failed(f, "no way to the key's owner while the ring changes");
    return;
  }
  f->to = *next;
  if (f->direct_field)
    *(protobuf_c_boolean *)(f->copy + f->direct_field->offset) = direct;
  if (fwd_start(f))
    fwd_reply_failed(f, "cannot forward the request");
}

/* Retries after a pause that doubles with each try (half the time left
 * at most): a loop or a dead node further on lasts until maintenance
 * repairs the ring, so trying again at once would fail again. */
static bool fwd_retry_later(struct fwd *f)
{
  int64_t left = rpc_ms_until(rpc_srv_deadline(f->in));
  uint64_t ms = f->o.pause_ms << (f->attempts < 8 ? f->attempts - 1 : 7);
  /* Without a deadline there is no bound on the retries (a rerun starts
   * counting afresh): report the failure instead. */
  if (!f->o.loop || f->attempts > FORWARD_PATH_RETRIES || left == INT64_MAX ||
      left <= 2 * FORWARD_MARGIN_MS)
    return false;
  if ((int64_t)ms > left / 2)
    ms = (uint64_t)(left / 2);
  if (!f->has_timer) {
    uv_timer_init(f->o.loop, &f->pause);
    f->pause.data = f;
    f->has_timer = true;
  }
  uv_timer_start(&f->pause, on_pause, ms, 0);
  return true;
}

/* Tries another way after a failure; true when a new call is under way.
 * A failure further on is retried only by the node the client called
 * (hops 0): the node that met it has marked the dead peer and routes
 * around it next time, and retries at every hop would multiply. A change
 * (write, delete) is sent again only when the failed hop surely never got
 * it (it could not be reached), so it is not applied twice. */
static bool fwd_retry(struct fwd *f, const struct rpc_status *st)
{
  const struct chord_peer *next;
  bool direct, dead = hop_failed(f, st);
  if (!f->o.reroute || !f->copy)
    return false;
  if (dead && f->attempts > FORWARD_RETRIES)
    return false;
  if (!dead && !(path_failed(st) && f->rq.hops == 0))
    return false;
  /* A refusal at the hop limit was served nowhere: a change may go again. */
  bool unserved = (dead && rpc_status_unsent(st)) ||
                  (st->remote && !strcmp(st->detail, RPC_DETAIL_HOP_LIMIT));
  if (f->rq.mutating && !unserved)
    return false;
  if (!dead)
    return fwd_retry_later(f);
  if (rpc_ms_until(rpc_srv_deadline(f->in)) <= FORWARD_MARGIN_MS)
    return false;
  if (!f->o.reroute(f->o.ud, &f->rq, &f->to, dead, &next, &direct))
    return false;
  f->to = *next;
  if (f->direct_field)
    *(protobuf_c_boolean *)(f->copy + f->direct_field->offset) = direct;
  return fwd_start(f) == 0;
}

/* Relays the next hop's answer. Its own errors (remote) go back as they
 * came, so that the client sees the node that decided; errors gRPC made
 * up say which hop could not be reached. */
static void fwd_done(struct rpc_result *r, void *ud)
{
  struct fwd *f = ud;
  const struct rpc_status *st = &r->status;
  if (!f->in) {
    fwd_free(f);
    return;
  }
  if (st->code != GRPC_STATUS_OK && fwd_retry(f, st))
    return;
  rpc_srv_on_cancel(f->in, NULL, NULL);
  if (st->code == GRPC_STATUS_OK)
    rpc_srv_reply_raw(f->in, r->raw);
  else if (st->remote)
    rpc_srv_reply_error_detail(f->in, st->code, st->detail, "%s", st->message);
  else if (st->code == GRPC_STATUS_UNAVAILABLE ||
           st->code == GRPC_STATUS_DEADLINE_EXCEEDED)
    rpc_srv_reply_error_detail(f->in, GRPC_STATUS_UNAVAILABLE,
                               RPC_DETAIL_UNREACHABLE, "cannot reach %s: %s",
                               f->to.addr, st->message);
  else if (st->code == GRPC_STATUS_CANCELLED)
    /* Our caller did not cancel (f->in is live): the next hop did, as
     * gRPC does to a call that reaches a server shutting down. Nothing
     * was done there, so tell the caller to retry. */
    rpc_srv_reply_error_detail(
        f->in, GRPC_STATUS_UNAVAILABLE, RPC_DETAIL_UNREACHABLE,
        "%s cancelled the request (shutting down?)", f->to.addr);
  else
    rpc_srv_reply_error(f->in, st->code, "%s", st->message);
  fwd_free(f);
}

/* Starts f (which owns its copy, if any); answers the call at once when
 * the forward cannot start. */
static void fwd_go(struct fwd *f)
{
  int rc = fwd_start(f);
  if (rc) {
    struct rpc_srv_call *call = f->in;
    char to[ADDR_STR_MAX];
    snprintf(to, sizeof(to), "%s", f->to.addr);
    fwd_free(f);
    rpc_srv_reply_error_detail(
        call, rpc_err_to_status(rc), RPC_DETAIL_UNREACHABLE,
        "cannot forward to %s: %s", to, chord_strerror(rc));
    return;
  }
  rpc_srv_on_cancel(f->in, fwd_on_cancel, f);
}

static struct fwd *fwd_new(struct rpc_client *c, struct rpc_srv_call *call,
                           const struct chord_peer *peer,
                           const struct forward_opts *o)
{
  struct fwd *f = calloc(1, sizeof(*f));
  if (!f) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return NULL;
  }
  f->in = call;
  f->c = c;
  f->to = *peer;
  f->o = *o;
  return f;
}

bool forward_wait(struct rpc_client *c, struct rpc_srv_call *call,
                  const ProtobufCMessage *req, const struct route_req *rq,
                  const struct forward_opts *o)
{
  if (rq->hops != 0 || !o->rerun || !o->loop)
    return false;
  struct fwd *f = calloc(1, sizeof(*f));
  if (!f)
    return false;
  f->in = call;
  f->c = c;
  f->o = *o;
  f->orig = req;
  f->size_ms = forward_size_ms(protobuf_c_message_get_packed_size(req));
  f->rq = *rq;
  f->attempts = 1;
  if (!fwd_retry_later(f)) {
    fwd_free(f);
    return false;
  }
  rpc_srv_on_cancel(call, fwd_on_cancel, f);
  return true;
}

/* msg is encoded before this returns and stays the caller's. Loop
 * thread. */
void forward_send(struct rpc_client *c, struct rpc_srv_call *call,
                  const struct chord_peer *peer, const ProtobufCMessage *msg,
                  const struct forward_opts *o)
{
  struct fwd *f = fwd_new(c, call, peer, o);
  if (!f)
    return;
  f->msg = msg;
  f->size_ms = forward_size_ms(protobuf_c_message_get_packed_size(msg));
  f->o.reroute = NULL; /* the message is only borrowed */
  fwd_go(f);           /* no copy: a failed hop is reported, not retried */
}

/* The copy is shallow: it shares the request's strings and bytes, which
 * live until the call is answered, so a retry can send it again. Loop
 * thread. */
void forward_next(struct rpc_client *c, struct rpc_srv_call *call,
                  const struct chord_peer *peer, const ProtobufCMessage *req,
                  bool direct, const struct route_req *rq,
                  const struct forward_opts *o)
{
  const ProtobufCMessageDescriptor *d = req->descriptor;
  const ProtobufCFieldDescriptor *hops =
      protobuf_c_message_descriptor_get_field_by_name(d, "hops");
  struct fwd *f = fwd_new(c, call, peer, o);
  if (!f)
    return;
  f->copy = malloc(d->sizeof_message);
  if (!f->copy) {
    fwd_free(f);
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  memcpy(f->copy, req, d->sizeof_message);
  f->msg = (const ProtobufCMessage *)f->copy;
  f->size_ms = forward_size_ms(protobuf_c_message_get_packed_size(req));
  f->orig = req;
  f->rq = *rq;
  f->direct_field =
      protobuf_c_message_descriptor_get_field_by_name(d, "direct");
  if (hops)
    *(uint32_t *)(f->copy + hops->offset) += 1;
  if (f->direct_field)
    *(protobuf_c_boolean *)(f->copy + f->direct_field->offset) = direct;
  fwd_go(f);
}
