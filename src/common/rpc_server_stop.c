/* SPDX-License-Identifier: MIT */
/* Stopping the rpc server: refusing new calls, a grace period for those
 * under way, answering what handlers still owe, cancelling the rest, and
 * destroying the server once every tag is back. */
#include <stddef.h>
#include <stdlib.h>

#include "common/rpc.h"
#include "common/rpc_server_internal.h"

static void server_force(struct rpc_server *s);

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

void rpc__srv_maybe_finish(struct rpc_server *s)
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
    rpc__srv_call_send(c, GRPC_STATUS_UNAVAILABLE, "server shutting down", NULL,
                       NULL);
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
      (struct rpc_server *)((char *)tag -
                            offsetof(struct rpc_server, shutdown_tag));
  (void)ok;
  s->notified = true;
  rpc__srv_maybe_finish(s);
}

void rpc_server_drain(struct rpc_server *s, uint64_t grace_ms,
                      void (*done)(void *ud), void *ud)
{
  s->done = done;
  s->done_ud = ud;
  s->stopping = true;
  if (!s->started) {
    s->notified = true;
    rpc__srv_maybe_finish(s);
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
   * slot_on_event answers. rpc__srv_maybe_finish forces the rest once every
   * slot is back and every reply sent. */
  uv_timer_init(cq_bridge_loop(s->bridge), &s->grace);
  s->grace.data = s;
  s->grace_on = true;
  uv_timer_start(&s->grace, on_grace_over, grace_ms, 0);
}

void rpc_server_shutdown(struct rpc_server *s, void (*done)(void *ud), void *ud)
{
  rpc_server_drain(s, 0, done, ud);
}
