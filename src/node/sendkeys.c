/* SPDX-License-Identifier: MIT */
/* Pages of entries by key to one peer. */
#include "node/sendkeys.h"

#include <stdlib.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "common/err.h"
#include "common/nodeinfo.h"
#include "node/node.h"
#include "node/peer.h"
#include "node/transfer.h"

struct sendkeys {
  struct job j;
  struct chord_peer to;
  struct chord_id *keys;
  size_t nk, i, next, sent;
  uint64_t bytes;
  struct xfer_batch batch;
  int rc;
  sendkeys_cb cb;
  void *ud;
};

static void finish(struct sendkeys *sk, bool ok, const struct rpc_status *st)
{
  sk->cb(sk->j.n, sk->ud, ok, sk->sent, sk->bytes, st);
  xfer_batch_clear(&sk->batch);
  free(sk->keys);
  free(sk);
}

static void collect_work(struct job *j)
{
  struct sendkeys *sk = (struct sendkeys *)j;
  sk->rc = xfer_collect_keys(j->n->store, sk->keys, sk->nk, sk->i,
                             j->n->o.page_bytes, &sk->batch, &sk->next);
}

static void collect_done(struct job *j);

static void on_sent(struct rpc_result *r, void *ud)
{
  struct sendkeys *sk = ud;
  if (r->status.code != GRPC_STATUS_OK) {
    finish(sk, false, &r->status);
    return;
  }
  sk->sent += sk->batch.n;
  xfer_batch_clear(&sk->batch);
  sk->i = sk->next;
  sk->j.work = collect_work;
  sk->j.done = collect_done;
  jobs_submit(&sk->j.n->jobs, &sk->j);
}

static void collect_done(struct job *j)
{
  struct sendkeys *sk = (struct sendkeys *)j;
  struct node *n = j->n;
  struct xfer_wire w;
  if (sk->rc || n->d.stopping) {
    struct rpc_status st;
    memset(&st, 0, sizeof(st));
    st.code = rpc_err_to_status(sk->rc ? sk->rc : CHORD_ECANCELLED);
    snprintf(st.message, sizeof(st.message), "%s",
             sk->rc ? chord_strerror(sk->rc) : "stopping");
    finish(sk, false, &st);
    return;
  }
  if (sk->batch.n == 0) {
    finish(sk, true, NULL);
    return;
  }
  if (xfer_wire_make(&sk->batch, &w)) {
    struct rpc_status st;
    memset(&st, 0, sizeof(st));
    st.code = GRPC_STATUS_RESOURCE_EXHAUSTED;
    snprintf(st.message, sizeof(st.message), "out of memory");
    finish(sk, false, &st);
    return;
  }
  Chord__V1__ReplicateRequest req = CHORD__V1__REPLICATE_REQUEST__INIT;
  Chord__V1__NodeInfo me;
  nodeinfo_from_peer(&me, &n->self);
  req.from = &me;
  req.n_files = sk->batch.n;
  req.files = w.ptrs;
  sk->bytes += protobuf_c_message_get_packed_size(&req.base);
  peer_call(n->d.client, sk->to.addr, PEER_REPLICATE, &req.base,
            n->o.rpc_timeout_ms, on_sent, sk);
  xfer_wire_free(&w);
}

void sendkeys_start(struct node *n, const struct chord_peer *to,
                    const struct chord_id *keys, size_t nk, sendkeys_cb cb,
                    void *ud)
{
  struct sendkeys *sk = calloc(1, sizeof(*sk));
  if (sk)
    sk->keys = malloc((nk + 1) * sizeof(*keys));
  if (!sk || !sk->keys) {
    struct rpc_status st;
    free(sk);
    memset(&st, 0, sizeof(st));
    st.code = GRPC_STATUS_RESOURCE_EXHAUSTED;
    snprintf(st.message, sizeof(st.message), "out of memory");
    cb(n, ud, false, 0, 0, &st);
    return;
  }
  if (nk)
    memcpy(sk->keys, keys, nk * sizeof(*keys));
  sk->nk = nk;
  sk->to = *to;
  sk->cb = cb;
  sk->ud = ud;
  sk->j.n = n;
  sk->j.work = collect_work;
  sk->j.done = collect_done;
  jobs_submit(&n->jobs, &sk->j);
}
