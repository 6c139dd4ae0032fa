/* SPDX-License-Identifier: MIT */
/* Completion-queue thread to libuv loop. The thread appends events to a
 * mutex-protected array and wakes the loop with uv_async_send, which
 * coalesces wake-ups; the loop swaps the array out and runs the tags. */
#include "common/cq_bridge.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct cq_event {
  struct cq_tag *tag;
  bool ok;
};

struct cq_bridge {
  uv_loop_t *loop;
  grpc_completion_queue *cq;
  pthread_t thread;
  uv_async_t async;            /* wakes the loop; data = this */
  pthread_mutex_t lock;        /* guards pending, npending, cap, finished */
  struct cq_event *pending;    /* events handed over by the thread */
  size_t npending, cap;
  struct cq_event *batch;      /* loop side: events being run */
  size_t batch_cap;
  bool finished;               /* the thread saw GRPC_QUEUE_SHUTDOWN */
  bool closing;                /* uv_close has been called */
  cq_bridge_done_cb done;
  void *done_ud;
};

static void *poll_thread(void *arg)
{
  struct cq_bridge *b = arg;
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(
        b->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    pthread_mutex_lock(&b->lock);
    if (ev.type == GRPC_QUEUE_SHUTDOWN) {
      b->finished = true;
      pthread_mutex_unlock(&b->lock);
      uv_async_send(&b->async);
      return NULL;
    }
    if (ev.type == GRPC_OP_COMPLETE) {
      if (b->npending == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 64;
        struct cq_event *n = realloc(b->pending, ncap * sizeof(*n));
        if (!n)
          abort(); /* losing a tag would hang its owner forever */
        b->pending = n;
        b->cap = ncap;
      }
      b->pending[b->npending].tag = ev.tag;
      b->pending[b->npending].ok = ev.success != 0;
      b->npending++;
    }
    pthread_mutex_unlock(&b->lock);
    uv_async_send(&b->async);
  }
}

static void on_closed(uv_handle_t *h)
{
  struct cq_bridge *b = h->data;
  grpc_completion_queue_destroy(b->cq);
  pthread_mutex_destroy(&b->lock);
  cq_bridge_done_cb done = b->done;
  void *ud = b->done_ud;
  free(b->pending);
  free(b->batch);
  free(b);
  if (done)
    done(ud);
}

static void on_async(uv_async_t *h)
{
  struct cq_bridge *b = h->data;
  for (;;) {
    pthread_mutex_lock(&b->lock);
    /* Swap the arrays so the thread can keep appending while tags run. */
    struct cq_event *evs = b->pending;
    size_t n = b->npending, cap = b->cap;
    b->pending = b->batch;
    b->cap = b->batch_cap;
    b->npending = 0;
    bool finished = b->finished;
    pthread_mutex_unlock(&b->lock);
    b->batch = evs;
    b->batch_cap = cap;
    for (size_t i = 0; i < n; i++)
      evs[i].tag->cb(evs[i].tag, evs[i].ok);
    if (n == 0) {
      if (finished && !b->closing) {
        b->closing = true;
        pthread_join(b->thread, NULL);
        uv_close((uv_handle_t *)&b->async, on_closed);
      }
      return;
    }
  }
}

struct cq_bridge *cq_bridge_create(uv_loop_t *loop)
{
  struct cq_bridge *b = calloc(1, sizeof(*b));
  if (!b)
    return NULL;
  b->loop = loop;
  if (pthread_mutex_init(&b->lock, NULL))
    goto fail_free;
  b->cq = grpc_completion_queue_create_for_next(NULL);
  if (!b->cq)
    goto fail_mutex;
  if (uv_async_init(loop, &b->async, on_async))
    goto fail_cq;
  b->async.data = b;
  if (pthread_create(&b->thread, NULL, poll_thread, b))
    goto fail_async;
  return b;

fail_async:
  /* A handle is freed only from its close callback, on a later loop turn:
   * on_closed destroys the queue and frees b there (done is NULL). */
  b->closing = true;
  grpc_completion_queue_shutdown(b->cq);
  uv_close((uv_handle_t *)&b->async, on_closed);
  return NULL;
fail_cq:
  grpc_completion_queue_shutdown(b->cq);
  grpc_completion_queue_destroy(b->cq);
fail_mutex:
  pthread_mutex_destroy(&b->lock);
fail_free:
  free(b);
  return NULL;
}

uv_loop_t *cq_bridge_loop(struct cq_bridge *b)
{
  return b->loop;
}

grpc_completion_queue *cq_bridge_cq(struct cq_bridge *b)
{
  return b->cq;
}

void cq_bridge_shutdown(struct cq_bridge *b, cq_bridge_done_cb done, void *ud)
{
  b->done = done;
  b->done_ud = ud;
  grpc_completion_queue_shutdown(b->cq);
}
