/* SPDX-License-Identifier: MIT */
/* Forwarding a request to the next hop and relaying its answer, with the
 * caller's deadline inherited (capped) and the hop count advanced. */
#ifndef CHORD_NODE_FORWARD_H
#define CHORD_NODE_FORWARD_H

#include <stdbool.h>
#include <stdint.h>

#include "common/finger.h"
#include "common/rpc.h"

/* The deadline of a forward: the caller's, capped at cap_ms from now. */
gpr_timespec forward_deadline(const struct rpc_srv_call *call, uint64_t cap_ms);
/* Sends msg to peer and answers call with whatever comes back. */
void forward_send(struct rpc_client *c, struct rpc_srv_call *call,
                  const struct chord_peer *peer, const ProtobufCMessage *msg,
                  uint64_t cap_ms);
/* Sends a copy of req with its hops field advanced and its direct field
 * set to direct (fields found by name, so any routed message works). */
void forward_next(struct rpc_client *c, struct rpc_srv_call *call,
                  const struct chord_peer *peer, const ProtobufCMessage *req,
                  bool direct, uint64_t cap_ms);

#endif
