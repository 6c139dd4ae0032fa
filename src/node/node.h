/* SPDX-License-Identifier: MIT */
/* The node's context: options, identity, state, and each module's own
 * part (written only by that module), plus the few calls every part
 * needs. Private to chord-node; all of it lives on the loop thread. */
#ifndef CHORD_NODE_H
#define CHORD_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/daemon.h"
#include "node/node_metrics.h"
#include "node/chunk_gc.h"
#include "node/handoff.h"
#include "node/jobs.h"
#include "node/maintain.h"
#include "node/membership.h"
#include "node/pull.h"
#include "node/repair.h"
#include "node/repair_gc.h"
#include "node/push.h"
#include "node/ring.h"
#include "node/state.h"
#include "node/store.h"
#include "node/svc.h"

struct node_opts {
  char listen[ADDR_STR_MAX];
  char advertise[ADDR_STR_MAX];
  char supernode[ADDR_STR_MAX];
  struct chord_id id;
  bool id_fixed;
  const char *store_kind;     /* "mem" or "dir" */
  const char *metrics_listen; /* --metrics-listen HOST:PORT, or NULL */
  const char *data_dir;
  uint64_t max_file;           /* largest content accepted, bytes */
  uint64_t rpc_timeout_ms;     /* ring-internal calls */
  uint64_t forward_timeout_ms; /* cap on a forward without a deadline */
  uint64_t hop_timeout_ms;     /* longest wait for one hop's answer */
  uint64_t stabilize_ms;       /* maintenance tick */
  unsigned hop_limit;
  unsigned succ_len;        /* successor list length */
  unsigned join_retries;    /* unreachable supernode attempts */
  uint64_t join_timeout_ms; /* total time to wait while busy */
  uint64_t page_bytes;      /* TransferKeys/Replicate page size */
  unsigned replicas;        /* R: copies of each file */
  uint64_t repair_ms;       /* the repair round's slow timer */
  uint64_t tomb_grace_ms;   /* how long a tombstone is kept */
  uint64_t max_inflight;    /* write content held at once, bytes */
  uint64_t chunk_grace_ms;  /* unreferenced chunks are kept this long */
  uint64_t max_object;      /* largest chunked file, bytes */
  struct auth_opts auth;    /* token and TLS files */
};

struct node {
  struct daemon d;
  struct node_opts o; /* main.c */
  struct auth auth;   /* main.c: TLS and tokens, for the daemon */
  /* main.c: drawn at start, shown to the supernode only; Ping answers
   * the incarnation derived from it (auth_incarnation). */
  unsigned char secret[AUTH_SECRET_LEN];
  uint64_t incarnation;
  struct chord_peer self;   /* main.c, before the join */
  enum node_state state;    /* node_set_state */
  struct ring ring;         /* node_install */
  struct store *store;      /* main.c */
  struct jobs jobs;         /* jobs.c */
  struct handoff give;      /* our range going elsewhere; all parking */
  struct svc_state svc;     /* svc_*.c */
  struct pull pull;         /* pull.c: keys taken over while joining */
  struct push push;         /* push.c: keys handed over while leaving */
  struct membership mem;    /* membership.c: the supernode's side */
  struct maintain maintain; /* maintain.c: the ring's upkeep */
  struct repair repair;     /* repair.c: the replica set kept in step */
  struct repair_gc gc;      /* repair_gc.c: keys we no longer replicate */
  struct chunk_gc chunk_gc; /* chunk_gc.c: chunks no manifest lists */
  struct node_metrics met;  /* node_metrics.c: the scrape's figures */
  uint64_t started_ms;      /* main.c */
  uint64_t last_version;    /* node_version_* */
  uint64_t write_bytes;     /* owner.c: content of writes under way here */
  uv_timer_t leave_timer;   /* main.c: cuts a stuck leave short */
  bool leave_requested;     /* main.c */
};

/* Monotonic milliseconds. */
uint64_t node_now_ms(void);
/* Moves the node to state s (logged at debug level). */
void node_set_state(struct node *n, enum node_state s);
/* Installs a full member list; logs a change of neighbours. */
int node_install(struct node *n, const struct chord_peer *members, size_t k);
/* Logs a change of predecessor or first successor since old_*. */
void node_ring_changed(struct node *n, const struct chord_peer *old_pred,
                       const struct chord_peer *old_succ);
/* A call to p found it unreachable: routing skips it from now on. */
void node_peer_failed(struct node *n, const struct chord_peer *p);
/* The wall clock in microseconds since the epoch: what versions are. */
uint64_t node_wall_us(void);
/* A new write's version: above the clock and every version seen. */
uint64_t node_version_next(struct node *n);
/* Raises the version floor to v (a version stored here). */
void node_version_seen(struct node *n, uint64_t v);
/* A retry pause: 25..50 ms, doubling per attempt up to 0.5..1 s. */
uint64_t node_backoff_ms(unsigned attempt);
/* Closes the node's timers and stops the daemon (idempotent). */
void node_stop(struct node *n, int exit_code);
/* Logs why and stops the node with exit code 1. */
void node_fail(struct node *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Records a change of key in the active hand-off (aborts when memory for
 * the record cannot be had: losing it could lose the write). */
void node_touch(struct node *n, const struct chord_id *key);

#endif
