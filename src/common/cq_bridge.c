/* SPDX-License-Identifier: MIT */
/* Completion-queue thread to libuv loop. The thread appends events to a
 * mutex-protected array and, only when the loop is not already awake for
 * the array, writes to an eventfd the loop polls; the loop swaps the array
 * out and runs the tags until it finds it empty.
 *
 * Not uv_async_t: libuv 1.44's uv_async_send makes the woken loop spin
 * (up to 997 pauses, then sched_yield) until the sending thread has come
 * back from its write() to the wake-up fd. On a loaded two-core machine
 * that spin cost about 5% of a node's CPU and a context switch per event
 * (measured with perf in BENCHMARKS.md). An eventfd we own has no spin. */
#include "common/cq_bridge.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct cq_event {
  struct cq_tag *tag;
  bool ok;
};

struct cq_bridge {
  uv_loop_t *loop;
  grpc_completion_queue *cq;
  pthread_t thread;
  int efd;                  /* eventfd: thread -> loop wake-up */
  uv_poll_t poll;           /* watches efd; data = this */
  pthread_mutex_t lock;     /* guards pending, npending, cap, awake, finished */
  struct cq_event *pending; /* events handed over by the thread */
  size_t npending, cap;
  bool awake;             /* a wake-up is on its way or the loop is
                             draining: the thread need not write efd */
  bool finished;          /* the thread saw GRPC_QUEUE_SHUTDOWN */
  struct cq_event *batch; /* loop side: events being run */
  size_t batch_cap;
  bool closing; /* uv_close has been called */
  cq_bridge_done_cb done;
  void *done_ud;
};

static void wake_loop(struct cq_bridge *b)
{
  uint64_t one = 1;
  /* EAGAIN means the counter is full, so the loop is woken anyway. */
  while (write(b->efd, &one, sizeof(one)) < 0 && errno == EINTR)
    ;
}

static void *poll_thread(void *arg)
{
  struct cq_bridge *b = arg;
  pthread_setname_np(pthread_self(), "cq-bridge");
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(
        b->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    if (ev.type != GRPC_QUEUE_SHUTDOWN && ev.type != GRPC_OP_COMPLETE)
      continue; /* GRPC_QUEUE_TIMEOUT cannot happen with no deadline */
    pthread_mutex_lock(&b->lock);
    if (ev.type == GRPC_QUEUE_SHUTDOWN) {
      b->finished = true;
    } else {
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
    /* While the loop is awake it drains what is appended meanwhile. */
    bool wake = !b->awake;
    b->awake = true;
    pthread_mutex_unlock(&b->lock);
    if (wake)
      wake_loop(b);
    if (ev.type == GRPC_QUEUE_SHUTDOWN)
      return NULL;
  }
}

static void on_closed(uv_handle_t *h)
{
  struct cq_bridge *b = h->data;
  grpc_completion_queue_destroy(b->cq);
  pthread_mutex_destroy(&b->lock);
  close(b->efd);
  cq_bridge_done_cb done = b->done;
  void *ud = b->done_ud;
  free(b->pending);
  free(b->batch);
  free(b);
  if (done)
    done(ud);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
  (void)status;
  (void)events;
  struct cq_bridge *b = h->data;
  uint64_t count;
  /* Drain the counter first: a write after this point is a new wake-up. */
  while (read(b->efd, &count, sizeof(count)) < 0 && errno == EINTR)
    ;
  for (;;) {
    pthread_mutex_lock(&b->lock);
    /* Swap the arrays so the thread can keep appending while tags run. */
    struct cq_event *evs = b->pending;
    size_t n = b->npending, cap = b->cap;
    b->pending = b->batch;
    b->cap = b->batch_cap;
    b->npending = 0;
    bool finished = b->finished;
    if (n == 0)
      b->awake = false; /* from here on the thread writes efd again */
    pthread_mutex_unlock(&b->lock);
    b->batch = evs;
    b->batch_cap = cap;
    for (size_t i = 0; i < n; i++)
      evs[i].tag->cb(evs[i].tag, evs[i].ok);
    if (n == 0) {
      if (finished && !b->closing) {
        b->closing = true;
        pthread_join(b->thread, NULL);
        uv_poll_stop(&b->poll);
        uv_close((uv_handle_t *)&b->poll, on_closed);
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
  b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (b->efd < 0)
    goto fail_free;
  if (pthread_mutex_init(&b->lock, NULL))
    goto fail_efd;
  b->cq = grpc_completion_queue_create_for_next(NULL);
  if (!b->cq)
    goto fail_mutex;
  if (uv_poll_init(loop, &b->poll, b->efd))
    goto fail_cq;
  b->poll.data = b;
  if (uv_poll_start(&b->poll, UV_READABLE, on_poll))
    goto fail_handle;
  if (pthread_create(&b->thread, NULL, poll_thread, b))
    goto fail_handle;
  return b;

fail_handle:
  /* A handle is freed only from its close callback, on a later loop turn:
   * on_closed destroys the queue, closes efd and frees b there (done is
   * NULL). */
  b->closing = true;
  grpc_completion_queue_shutdown(b->cq);
  uv_close((uv_handle_t *)&b->poll, on_closed);
  return NULL;
fail_cq:
  grpc_completion_queue_shutdown(b->cq);
  grpc_completion_queue_destroy(b->cq);
fail_mutex:
  pthread_mutex_destroy(&b->lock);
fail_efd:
  close(b->efd);
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
