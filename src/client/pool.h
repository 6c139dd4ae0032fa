/* SPDX-License-Identifier: MIT */
/* chordctl's private header for its transfer pool: a window of chunk
 * buffers (slots) and one worker thread per slot, each with its own
 * completion queue, over a few RPC clients, that run a callback on every
 * slot the main thread marks ready. */
#ifndef CHORD_CLIENT_POOL_H
#define CHORD_CLIENT_POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/chordctl.h"
#include "common/rpc.h"

enum pool_state { POOL_FREE, POOL_READY, POOL_BUSY, POOL_DONE };

/* One chunk in the window. */
struct pool_slot {
  enum pool_state state;
  uint64_t index;       /* chunk number */
  size_t first;         /* the node in nodes[] to call first */
  uint8_t *buf;         /* cap bytes, owned */
  size_t cap, len;      /* buffer size, bytes in it */
  int rc;               /* with POOL_DONE: 0 or an exit code */
  struct rpc_status st; /* the failed call's status (rc set) */
  char addr[64];        /* the node it went to */
  char err[256];        /* a local failure's reason ("" for st) */
};

struct pool;
/* One worker's own: the client its calls go through and the completion
 * queue they wait on (one queue takes at most 6 waiting threads). */
struct pool_worker {
  struct rpc_client *rpc;
  grpc_completion_queue *cq;
};

/* Works on slot s on a worker thread (w for pool_call): 0 or an exit
 * code. */
typedef int (*pool_work_cb)(struct pool *p, struct pool_worker *w,
                            struct pool_slot *s);

struct pool {
  pthread_mutex_t mu;
  pthread_cond_t cv; /* any slot changed state */
  struct pool_slot *slots;
  unsigned n; /* slots = workers */
  pthread_t *threads;
  /* RPC clients, each a connection per node, shared by POOL_PER_CLIENT
   * workers: one connection for the whole window halved the throughput
   * (one HTTP/2 stream of big messages after another), one per worker
   * multiplied the connections by the window. */
  struct rpc_client **clients;
  unsigned nclients;
  unsigned started; /* threads running */
  bool stop;
  pool_work_cb work;
  void *ud;           /* the transfer's */
  const char **nodes; /* the nodes calls go to */
  size_t nnodes;
  bool *down; /* nnodes flags: found unreachable, tried last (under mu) */
  int64_t timeout_ms; /* each call's deadline */
};

/* Sets up n slots of cap bytes and n workers. 0, or an exit code after
 * printing why. */
int pool_start(struct pool *p, struct chordctl *ctl, unsigned n, size_t cap,
               pool_work_cb work, void *ud);
/* Stops the workers (after their current slot) and frees everything. */
void pool_stop(struct pool *p);
/* Makes a call for slot s to p->nodes[s->first] (by id: the owner), and
 * retries on the next ones (its successors: replicas; up to 4 tries,
 * backing off) while the failure is one another node or a moment may
 * cure. Fills s->st
 * and s->addr. Returns the final status code. Worker thread. */
grpc_status_code pool_call(struct pool *p, struct pool_worker *w,
                           struct pool_slot *s, const char *method,
                           const ProtobufCMessage *req,
                           const ProtobufCMessageDescriptor *desc,
                           struct rpc_result *res);

#endif
