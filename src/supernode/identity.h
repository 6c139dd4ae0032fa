/* SPDX-License-Identifier: MIT */
/* Private to chord-supernode. Who a member is: the secret each node joined
 * with (kept per id; PostJoin, Heartbeat and Leave must carry it), and the
 * check that an address answers a Ping as the node that claims it (same id,
 * and the incarnation its secret gives) before the supernode admits it. */
#ifndef CHORD_SUPERNODE_IDENTITY_H
#define CHORD_SUPERNODE_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#include "common/auth.h"
#include "common/finger.h"
#include "common/rpc.h"

struct identities; /* id -> secret */

struct identities *identities_create(void);
void identities_destroy(struct identities *t);

enum identity_match {
  IDENTITY_UNKNOWN, /* no secret kept for the id */
  IDENTITY_SAME,    /* the secret matches */
  IDENTITY_OTHER,   /* another secret is kept for the id */
};
/* Compares secret with the one kept for id, in constant time. */
enum identity_match identities_match(const struct identities *t,
                                     const struct chord_id *id,
                                     const unsigned char *secret, size_t len);
/* Keeps secret for id (replacing any). 0 or CHORD_ENOMEM. */
int identities_put(struct identities *t, const struct chord_id *id,
                   const unsigned char *secret, size_t len);
/* Forgets id. */
void identities_drop(struct identities *t, const struct chord_id *id);
/* Forgets every id keep(ud, id) says no to (members that expired). */
void identities_prune(struct identities *t,
                      bool (*keep)(void *ud, const struct chord_id *id),
                      void *ud);

/* Runs when the Ping ends: ok when p's address answered as p with the
 * incarnation of the secret. call is still open. */
typedef void (*identity_cb)(struct rpc_srv_call *call,
                            const ProtobufCMessage *req, bool ok, void *ud);
/* Pings p.addr within timeout_ms and checks the answer's id, address and
 * incarnation; then cb, unless the server answered the call itself first
 * (shutdown). Answers RESOURCE_EXHAUSTED itself when it cannot start. */
void identity_check(struct rpc_client *c, struct rpc_srv_call *call,
                    const ProtobufCMessage *req, const struct chord_peer *p,
                    const unsigned char *secret, size_t len,
                    uint64_t timeout_ms, identity_cb cb, void *ud);

#endif
