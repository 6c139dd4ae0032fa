/* SPDX-License-Identifier: MIT */
/* Forwarding: one outbound call per inbound one, its answer relayed as
 * is. An answer the next node sent is passed on with its code and detail;
 * a failure to reach the next node becomes UNAVAILABLE "unreachable". */
#include "node/forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

struct fwd {
  struct rpc_srv_call *in; /* NULL once the server answered it itself */
  char to[ADDR_STR_MAX];
};

static void fwd_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct fwd *f = ud;
  (void)call;
  f->in = NULL;
}

/* Relays the next hop's answer. Its own errors (remote) go back as they
 * came, so that the client sees the node that decided; errors gRPC made
 * up say which hop could not be reached. */
static void fwd_done(struct rpc_result *r, void *ud)
{
  struct fwd *f = ud;
  const struct rpc_status *st = &r->status;
  if (f->in) {
    rpc_srv_on_cancel(f->in, NULL, NULL);
    if (st->code == GRPC_STATUS_OK)
      rpc_srv_reply_raw(f->in, r->raw);
    else if (st->remote)
      rpc_srv_reply_error_detail(f->in, st->code, st->detail, "%s",
                                 st->message);
    else if (st->code == GRPC_STATUS_UNAVAILABLE)
      rpc_srv_reply_error_detail(f->in, st->code, RPC_DETAIL_UNREACHABLE,
                                 "cannot reach %s: %s", f->to, st->message);
    else if (st->code == GRPC_STATUS_CANCELLED)
      /* Our caller did not cancel (f->in is live): the next hop did, as
       * gRPC does to a call that reaches a server shutting down. Nothing
       * was done there, so tell the caller to retry. */
      rpc_srv_reply_error_detail(
          f->in, GRPC_STATUS_UNAVAILABLE, RPC_DETAIL_UNREACHABLE,
          "%s cancelled the request (shutting down?)", f->to);
    else
      rpc_srv_reply_error(f->in, st->code, "%s", st->message);
  }
  free(f);
}

/* The caller's deadline when it set one nearer than cap_ms from now, else
 * cap_ms from now: a forward never outlives its caller's patience, and a
 * caller with none still gets an answer. Loop thread. */
gpr_timespec forward_deadline(const struct rpc_srv_call *call, uint64_t cap_ms)
{
  gpr_timespec cap = rpc_deadline_in((int64_t)cap_ms);
  gpr_timespec in = rpc_srv_deadline(call);
  if (rpc_ms_until(in) < rpc_ms_until(cap))
    return gpr_convert_clock_type(in, GPR_CLOCK_MONOTONIC);
  return cap;
}

/* msg stays the caller's (it is encoded before this returns). The call is
 * answered exactly once: by the relay, or at once when the forward cannot
 * start. Loop thread. */
void forward_send(struct rpc_client *c, struct rpc_srv_call *call,
                  const struct chord_peer *peer, const ProtobufCMessage *msg,
                  uint64_t cap_ms)
{
  struct fwd *f = calloc(1, sizeof(*f));
  if (!f) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  f->in = call;
  snprintf(f->to, sizeof(f->to), "%s", peer->addr);
  struct rpc_req r = {.target = peer->addr,
                      .method = rpc_srv_method(call),
                      .msg = msg,
                      .deadline = forward_deadline(call, cap_ms)};
  int rc = rpc_client_call(c, &r, fwd_done, f);
  if (rc) {
    free(f);
    rpc_srv_reply_error_detail(
        call, rpc_err_to_status(rc), RPC_DETAIL_UNREACHABLE,
        "cannot forward to %s: %s", peer->addr, chord_strerror(rc));
    return;
  }
  rpc_srv_on_cancel(call, fwd_on_cancel, f);
}

/* A shallow copy of req shares its strings and bytes, which outlive the
 * forward's encoding. Loop thread. */
void forward_next(struct rpc_client *c, struct rpc_srv_call *call,
                  const struct chord_peer *peer, const ProtobufCMessage *req,
                  bool direct, uint64_t cap_ms)
{
  const ProtobufCMessageDescriptor *d = req->descriptor;
  const ProtobufCFieldDescriptor *hops =
      protobuf_c_message_descriptor_get_field_by_name(d, "hops");
  const ProtobufCFieldDescriptor *dir =
      protobuf_c_message_descriptor_get_field_by_name(d, "direct");
  uint8_t *copy = malloc(d->sizeof_message);
  if (!copy) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  memcpy(copy, req, d->sizeof_message);
  if (hops)
    *(uint32_t *)(copy + hops->offset) += 1;
  if (dir)
    *(protobuf_c_boolean *)(copy + dir->offset) = direct;
  forward_send(c, call, peer, (const ProtobufCMessage *)copy, cap_ms);
  free(copy);
}
