/* SPDX-License-Identifier: MIT */
/* The transfer pool: worker threads with their own sync RPC clients (one
 * completion queue has at most 6 pluckers), woken by a condition
 * variable whenever the main thread marks a slot ready. */
#include "client/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/output.h"

#define POOL_TRIES 4 /* calls per chunk, over different nodes */

struct worker_arg {
  struct pool *p;
  unsigned id;
};

static void *worker_main(void *arg)
{
  struct worker_arg *wa = arg;
  struct pool *p = wa->p;
  unsigned id = wa->id;
  free(wa);
  pthread_mutex_lock(&p->mu);
  for (;;) {
    struct pool_slot *s = NULL;
    for (unsigned i = 0; i < p->n && !s; i++)
      if (p->slots[i].state == POOL_READY)
        s = &p->slots[i];
    if (!s && p->stop)
      break;
    if (!s) {
      pthread_cond_wait(&p->cv, &p->mu);
      continue;
    }
    s->state = POOL_BUSY;
    pthread_mutex_unlock(&p->mu);
    int rc = p->work(p, id, p->clients[id], s);
    pthread_mutex_lock(&p->mu);
    s->rc = rc;
    s->state = POOL_DONE;
    pthread_cond_broadcast(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

int pool_start(struct pool *p, struct chordctl *ctl, unsigned n, size_t cap,
               pool_work_cb work, void *ud)
{
  struct rpc_client_opts o = {.max_message = cap + ((size_t)1 << 20),
                              .auth = &ctl->auth};
  p->n = n;
  p->work = work;
  p->ud = ud;
  p->timeout_ms = ctl->timeout_ms;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  p->slots = calloc(n, sizeof(*p->slots));
  p->threads = calloc(n, sizeof(*p->threads));
  p->clients = calloc(n, sizeof(*p->clients));
  if (!p->slots || !p->threads || !p->clients)
    goto fail;
  for (unsigned i = 0; i < n; i++) {
    p->slots[i].buf = malloc(cap ? cap : 1);
    p->slots[i].cap = cap;
    p->clients[i] = rpc_client_create(NULL, &o);
    if (!p->slots[i].buf || !p->clients[i])
      goto fail;
  }
  for (unsigned i = 0; i < n; i++) {
    struct worker_arg *wa = malloc(sizeof(*wa));
    if (!wa)
      goto fail;
    wa->p = p;
    wa->id = i;
    if (pthread_create(&p->threads[i], NULL, worker_main, wa)) {
      free(wa);
      goto fail;
    }
    p->started++;
  }
  return 0;

fail:
  output_error(ctl,
               "cannot set up %u transfer workers (out of memory or "
               "threads)",
               n);
  pool_stop(p);
  return OUTPUT_EXIT_FAILURE;
}

void pool_stop(struct pool *p)
{
  pthread_mutex_lock(&p->mu);
  p->stop = true;
  for (unsigned i = 0; p->slots && i < p->n; i++)
    if (p->slots[i].state == POOL_READY)
      p->slots[i].state = POOL_FREE; /* never sent */
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  for (unsigned i = 0; i < p->started; i++)
    pthread_join(p->threads[i], NULL);
  for (unsigned i = 0; p->clients && i < p->n; i++)
    if (p->clients[i])
      rpc_client_shutdown(p->clients[i], NULL, NULL);
  for (unsigned i = 0; p->slots && i < p->n; i++)
    free(p->slots[i].buf);
  free(p->slots);
  free(p->threads);
  free(p->clients);
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
  memset(p, 0, sizeof(*p));
}

/* Whether a call that ended with code may succeed through another node or
 * a moment later. */
static bool retryable(grpc_status_code code)
{
  return code == GRPC_STATUS_UNAVAILABLE || code == GRPC_STATUS_CANCELLED ||
         code == GRPC_STATUS_DEADLINE_EXCEEDED ||
         code == GRPC_STATUS_RESOURCE_EXHAUSTED || code == GRPC_STATUS_ABORTED;
}

grpc_status_code pool_call(struct pool *p, struct rpc_client *c,
                           struct pool_slot *s, const char *method,
                           const ProtobufCMessage *req,
                           const ProtobufCMessageDescriptor *desc,
                           struct rpc_result *res)
{
  memset(res, 0, sizeof(*res));
  for (unsigned t = 0; t < POOL_TRIES; t++) {
    const char *to = p->nodes[(s->first + t) % p->nnodes];
    struct rpc_req r = {.target = to,
                        .method = method,
                        .msg = req,
                        .resp_desc = desc,
                        .deadline = rpc_deadline_in(p->timeout_ms)};
    snprintf(s->addr, sizeof(s->addr), "%s", to);
    rpc_client_call_sync(c, &r, res);
    s->st = res->status;
    if (res->status.code == GRPC_STATUS_OK || !retryable(res->status.code) ||
        t + 1 == POOL_TRIES)
      break;
    rpc_result_clear(res);
    struct timespec pause = {0, (long)(100 + 200 * t) * 1000000L};
    nanosleep(&pause, NULL);
  }
  return res->status.code;
}
