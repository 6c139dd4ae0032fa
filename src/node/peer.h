/* SPDX-License-Identifier: MIT */
/* Typed outbound calls of a node: to other nodes and to the supernode,
 * each with a deadline, with one continuation path whether or not the call
 * could be started. */
#ifndef CHORD_NODE_PEER_H
#define CHORD_NODE_PEER_H

#include <stdint.h>

#include "common/rpc.h"

enum peer_method {
  PEER_SN_JOIN,        /* supernode: take or renew the join lock */
  PEER_SN_POST_JOIN,   /* supernode: registered as a member */
  PEER_SN_HEARTBEAT,   /* supernode: still alive */
  PEER_SN_LEAVE,       /* supernode: gone */
  PEER_TRANSFER_KEYS,  /* node: a page of a range, or its release */
  PEER_REPLICATE,      /* node: files of a range handed over */
  PEER_GET_SUCC_LIST,  /* node: its predecessor and successor list */
  PEER_NOTIFY,         /* node: we may be its predecessor */
  PEER_PING,           /* node: are you there */
  PEER_FIND_SUCCESSOR, /* node: who owns this id */
  PEER_FETCH,          /* node: the entries it holds under these keys */
  PEER_SYNC_DIGEST,    /* node: compare a range's digest (repair) */
  PEER_METHOD_COUNT
};

/* Calls m on target with msg, answering within timeout_ms. cb always runs
 * exactly once: with the reply, or with the error that stopped the call
 * from starting (status set, remote false). */
void peer_call(struct rpc_client *c, const char *target, enum peer_method m,
               const ProtobufCMessage *msg, uint64_t timeout_ms, rpc_done_cb cb,
               void *ud);

#endif
