/* SPDX-License-Identifier: MIT */
/* The supernode's context (private to chord-supernode). */
#ifndef CHORD_SUPERNODE_H
#define CHORD_SUPERNODE_H

#include <stdint.h>

#include "common/daemon.h"
#include "common/metrics.h"
#include "supernode/registry.h"

struct supernode {
  struct daemon d;
  struct auth auth; /* TLS and tokens, for the daemon */
  struct registry *reg;
  struct identities *ids;         /* members' secrets (identity.c) */
  uv_timer_t expire_timer;        /* runs registry_expire */
  uint64_t lease_ms;              /* join lock lease */
  uint64_t heartbeat_interval_ms; /* told to nodes */
  uint64_t heartbeat_timeout_ms;  /* silence before a member is dropped */
  size_t last_count;              /* members at the last expiry tick */
  /* For the metrics (sn_metrics.c): counted on the loop, read by the
   * scrape thread. */
  atomic_uint_fast64_t joins, leaves, dropped, members;
};

/* Adds the supernode's collector to its daemon's metrics. 0 or
 * CHORD_ENOMEM. */
int sn_metrics_start(struct supernode *sn);

/* Registers the chord.v1.Supernode service on sn's server. */
int sn_svc_register(struct supernode *sn);

#endif
