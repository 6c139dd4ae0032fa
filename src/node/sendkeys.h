/* SPDX-License-Identifier: MIT */
/* Sending the entries under a list of keys to one peer, a page at a time
 * (each collected on a store job, sent with Replicate, the next page
 * after the answer): repair's push and the hand-off of keys this node no
 * longer replicates. Keys gone from the store by then are skipped. */
#ifndef CHORD_NODE_SENDKEYS_H
#define CHORD_NODE_SENDKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "common/finger.h"
#include "common/rpc.h"

struct node;

/* ok: every page arrived; sent: entries the peer took, in bytes of
 * requests; st: the failure (NULL when ok). */
typedef void (*sendkeys_cb)(struct node *n, void *ud, bool ok, size_t sent,
                            uint64_t bytes, const struct rpc_status *st);

/* Sends the entries under keys[0..nk) (copied) to `to`; cb runs once. */
void sendkeys_start(struct node *n, const struct chord_peer *to,
                    const struct chord_id *keys, size_t nk, sendkeys_cb cb,
                    void *ud);

#endif
