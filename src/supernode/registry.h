/* SPDX-License-Identifier: MIT */
/* Private to chord-supernode. The membership registry: full members sorted
 * by id, the join lock with its lease, heartbeat expiry and the random pick.
 * Pure logic: no I/O, no gRPC, no libuv; the clock and the PRNG are
 * injected. */
#ifndef CHORD_SUPERNODE_REGISTRY_H
#define CHORD_SUPERNODE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/chord_id.h"
#include "common/finger.h"

#define REGISTRY_LEASE_MS_DEFAULT 10000
#define REGISTRY_HEARTBEAT_TIMEOUT_MS_DEFAULT 5000

struct registry;

struct registry_opts {
  uint64_t lease_ms;             /* join lock lease, ms; 0: 10000 */
  uint64_t heartbeat_timeout_ms; /* member dropped after this silence, ms;
                                    0: 5000 */
  uint64_t (*now_ms)(void *ud);  /* clock in ms; NULL: CLOCK_MONOTONIC */
  void *clock_ud;                /* passed to now_ms */
  uint32_t (*rand32)(void *ud);  /* uniform 32-bit draws; NULL: built-in */
  void *rand_ud;                 /* passed to rand32 */
};

/* A new empty registry (o may be NULL for all defaults); the caller frees it
 * with registry_destroy. NULL on allocation failure. */
struct registry *registry_create(const struct registry_opts *o);

/* Frees r and everything it holds. Accepts NULL. */
void registry_destroy(struct registry *r);

/* Takes the join lock for p and hands the caller a malloc'd array of the
 * full members sorted by id (the caller frees it; NULL when *n is 0). */
int registry_join(struct registry *r, const struct chord_peer *p,
                  struct chord_peer **members, size_t *n);

/* What registry_join(p) would answer now (0 or its error), taking nothing:
 * to refuse a joiner before checking that its address answers. */
int registry_join_check(struct registry *r, const struct chord_peer *p);

/* Whether id is a member or holds the join lock. */
bool registry_knows(struct registry *r, const struct chord_id *id);

/* Makes the unexpired lock holder p a full member and frees the lock. */
int registry_post_join(struct registry *r, const struct chord_peer *p);

/* Removes the member with id, and frees the lock if its holder has id. */
int registry_leave(struct registry *r, const struct chord_id *id);

/* Refreshes member p, or adds it when unknown; *known (may be NULL) says
 * which. */
int registry_heartbeat(struct registry *r, const struct chord_peer *p,
                       bool *known);

/* Copies a uniformly random live full member into the caller's *out. */
int registry_random(struct registry *r, struct chord_peer *out);

/* Copies up to max live full members, sorted by id, into the caller's out;
 * returns the total count, which may exceed max. */
size_t registry_list(struct registry *r, struct chord_peer *out, size_t max);

/* The number of live full members. */
size_t registry_count(struct registry *r);

/* Drops silent members and frees an expired lock. */
void registry_expire(struct registry *r);

/* Whether a join lock is held; copies its holder into the caller's *holder
 * when holder is not NULL and the lock is held. */
bool registry_busy(struct registry *r, struct chord_peer *holder);

#endif
