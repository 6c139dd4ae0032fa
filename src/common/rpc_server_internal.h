/* SPDX-License-Identifier: MIT */
/* Private to the rpc server (rpc_server.c: methods, slots, calls and
 * replies; rpc_server_stop.c: draining and shutting down). */
#ifndef CHORD_RPC_SERVER_INTERNAL_H
#define CHORD_RPC_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <grpc/grpc.h>
#include <uv.h>

#include "common/auth.h"
#include "common/cq_bridge.h"
#include "common/metrics.h"
#include "common/rpc.h"

#define RPC_NCODES 17 /* gRPC status codes 0..16 */

/* Per-method figures for the metrics (rpc_server_metrics.c). */
struct srv_stats {
  atomic_uint_fast64_t codes[RPC_NCODES]; /* answers by status */
  struct metrics_hist seconds;            /* arrival to answer */
};

struct srv_method {
  struct rpc_server *srv;
  const char *path;
  void *handle; /* registered method */
  const ProtobufCMessageDescriptor *input;
  rpc_handler_cb handler; /* NULL: UNIMPLEMENTED */
  void *ud;
  enum auth_level need; /* what a caller must prove (AUTH_RING unless set) */
  struct srv_stats stats;
};

/* One armed request: for a method (m set) or the catch-all (m NULL). */
struct srv_slot {
  struct cq_tag tag;
  struct rpc_server *srv;
  struct srv_method *m;
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array md;
  grpc_byte_buffer *payload;
  grpc_call_details details;
  struct srv_slot *next; /* all slots, for freeing */
};

struct rpc_srv_call {
  struct rpc_server *srv;
  struct srv_method *m; /* NULL for an unknown method */
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array md;
  ProtobufCMessage *req;
  grpc_byte_buffer *send;
  grpc_slice details;
  bool has_details;
  grpc_metadata trailer; /* RPC_ERROR_KEY on an error reply */
  bool has_trailer;      /* trailer.value is ours to unref */
  int cancelled;         /* RECV_CLOSE_ON_SERVER output */
  bool answered;
  bool member;       /* proved the cluster token (or none guards the ring) */
  uint64_t start_ns; /* uv_hrtime() at arrival */
  rpc_cancel_cb on_cancel;
  void *cancel_ud;
  struct rpc_srv_call *prev, *next; /* open (unanswered) calls */
};

struct rpc_server {
  struct cq_bridge *bridge;
  const struct auth *auth; /* borrowed; NULL = open, plaintext */
  grpc_completion_queue *cq;
  grpc_server *server;
  struct srv_method *methods;
  size_t nmethods, methods_cap;
  struct srv_slot *slots;         /* every slot ever made */
  size_t armed;                   /* slots waiting for a call */
  size_t batches;                 /* reply batches in flight */
  struct rpc_srv_call *open;      /* unanswered calls */
  uint64_t served;                /* calls received, every method */
  atomic_uint_fast64_t in_flight; /* received, not yet answered */
  unsigned slots_per_method;
  bool started, stopping, notified;
  bool forced;      /* open calls answered, rest cancelled */
  bool grace_on;    /* grace timer initialised */
  uv_timer_t grace; /* ends the drain; data = this */
  struct cq_tag shutdown_tag;
  /* Server calls are bound to done_cq, a queue no thread polls: a reply
   * batch that completes while the loop sends it (the usual case) costs
   * neither a kick of the bridge thread nor a wake-up of the loop. The
   * loop reaps them after serving each new call and, when none comes,
   * every RPC_REAP_MS (reap_timer). */
  grpc_completion_queue *done_cq;
  uv_timer_t reap_timer; /* data = this */
  int closing;           /* handles whose close is pending */
  void (*done)(void *ud);
  void *done_ud;
};

/* Sends the call's reply batch: the message (when bb) or only a status
 * (see rpc_server.c). 0 or a CHORD_E* code. */
int rpc__srv_call_send(struct rpc_srv_call *c, grpc_status_code code,
                       const char *msg, const char *detail,
                       grpc_byte_buffer *bb);
/* Counts c's answer with code in its method's figures. */
void rpc__srv_stats_answered(struct rpc_srv_call *c, grpc_status_code code);
/* A stopping server whose slots and replies are all back: forces what is
 * left and, once gRPC has notified, frees it (rpc_server_stop.c). */
void rpc__srv_maybe_finish(struct rpc_server *s);

#endif
