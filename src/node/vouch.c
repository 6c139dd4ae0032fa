/* SPDX-License-Identifier: MIT */
/* Pings the peers a ring call names and checks each answers as itself. */
#include "node/vouch.h"

#include <stdlib.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "common/log.h"
#include "node/node.h"
#include "node/peer.h"

struct vouch {
  struct node *n;
  struct rpc_srv_call *call; /* NULL once the server answered it itself */
  const ProtobufCMessage *req;
  vouch_cb cb;
  size_t pending; /* pings not back yet */
  bool failed;
  struct chord_peer bad;
  struct chord_peer *peers;
  size_t k;
};

struct vouch_ping {
  struct vouch *v;
  size_t i;
};

static void vouch_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct vouch *v = ud;
  (void)call;
  v->call = NULL;
}

static void vouch_finish(struct vouch *v)
{
  if (v->call) {
    rpc_srv_on_cancel(v->call, NULL, NULL);
    v->cb(v->n, v->call, v->req, !v->failed, v->failed ? &v->bad : NULL);
  }
  free(v->peers);
  free(v);
}

static void vouch_on_ping(struct rpc_result *r, void *ud)
{
  struct vouch_ping *vp = ud;
  struct vouch *v = vp->v;
  const struct chord_peer *want = &v->peers[vp->i];
  bool ok = false;
  if (r->status.code == GRPC_STATUS_OK && r->resp) {
    const Chord__V1__PingResponse *resp =
        (const Chord__V1__PingResponse *)r->resp;
    ok = nodeinfo_names(resp->node, want);
  }
  if (!ok && !v->failed) {
    v->failed = true;
    v->bad = *want;
    LOG_WARN("%s did not answer as the node it was named as: not adopted "
             "(%s)",
             want->addr, rpc_status_name(r->status.code));
  }
  free(vp);
  if (--v->pending == 0)
    vouch_finish(v);
}

void vouch_peers(struct node *n, struct rpc_srv_call *call,
                 const ProtobufCMessage *req, const struct chord_peer *peers,
                 size_t k, uint64_t timeout_ms, vouch_cb cb)
{
  struct vouch *v = calloc(1, sizeof(*v));
  if (v)
    v->peers = malloc((k ? k : 1) * sizeof(*peers));
  if (!v || !v->peers || k > VOUCH_MAX) {
    if (v)
      free(v->peers);
    free(v);
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                        "cannot check %zu peers", k);
    return;
  }
  memcpy(v->peers, peers, k * sizeof(*peers));
  v->n = n;
  v->call = call;
  v->req = req;
  v->cb = cb;
  v->k = k;
  v->pending = k + 1; /* one for this function, so none finishes early */
  rpc_srv_on_cancel(call, vouch_on_cancel, v);
  for (size_t i = 0; i < k; i++) {
    struct vouch_ping *vp = malloc(sizeof(*vp));
    if (!vp) {
      v->failed = true;
      v->bad = peers[i];
      v->pending--;
      continue;
    }
    vp->v = v;
    vp->i = i;
    Chord__V1__PingRequest preq = CHORD__V1__PING_REQUEST__INIT;
    peer_call(n->d.client, peers[i].addr, PEER_PING, &preq.base, timeout_ms,
              vouch_on_ping, vp);
  }
  if (--v->pending == 0)
    vouch_finish(v);
}
