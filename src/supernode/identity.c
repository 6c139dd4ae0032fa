/* SPDX-License-Identifier: MIT */
/* Members' secrets, and checking that an address answers as its node. */
#include "supernode/identity.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "chord/v1/node.pb-c.h"
#include "common/err.h"
#include "common/nodeinfo.h"

struct ident {
  struct chord_id id;
  unsigned char secret[AUTH_SECRET_MAX];
  size_t len;
};

struct identities {
  struct ident *v;
  size_t n, cap;
};

struct identities *identities_create(void)
{
  return calloc(1, sizeof(struct identities));
}

void identities_destroy(struct identities *t)
{
  if (!t)
    return;
  if (t->v)
    OPENSSL_cleanse(t->v, t->cap * sizeof(*t->v));
  free(t->v);
  free(t);
}

static struct ident *find(const struct identities *t, const struct chord_id *id)
{
  for (size_t i = 0; i < t->n; i++)
    if (chord_id_cmp(&t->v[i].id, id) == 0)
      return &t->v[i];
  return NULL;
}

enum identity_match identities_match(const struct identities *t,
                                     const struct chord_id *id,
                                     const unsigned char *secret, size_t len)
{
  const struct ident *e = find(t, id);
  if (!e)
    return IDENTITY_UNKNOWN;
  return auth_equal(e->secret, e->len, secret, len) ? IDENTITY_SAME
                                                    : IDENTITY_OTHER;
}

int identities_put(struct identities *t, const struct chord_id *id,
                   const unsigned char *secret, size_t len)
{
  struct ident *e = find(t, id);
  if (len > AUTH_SECRET_MAX)
    return CHORD_EINVAL;
  if (!e) {
    if (t->n == t->cap) {
      size_t ncap = t->cap ? t->cap * 2 : 16;
      struct ident *nv = realloc(t->v, ncap * sizeof(*nv));
      if (!nv)
        return CHORD_ENOMEM;
      t->v = nv;
      t->cap = ncap;
    }
    e = &t->v[t->n++];
    e->id = *id;
  }
  memcpy(e->secret, secret, len);
  e->len = len;
  return 0;
}

void identities_drop(struct identities *t, const struct chord_id *id)
{
  struct ident *e = find(t, id);
  if (!e)
    return;
  *e = t->v[--t->n];
  OPENSSL_cleanse(&t->v[t->n], sizeof(t->v[t->n]));
}

void identities_prune(struct identities *t,
                      bool (*keep)(void *ud, const struct chord_id *id),
                      void *ud)
{
  for (size_t i = 0; i < t->n;) {
    if (keep(ud, &t->v[i].id))
      i++;
    else
      t->v[i] = t->v[--t->n];
  }
}

struct check {
  struct rpc_srv_call *call; /* NULL once the server answered it itself */
  const ProtobufCMessage *req;
  struct chord_peer p;
  uint64_t incarnation;
  identity_cb cb;
  void *ud;
};

static void check_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct check *k = ud;
  (void)call;
  k->call = NULL;
}

static void check_on_ping(struct rpc_result *r, void *ud)
{
  struct check *k = ud;
  bool ok = false;
  if (r->status.code == GRPC_STATUS_OK && r->resp) {
    const Chord__V1__PingResponse *resp =
        (const Chord__V1__PingResponse *)r->resp;
    ok = nodeinfo_names(resp->node, &k->p) &&
         resp->incarnation == k->incarnation;
  }
  if (k->call) {
    rpc_srv_on_cancel(k->call, NULL, NULL);
    k->cb(k->call, k->req, ok, k->ud);
  }
  free(k);
}

/* Index of Ping in chord.v1.Node. */
static const char *ping_path(void)
{
  const ProtobufCServiceDescriptor *s = &chord__v1__node__descriptor;
  for (unsigned i = 0; i < s->n_methods; i++)
    if (strcmp(s->methods[i].name, "Ping") == 0)
      return rpc_method_path(s, i);
  return NULL;
}

void identity_check(struct rpc_client *c, struct rpc_srv_call *call,
                    const ProtobufCMessage *req, const struct chord_peer *p,
                    const unsigned char *secret, size_t len,
                    uint64_t timeout_ms, identity_cb cb, void *ud)
{
  struct check *k = calloc(1, sizeof(*k));
  const char *path = ping_path();
  if (!k || !path) {
    free(k);
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  k->call = call;
  k->req = req;
  k->p = *p;
  k->incarnation = auth_incarnation(secret, len);
  k->cb = cb;
  k->ud = ud;
  Chord__V1__PingRequest preq = CHORD__V1__PING_REQUEST__INIT;
  struct rpc_req rr = {.target = p->addr,
                       .method = path,
                       .msg = &preq.base,
                       .resp_desc = &chord__v1__ping_response__descriptor,
                       .deadline = rpc_deadline_in((int64_t)timeout_ms)};
  rpc_srv_on_cancel(call, check_on_cancel, k);
  if (rpc_client_call(c, &rr, check_on_ping, k)) {
    struct rpc_result res = {0};
    res.status.code = GRPC_STATUS_UNAVAILABLE;
    check_on_ping(&res, k);
  }
}
