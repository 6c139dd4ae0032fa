/* SPDX-License-Identifier: MIT */
/* Store jobs: work that may block (the dir store's fsyncs) runs on libuv's
 * thread pool, its completion on the loop; for the mem store both run at
 * once on the loop. Waiters run when no job is in flight. */
#ifndef CHORD_NODE_JOBS_H
#define CHORD_NODE_JOBS_H

#include <stdbool.h>

#include <uv.h>

struct node;
struct job;
struct jobs_waiter;

typedef void (*job_cb)(struct job *j);
typedef void (*jobs_idle_cb)(struct jobs_waiter *w);

/* One job; embed it first in the job's own struct. */
struct job {
  uv_work_t req;
  struct jobs *owner;
  struct node *n; /* the node the job works for (not used by jobs.c) */
  job_cb work;    /* off the loop (dir) or on it (mem) */
  job_cb done;    /* on the loop, once work returned; frees the job */
};

/* Someone waiting for the jobs in flight to finish; embed it. */
struct jobs_waiter {
  jobs_idle_cb cb;
  struct jobs_waiter *next;
  bool queued;
};

struct jobs {
  uv_loop_t *loop;
  bool inline_run;   /* run work on the loop (the mem store) */
  unsigned inflight; /* submitted, done not yet run */
  struct jobs_waiter *waiters;
};

/* Sets up an executor on loop (inline_run: work runs on the loop). */
void jobs_init(struct jobs *js, uv_loop_t *loop, bool inline_run);
/* Runs j->work, then j->done on the loop. Never fails. */
void jobs_submit(struct jobs *js, struct job *j);
/* As jobs_submit, but off the loop even for the mem store: for work that
 * costs CPU (hashing a chunk), which must not hold the loop up. */
void jobs_submit_heavy(struct jobs *js, struct job *j);
/* Jobs submitted whose done has not run yet. */
unsigned jobs_inflight(const struct jobs *js);
/* Runs cb(w) once no job is in flight: now when idle, else after the last
 * done. A queued waiter is not queued again. */
void jobs_when_idle(struct jobs *js, struct jobs_waiter *w, jobs_idle_cb cb);
/* Drops a queued waiter (its cb will not run). */
void jobs_cancel_wait(struct jobs *js, struct jobs_waiter *w);

#endif
