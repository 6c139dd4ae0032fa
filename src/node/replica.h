/* SPDX-License-Identifier: MIT */
/* The replica set of the keys this node owns: itself and its next R - 1
 * live successors. Sends one entry to the others (a write or a delete
 * the owner has stored) and asks them for a key the owner lacks. */
#ifndef CHORD_NODE_REPLICA_H
#define CHORD_NODE_REPLICA_H

#include <stdbool.h>
#include <stddef.h>

#include <grpc/support/time.h>

#include "common/finger.h"
#include "node/store.h"

struct node;

/* copies: the other replicas that stored the entry (0..R-1); short:
 * fewer than R-1 while a live successor was left untried for want of
 * time (not for want of nodes). */
typedef void (*replica_sent_cb)(void *ud, unsigned copies, bool short_);
/* best: the newest entry any replica holds (a reference passed to the
 * callback, which unrefs it), or NULL when none has one; complete: every
 * replica asked answered (a NULL best then means none holds the key). */
typedef void (*replica_fetched_cb)(void *ud, struct store_entry *best,
                                   bool complete);

/* Up to max of the first live successors other than self, nearest first:
 * the other members of our replica set when max is R - 1. */
size_t replica_targets(const struct node *n, struct chord_peer *out,
                       size_t max);
/* Stores e on the R - 1 other replicas in parallel, on behalf of a call
 * due at deadline (each call waits as a forward would, forward.h). A
 * replica that fails is marked dead and the next live successor takes its
 * place while time is left, so that cb reports R - 1 unless fewer live
 * successors remain or time ran out. Takes its own
 * reference to e. cb runs once, on the loop thread. */
void replica_send(struct node *n, struct store_entry *e, gpr_timespec deadline,
                  replica_sent_cb cb, void *ud);
/* Asks the R - 1 other replicas for key; cb gets the newest answer. Each
 * call waits as a forward would on behalf of a call due at deadline. */
void replica_fetch(struct node *n, const struct chord_id *key,
                   gpr_timespec deadline, replica_fetched_cb cb, void *ud);

#endif
