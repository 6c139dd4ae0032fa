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

/* owner_read flags. */
#define OWNER_ACCEPT_MANIFEST 0x1u /* answer a chunked file's manifest */
#define OWNER_INCLUDE_DELETED 0x2u /* answer a tombstone, not NOT_FOUND */

/* Stores e (a new write, version set; takes the reference) here and on
 * the replica set, then answers call with a WriteResponse. A chunk whose
 * content does not match its name is refused (INVALID_ARGUMENT). */
void owner_write(struct node *n, struct rpc_srv_call *call,
                 struct store_entry *e, uint32_t hops);
/* Answers call with the newest live entry under key, or NOT_FOUND; a
 * manifest only with OWNER_ACCEPT_MANIFEST in flags (FAILED_PRECONDITION
 * otherwise), a tombstone only with OWNER_INCLUDE_DELETED. */
void owner_read(struct node *n, struct rpc_srv_call *call,
                const struct chord_id *key, uint32_t hops, unsigned flags);
/* Replaces a live entry under key with a tombstone, here and on the
 * replica set; NOT_FOUND when no replica holds a live entry. With version
 * set, only that version, by a tombstone at version + 1
 * (FAILED_PRECONDITION when another is stored). */
void owner_delete(struct node *n, struct rpc_srv_call *call,
                  const struct chord_id *key, uint32_t hops, uint64_t version);

#endif
