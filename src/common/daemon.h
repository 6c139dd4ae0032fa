/* SPDX-License-Identifier: MIT */
/* What both daemons share: a libuv loop with the cq_bridge, an RPC server
 * and client, SIGINT/SIGTERM handling and an ordered shutdown. */
#ifndef CHORD_DAEMON_H
#define CHORD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "common/auth.h"
#include "common/cq_bridge.h"
#include "common/fdguard.h"
#include "common/metrics.h"
#include "common/metrics_http.h"
#include "common/rpc.h"

#define DAEMON_DRAIN_MS 3000 /* calls under way get this long at a stop */

struct daemon;
/* A stop was asked for (signal); the program calls daemon_stop when it is
 * ready (for a node, after its graceful leave). */
typedef void (*daemon_signal_cb)(struct daemon *d, int signum);

struct daemon {
  uv_loop_t loop;
  struct cq_bridge *bridge;
  struct rpc_server *server;
  struct rpc_client *client;
  struct metrics *metrics; /* collectors: process, server, the program's */
  struct metrics_http *metrics_http; /* --metrics-listen, or NULL */
  uv_signal_t sigint, sigterm;       /* data = this daemon */
  daemon_signal_cb on_signal;
  void *ud;                /* the program's context */
  const struct auth *auth; /* borrowed: TLS and tokens, or NULL */
  struct fdguard guard;    /* descriptors and the listener (fdguard.h) */
  uint64_t fd_limit;       /* RLIMIT_NOFILE after raising it */
  bool exhausted;          /* descriptors near the limit: NOT_SERVING */
  /* Told when exhausted changes (a node stops heartbeating); may be NULL. */
  void (*on_exhausted)(struct daemon *d, bool exhausted);
  /* The exit code a stop asked by the daemon itself (not a signal)
   * should end with: FDGUARD_EXIT_CODE for a dead listener; else 0. */
  int exit_hint;
  bool serving; /* health: SERVING while true */
  bool stopping;
  int port; /* bound port */
  int exit_code;
};

/* Sets up the loop, bridge, server (max_message) and client, both with
 * auth's TLS and tokens (borrowed; it outlives the daemon); installs the
 * signal handlers. 0 or a CHORD_E* code (everything is undone). */
int daemon_init(struct daemon *d, size_t max_message, const struct auth *auth);
/* Adds the health service, binds listen and starts serving.
 * 0 or CHORD_EINVAL (cannot bind). */
int daemon_start(struct daemon *d, const char *listen);
/* Serves d->metrics at http://listen/metrics (the program has added its
 * collectors). 0, or CHORD_EINVAL with a sentence in err. */
int daemon_serve_metrics(struct daemon *d, const char *listen, char *err,
                         size_t errlen);
/* Stops accepting calls, lets those under way finish (up to
 * DAEMON_DRAIN_MS), then shuts the client, the bridge and the signal
 * handles down; the loop then ends. Idempotent. */
void daemon_stop(struct daemon *d, int exit_code);
/* Runs the loop to the end and closes it. Returns d->exit_code. */
int daemon_run(struct daemon *d);

#endif
