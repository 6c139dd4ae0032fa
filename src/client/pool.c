/* SPDX-License-Identifier: MIT */
/* The transfer pool: worker threads making sync calls on chordctl's RPC
 * client, each waiting on a completion queue of its own (one queue takes
 * at most 6 waiting threads), woken by a condition variable whenever the
 * main thread marks a slot ready. */
#include "client/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/output.h"

#define POOL_TRIES 4      /* calls per chunk, over different nodes */
#define POOL_PER_CLIENT 4 /* workers sharing one client's connections */

struct worker_arg {
  struct pool *p;
  unsigned id;
};

static void *worker_main(void *arg)
{
  struct worker_arg *wa = arg;
  struct pool *p = wa->p;
  struct pool_worker w = {p->clients[wa->id / POOL_PER_CLIENT],
                          grpc_completion_queue_create_for_pluck(NULL)};
  grpc_completion_queue *cq = w.cq;
  free(wa);
  pthread_mutex_lock(&p->mu);
  for (;;) {
    struct pool_slot *s = NULL;
    for (unsigned i = 0; i < p->n && !s; i++)
      if (p->slots[i].state == POOL_READY)
        s = &p->slots[i];
    if ((!s && p->stop) || !cq)
      break;
    if (!s) {
      pthread_cond_wait(&p->cv, &p->mu);
      continue;
    }
    s->state = POOL_BUSY;
    pthread_mutex_unlock(&p->mu);
    int rc = p->work(p, &w, s);
    pthread_mutex_lock(&p->mu);
    s->rc = rc;
    s->state = POOL_DONE;
    pthread_cond_broadcast(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
  if (cq) {
    grpc_completion_queue_shutdown(cq);
    grpc_completion_queue_destroy(cq);
  }
  return NULL;
}

int pool_start(struct pool *p, struct chordctl *ctl, unsigned n, size_t cap,
               pool_work_cb work, void *ud)
{
  struct rpc_client_opts o = {.max_message = CHORDCTL_MAX_MESSAGE,
                              .auth = &ctl->auth};
  p->n = n;
  p->nclients = (n + POOL_PER_CLIENT - 1) / POOL_PER_CLIENT;
  p->work = work;
  p->ud = ud;
  p->timeout_ms = ctl->timeout_ms;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  p->slots = calloc(n, sizeof(*p->slots));
  p->threads = calloc(n, sizeof(*p->threads));
  p->down = calloc(p->nnodes ? p->nnodes : 1, sizeof(*p->down));
  p->clients = calloc(p->nclients, sizeof(*p->clients));
  if (!p->slots || !p->threads || !p->down || !p->clients)
    goto fail;
  for (unsigned i = 0; i < p->nclients; i++)
    if (!(p->clients[i] = rpc_client_create(NULL, &o)))
      goto fail;
  for (unsigned i = 0; i < n; i++) {
    p->slots[i].buf = malloc(cap ? cap : 1);
    p->slots[i].cap = cap;
    if (!p->slots[i].buf)
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
  for (unsigned i = 0; p->slots && i < p->n; i++)
    free(p->slots[i].buf);
  free(p->slots);
  for (unsigned i = 0; p->clients && i < p->nclients; i++)
    if (p->clients[i])
      rpc_client_shutdown(p->clients[i], NULL, NULL);
  free(p->clients);
  free(p->threads);
  free(p->down);
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

/* The t-th node to try for s: from s->first on around the list, those
 * not found unreachable first, then the others. */
static size_t pick(struct pool *p, const struct pool_slot *s, unsigned t)
{
  size_t want = t % p->nnodes, idx = s->first % p->nnodes;
  pthread_mutex_lock(&p->mu);
  for (int pass = 0; pass < 2; pass++)
    for (size_t k = 0; k < p->nnodes; k++) {
      size_t i = (s->first + k) % p->nnodes;
      if (p->down[i] != (pass == 1))
        continue;
      if (want-- == 0) {
        idx = i;
        goto out;
      }
    }
out:
  pthread_mutex_unlock(&p->mu);
  return idx;
}

grpc_status_code pool_call(struct pool *p, struct pool_worker *w,
                           struct pool_slot *s, const char *method,
                           const ProtobufCMessage *req,
                           const ProtobufCMessageDescriptor *desc,
                           struct rpc_result *res)
{
  memset(res, 0, sizeof(*res));
  for (unsigned t = 0; t < POOL_TRIES; t++) {
    size_t idx = pick(p, s, t);
    const char *to = p->nodes[idx];
    struct rpc_req r = {
        .target = to,
        .method = method,
        .msg = req,
        .resp_desc = desc,
        .deadline = rpc_deadline_in(chordctl_call_ms(
            p->timeout_ms, protobuf_c_message_get_packed_size(req)))};
    snprintf(s->addr, sizeof(s->addr), "%s", to);
    rpc_client_call_sync_on(w->rpc, w->cq, &r, res);
    s->st = res->status;
    grpc_status_code code = res->status.code;
    if (code == GRPC_STATUS_OK || !retryable(code) || t + 1 == POOL_TRIES)
      break;
    rpc_result_clear(res);
    bool unreachable = code == GRPC_STATUS_UNAVAILABLE && !res->status.remote;
    if (unreachable) { /* every later chunk tries it last */
      pthread_mutex_lock(&p->mu);
      p->down[idx] = true;
      pthread_mutex_unlock(&p->mu);
      continue; /* the next node at once */
    }
    struct timespec pause = {0, (long)(100 + 200 * t) * 1000000L};
    nanosleep(&pause, NULL); /* busy or changing: a moment */
  }
  return res->status.code;
}
