/* SPDX-License-Identifier: MIT */
/* The node's outbound calls by method: path and response type from one
 * table, a deadline on every call, and a failure to start reported
 * through the same callback as any other failure. */
#include "node/peer.h"

#include <stdio.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "chord/v1/supernode.pb-c.h"
#include "common/err.h"

static const struct {
  const ProtobufCServiceDescriptor *svc;
  const char *name;
  const ProtobufCMessageDescriptor *resp;
} methods[PEER_METHOD_COUNT] = {
    [PEER_SN_JOIN] = {&chord__v1__supernode__descriptor, "Join",
                      &chord__v1__join_response__descriptor},
    [PEER_SN_POST_JOIN] = {&chord__v1__supernode__descriptor, "PostJoin",
                           &chord__v1__post_join_response__descriptor},
    [PEER_SN_HEARTBEAT] = {&chord__v1__supernode__descriptor, "Heartbeat",
                           &chord__v1__heartbeat_response__descriptor},
    [PEER_SN_LEAVE] = {&chord__v1__supernode__descriptor, "Leave",
                       &chord__v1__leave_response__descriptor},
    [PEER_TRANSFER_KEYS] = {&chord__v1__node__descriptor, "TransferKeys",
                            &chord__v1__transfer_keys_response__descriptor},
    [PEER_REPLICATE] = {&chord__v1__node__descriptor, "Replicate",
                        &chord__v1__replicate_response__descriptor},
    [PEER_GET_SUCC_LIST] =
        {&chord__v1__node__descriptor, "GetSuccessorList",
         &chord__v1__get_successor_list_response__descriptor},
    [PEER_NOTIFY] = {&chord__v1__node__descriptor, "Notify",
                     &chord__v1__notify_response__descriptor},
    [PEER_PING] = {&chord__v1__node__descriptor, "Ping",
                   &chord__v1__ping_response__descriptor},
    [PEER_FIND_SUCCESSOR] = {&chord__v1__node__descriptor, "FindSuccessor",
                             &chord__v1__find_successor_response__descriptor},
    [PEER_FETCH] = {&chord__v1__node__descriptor, "Fetch",
                    &chord__v1__fetch_response__descriptor},
    [PEER_SYNC_DIGEST] = {&chord__v1__node__descriptor, "SyncDigest",
                          &chord__v1__sync_digest_response__descriptor},
};

/* Looked up by name in the service descriptor (rpc_method_path keeps the
 * strings); NULL for an unknown method. Loop thread. */
static const char *peer_method_path(enum peer_method m)
{
  if ((unsigned)m >= PEER_METHOD_COUNT)
    return NULL;
  const ProtobufCServiceDescriptor *s = methods[m].svc;
  for (unsigned i = 0; i < s->n_methods; i++)
    if (strcmp(s->methods[i].name, methods[m].name) == 0)
      return rpc_method_path(s, i);
  return NULL;
}

/* Starts the call; when it cannot start (bad target, out of memory, the
 * client shutting down), runs cb at once with that error, so that every
 * caller has a single continuation. msg stays the caller's. Loop thread. */
void peer_call(struct rpc_client *c, const char *target, enum peer_method m,
               const ProtobufCMessage *msg, uint64_t timeout_ms, rpc_done_cb cb,
               void *ud)
{
  const char *path = peer_method_path(m);
  int rc = CHORD_EINTERNAL;
  if (path) {
    struct rpc_req r = {.target = target,
                        .method = path,
                        .msg = msg,
                        .resp_desc = methods[m].resp,
                        .deadline = rpc_deadline_in((int64_t)timeout_ms)};
    rc = rpc_client_call(c, &r, cb, ud);
  }
  if (rc) {
    struct rpc_result res;
    memset(&res, 0, sizeof(res));
    res.status.code = rpc_err_to_status(rc);
    snprintf(res.status.message, sizeof(res.status.message),
             "cannot start the call: %s", chord_strerror(rc));
    cb(&res, ud);
  }
}
