/* SPDX-License-Identifier: MIT */
/* The owner's side of a read, a write and a delete, once routing decided
 * this node serves the key: the store job, the replica set (writes and
 * deletes stored on all R before the answer; reads that miss here asked
 * of the other replicas), and the answer. */
#ifndef CHORD_NODE_OWNER_H
#define CHORD_NODE_OWNER_H

#include <stdint.h>

#include "common/rpc.h"
#include "node/store.h"

struct node;

/* Stores e (a new write, version set; takes the reference) here and on
 * the replica set, then answers call with a WriteResponse. */
void owner_write(struct node *n, struct rpc_srv_call *call,
                 struct store_entry *e, uint32_t hops);
/* Answers call with the newest live entry under key, or NOT_FOUND. */
void owner_read(struct node *n, struct rpc_srv_call *call,
                const struct chord_id *key, uint32_t hops);
/* Replaces a live entry under key with a tombstone, here and on the
 * replica set; NOT_FOUND when no replica holds a live entry. */
void owner_delete(struct node *n, struct rpc_srv_call *call,
                  const struct chord_id *key, uint32_t hops);

#endif
