/* SPDX-License-Identifier: MIT */
/* The store-job executor: libuv's thread pool for the dir store, the loop
 * itself for the mem store, and the waiters that need no job in flight. */
#include "node/jobs.h"

#include <stddef.h>

void jobs_init(struct jobs *js, uv_loop_t *loop, bool inline_run)
{
  js->loop = loop;
  js->inline_run = inline_run;
  js->inflight = 0;
  js->waiters = NULL;
}

unsigned jobs_inflight(const struct jobs *js)
{
  return js->inflight;
}

/* Runs the waiters queued while jobs were in flight, in the order they
 * came. A waiter may submit a job; the rest then wait for it too. */
static void run_waiters(struct jobs *js)
{
  while (js->inflight == 0 && js->waiters) {
    struct jobs_waiter *w = js->waiters;
    js->waiters = w->next;
    w->next = NULL;
    w->queued = false;
    w->cb(w);
  }
}

static void job_work(uv_work_t *req)
{
  struct job *j = req->data;
  j->work(j);
}

static void job_after(uv_work_t *req, int status)
{
  struct job *j = req->data;
  struct jobs *js = j->owner;
  (void)status; /* jobs are never cancelled */
  js->inflight--;
  j->done(j); /* may free j */
  run_waiters(js);
}

/* Runs j->work off the loop (or on it, inline) and then j->done on the
 * loop thread; done owns j from then on. Loop thread only. */
static void submit(struct jobs *js, struct job *j, bool inline_run)
{
  j->owner = js;
  j->req.data = j;
  js->inflight++;
  if (inline_run) {
    job_work(&j->req);
    job_after(&j->req, 0);
    return;
  }
  if (uv_queue_work(js->loop, &j->req, job_work, job_after)) {
    /* Cannot happen with a live loop; run it here rather than lose it. */
    job_work(&j->req);
    job_after(&j->req, 0);
  }
}

void jobs_submit(struct jobs *js, struct job *j)
{
  submit(js, j, js->inline_run);
}

void jobs_submit_heavy(struct jobs *js, struct job *j)
{
  submit(js, j, false);
}

/* Runs cb(w) at once when nothing is in flight; otherwise queues w at the
 * end, once, to run after the last job in flight is done. Loop thread. */
void jobs_when_idle(struct jobs *js, struct jobs_waiter *w, jobs_idle_cb cb)
{
  w->cb = cb;
  if (js->inflight == 0 && !js->waiters) {
    cb(w);
    return;
  }
  if (w->queued)
    return;
  struct jobs_waiter **pp = &js->waiters;
  while (*pp)
    pp = &(*pp)->next;
  w->next = NULL;
  w->queued = true;
  *pp = w;
}

void jobs_cancel_wait(struct jobs *js, struct jobs_waiter *w)
{
  for (struct jobs_waiter **pp = &js->waiters; *pp; pp = &(*pp)->next) {
    if (*pp == w) {
      *pp = w->next;
      w->next = NULL;
      w->queued = false;
      return;
    }
  }
}
