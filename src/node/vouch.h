/* SPDX-License-Identifier: MIT */
/* Vouching for peers before adopting them: a node named in a ring call
 * (a notifier, a joiner asking for its range, an UpdateDHT member list)
 * must answer a Ping as itself, with the id and address it was named by,
 * before anything changes. An outsider's made-up address never does. */
#ifndef CHORD_NODE_VOUCH_H
#define CHORD_NODE_VOUCH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/nodeinfo.h"
#include "common/rpc.h"

struct node;

#define VOUCH_MAX 1024 /* peers vouched for in one go */

/* Runs once every peer has answered or failed, with the call still open
 * (the server did not answer it meanwhile): ok when all answered as
 * themselves; else bad is the first that did not. The callback answers
 * the call. */
typedef void (*vouch_cb)(struct node *n, struct rpc_srv_call *call,
                         const ProtobufCMessage *req, bool ok,
                         const struct chord_peer *bad);

/* Pings each of peers[0..k) (k <= VOUCH_MAX) within timeout_ms, then runs
 * cb. When the server answers the call itself first (shutdown), cb never
 * runs. Answers RESOURCE_EXHAUSTED itself when it cannot start. */
void vouch_peers(struct node *n, struct rpc_srv_call *call,
                 const ProtobufCMessage *req, const struct chord_peer *peers,
                 size_t k, uint64_t timeout_ms, vouch_cb cb);

#endif
