/* SPDX-License-Identifier: MIT */
/* Node handlers: the client face (Read, Write, Delete, Lookup) routed
 * along the ring with asynchronous forwarding, and the ring face
 * (UpdateDHT, TransferKeys, Replicate, ...). */
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "common/err.h"
#include "common/log.h"
#include "common/name.h"
#include "common/nodeinfo.h"
#include "node/node.h"
#include "node/transfer.h"

#define NODE_SVC (&chord__v1__node__descriptor)

/* ---- hand-off bookkeeping ------------------------------------------------ */

void node_handoff_clear(struct handoff *h)
{
  free(h->changed.keys);
  memset(h, 0, sizeof(*h));
}

void node_handoff_touch(struct node *n, const struct chord_id *key)
{
  struct handoff *h = &n->give;
  struct keyset *ks = &h->changed;
  if (!h->active || !chord_id_in_oc(key, &h->from, &h->upto))
    return;
  if (n->state == NODE_JOINED &&
      node_now_ms() - h->last_ms > NODE_HANDOFF_IDLE_MS) {
    /* The joiner went quiet (it died or gave up): forget the hand-off
     * rather than record changes for it forever. */
    LOG_WARN("hand-off to %s idle for %d s: dropped", h->to.addr,
             NODE_HANDOFF_IDLE_MS / 1000);
    node_handoff_clear(h);
    return;
  }
  for (size_t i = 0; i < ks->n; i++)
    if (chord_id_eq(&ks->keys[i], key))
      return;
  if (ks->n == ks->cap) {
    size_t ncap = ks->cap ? ks->cap * 2 : 64;
    struct chord_id *k = realloc(ks->keys, ncap * sizeof(*k));
    if (!k) {
      /* Without the record the change could be lost: fail the hand-off
       * loudly rather than silently. */
      LOG_ERROR("out of memory recording a change during a hand-off");
      abort();
    }
    ks->keys = k;
    ks->cap = ncap;
  }
  ks->keys[ks->n++] = *key;
}

static bool in_give_range(const struct node *n, const struct chord_id *key)
{
  return n->give.active &&
         chord_id_in_oc(key, &n->give.from, &n->give.upto);
}

/* ---- parking ------------------------------------------------------------- */

static void parked_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct node *n = ud;
  for (struct parked **pp = &n->parked; *pp; pp = &(*pp)->next) {
    if ((*pp)->call == call) {
      struct parked *p = *pp;
      *pp = p->next;
      if (n->parked_tail == &p->next)
        n->parked_tail = pp;
      free(p);
      return;
    }
  }
}

static void park(struct node *n, struct rpc_srv_call *call,
                 const ProtobufCMessage *req, rpc_handler_cb handler)
{
  struct parked *p = calloc(1, sizeof(*p));
  if (!p) {
    rpc_srv_reply_error(call, GRPC_STATUS_UNAVAILABLE,
                        "node busy with a hand-off; retry");
    return;
  }
  p->call = call;
  p->req = req;
  p->handler = handler;
  if (!n->parked_tail)
    n->parked_tail = &n->parked;
  *n->parked_tail = p;
  n->parked_tail = &p->next;
  rpc_srv_on_cancel(call, parked_on_cancel, n);
}

void node_svc_unpark(struct node *n)
{
  struct parked *list = n->parked;
  n->parked = NULL;
  n->parked_tail = &n->parked;
  while (list) {
    struct parked *p = list;
    list = p->next;
    rpc_srv_on_cancel(p->call, NULL, NULL);
    p->handler(p->call, p->req, n);
    free(p);
  }
}

/* ---- forwarding ---------------------------------------------------------- */

struct fwd {
  struct rpc_srv_call *in; /* NULL once the server answered it itself */
  char to[ADDR_STR_MAX];
};

static void fwd_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct fwd *f = ud;
  (void)call;
  f->in = NULL;
}

static void fwd_done(struct rpc_result *r, void *ud)
{
  struct fwd *f = ud;
  if (f->in) {
    rpc_srv_on_cancel(f->in, NULL, NULL);
    if (r->status.code == GRPC_STATUS_OK)
      rpc_srv_reply_raw(f->in, r->raw);
    else if (r->status.code == GRPC_STATUS_UNAVAILABLE &&
             !strstr(r->status.message, "cannot reach"))
      rpc_srv_reply_error(f->in, r->status.code, "cannot reach %s: %s", f->to,
                          r->status.message);
    else if (r->status.code == GRPC_STATUS_CANCELLED)
      /* Our caller did not cancel (f->in is live): the next hop did, as
       * gRPC does to a call that reaches a server shutting down. Nothing
       * was done there, so tell the caller to retry. */
      rpc_srv_reply_error(f->in, GRPC_STATUS_UNAVAILABLE,
                          "%s cancelled the request (shutting down?)", f->to);
    else
      rpc_srv_reply_error(f->in, r->status.code, "%s", r->status.message);
  }
  free(f);
}

static gpr_timespec node_forward_deadline(const struct node *n,
                                   const struct rpc_srv_call *call)
{
  gpr_timespec cap = rpc_deadline_in((int64_t)n->o.forward_timeout_ms);
  gpr_timespec in = rpc_srv_deadline(call);
  if (rpc_ms_until(in) < rpc_ms_until(cap))
    return gpr_convert_clock_type(in, GPR_CLOCK_MONOTONIC);
  return cap;
}

/* Sends msg (the request with its hop count advanced) to peer and answers
 * call with whatever comes back. */
static void forward(struct node *n, struct rpc_srv_call *call,
                    const struct chord_peer *peer, const ProtobufCMessage *msg)
{
  struct fwd *f = calloc(1, sizeof(*f));
  if (!f) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  f->in = call;
  snprintf(f->to, sizeof(f->to), "%s", peer->addr);
  struct rpc_req r = {.target = peer->addr,
                      .method = rpc_srv_method(call),
                      .msg = msg,
                      .deadline = node_forward_deadline(n, call)};
  int rc = rpc_client_call(n->d.client, &r, fwd_done, f);
  if (rc) {
    free(f);
    rpc_srv_reply_error(call, rpc_err_to_status(rc), "cannot forward to %s: %s",
                        peer->addr, chord_strerror(rc));
    return;
  }
  rpc_srv_on_cancel(call, fwd_on_cancel, f);
}

/* Forwards a copy of req (any of the routed messages) with its hop count
 * advanced and its direct flag set as given; the fields are found through
 * the message's descriptor, so one function serves every message type. */
static void forward_next(struct node *n, struct rpc_srv_call *call,
                         const struct chord_peer *next,
                         const ProtobufCMessage *req, bool direct)
{
  const ProtobufCMessageDescriptor *d = req->descriptor;
  const ProtobufCFieldDescriptor *hops =
      protobuf_c_message_descriptor_get_field_by_name(d, "hops");
  const ProtobufCFieldDescriptor *dir =
      protobuf_c_message_descriptor_get_field_by_name(d, "direct");
  uint8_t *copy = malloc(d->sizeof_message);
  if (!copy) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  /* A shallow copy: it shares the request's strings and bytes, which
   * outlive the forward's encoding. */
  memcpy(copy, req, d->sizeof_message);
  if (hops)
    *(uint32_t *)(copy + hops->offset) += 1;
  if (dir)
    *(protobuf_c_boolean *)(copy + dir->offset) = direct;
  forward(n, call, next, (const ProtobufCMessage *)copy);
  free(copy);
}

enum route { ROUTE_LOCAL, ROUTE_FORWARD, ROUTE_DONE };

/* A request flagged direct comes from a neighbour handing its range over:
 * honour it only for keys of ours or of our predecessor (the range a
 * leaving predecessor hands us); anything else is routed as usual, so a
 * client cannot plant a file on a node that does not own it. */
static bool direct_allowed(const struct node *n, const struct chord_id *key)
{
  const struct ring *r = &n->ring;
  if (n->state != NODE_JOINED && n->state != NODE_LEAVING)
    return false;
  if (ring_owns(r, key) || !r->has_pred2)
    return true;
  return chord_id_in_oc(key, &r->pred2.id, &r->ft.pred.id);
}

/* Decides where a request for key goes. ROUTE_FORWARD sets *next (and
 * *direct when the next node must serve it without routing); ROUTE_DONE
 * means the request was parked or answered. */
static enum route decide(struct node *n, struct rpc_srv_call *call,
                         const ProtobufCMessage *req, rpc_handler_cb self_cb,
                         const struct chord_id *key, bool mutating,
                         bool direct_in, uint32_t hops,
                         const struct chord_peer **next, bool *direct_out)
{
  *direct_out = false;
  /* A change to the range being released waits for the release, even when
   * it comes direct: served now, it would land in a change list the
   * release is about to discard, with the range. */
  if (n->park_own && mutating && in_give_range(n, key)) {
    park(n, call, req, self_cb);
    return ROUTE_DONE;
  }
  if (direct_in && direct_allowed(n, key))
    return ROUTE_LOCAL;
  if (hops >= n->o.hop_limit) {
    rpc_srv_reply_error(call, GRPC_STATUS_ABORTED,
                        "hop limit (%u) reached: the ring is changing or "
                        "inconsistent; retry",
                        n->o.hop_limit);
    return ROUTE_DONE;
  }
  switch (n->state) {
  case NODE_JOINING:
    if (!n->succ_at_join.addr[0]) {
      rpc_srv_reply_error(call, GRPC_STATUS_UNAVAILABLE,
                          "this node is still joining the ring; retry");
      return ROUTE_DONE;
    }
    if (n->park_own && chord_id_in_oc(key, &n->ring.ft.pred.id,
                                      &n->self.id)) {
      park(n, call, req, self_cb);
      return ROUTE_DONE;
    }
    *next = &n->succ_at_join;
    return ROUTE_FORWARD;
  case NODE_LEFT:
    if (in_give_range(n, key)) {
      *next = &n->give.to;
      *direct_out = true;
      return ROUTE_FORWARD;
    }
    break;
  case NODE_JOINED:
  case NODE_LEAVING:
    break;
  }
  if (ring_route(&n->ring, key, next) == RING_LOCAL)
    return ROUTE_LOCAL;
  return ROUTE_FORWARD;
}

/* Routes a request for key: true when this node serves it; otherwise it
 * has been forwarded (a copy with its hop count advanced), parked or
 * answered. */
static bool serve_here(struct node *n, struct rpc_srv_call *call,
                       const ProtobufCMessage *req, rpc_handler_cb self_cb,
                       const struct chord_id *key, bool mutating,
                       bool direct_in, uint32_t hops)
{
  const struct chord_peer *next;
  bool direct;
  switch (decide(n, call, req, self_cb, key, mutating, direct_in, hops, &next,
                 &direct)) {
  case ROUTE_LOCAL:
    return true;
  case ROUTE_FORWARD:
    forward_next(n, call, next, req, direct);
    return false;
  case ROUTE_DONE:
    break;
  }
  return false;
}

/* ---- local store operations ---------------------------------------------- */

struct op {
  struct job j;
  struct rpc_srv_call *call; /* NULL once the server answered it itself */
  struct chord_id key;
  struct store_entry *e;
  uint32_t hops;
  int rc;
};

static void op_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct op *o = ud;
  (void)call;
  o->call = NULL;
}

static struct op *op_new(struct node *n, struct rpc_srv_call *call,
                         const struct chord_id *key, uint32_t hops)
{
  struct op *o = calloc(1, sizeof(*o));
  if (!o) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return NULL;
  }
  o->j.n = n;
  o->call = call;
  o->key = *key;
  o->hops = hops;
  rpc_srv_on_cancel(call, op_on_cancel, o);
  return o;
}

/* Claims the op's call for answering; NULL when already answered. */
static struct rpc_srv_call *op_call(struct op *o)
{
  struct rpc_srv_call *c = o->call;
  if (c)
    rpc_srv_on_cancel(c, NULL, NULL);
  return c;
}

static void reply_store_error(struct rpc_srv_call *c, int rc, const char *what,
                              const char *name)
{
  if (rc == CHORD_ENOTFOUND)
    rpc_srv_reply_error(c, GRPC_STATUS_NOT_FOUND, "no file named \"%.200s\"",
                        name);
  else
    rpc_srv_reply_error(c, rpc_err_to_status(rc), "%s \"%.200s\" failed: %s",
                        what, name, chord_strerror(rc));
}

static uint64_t next_version(struct node *n)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t v = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
  if (v <= n->last_version)
    v = n->last_version + 1;
  n->last_version = v;
  return v;
}

static void put_work(struct job *j)
{
  struct op *o = (struct op *)j;
  o->rc = store_put(j->n->store, o->e, 0);
}

static void put_done(struct job *j)
{
  struct op *o = (struct op *)j;
  struct node *n = j->n;
  struct rpc_srv_call *c = op_call(o);
  if (c) {
    if (o->rc) {
      reply_store_error(c, o->rc, "storing", o->e->name);
    } else {
      Chord__V1__WriteResponse resp = CHORD__V1__WRITE_RESPONSE__INIT;
      Chord__V1__NodeInfo owner;
      nodeinfo_from_peer(&owner, &n->self);
      resp.hops = o->hops;
      resp.owner = &owner;
      resp.version = o->e->version;
      rpc_srv_reply(c, &resp.base);
    }
  }
  store_entry_unref(o->e);
  free(o);
}

static void get_work(struct job *j)
{
  struct op *o = (struct op *)j;
  o->rc = store_get(j->n->store, &o->key, &o->e);
}

static void get_done(struct job *j)
{
  struct op *o = (struct op *)j;
  struct node *n = j->n;
  struct rpc_srv_call *c = op_call(o);
  if (c) {
    if (o->rc) {
      if (o->rc == CHORD_ENOTFOUND)
        rpc_srv_reply_error(c, GRPC_STATUS_NOT_FOUND, "no such file");
      else
        rpc_srv_reply_error(c, rpc_err_to_status(o->rc), "reading failed: %s",
                            chord_strerror(o->rc));
    } else {
      Chord__V1__ReadResponse resp = CHORD__V1__READ_RESPONSE__INIT;
      Chord__V1__File f = CHORD__V1__FILE__INIT;
      Chord__V1__NodeInfo owner;
      nodeinfo_from_peer(&owner, &n->self);
      f.name = o->e->name;
      f.content.data = o->e->content;
      f.content.len = o->e->len;
      f.version = o->e->version;
      f.key.data = o->e->key.b;
      f.key.len = CHORD_ID_BYTES;
      resp.file = &f;
      resp.hops = o->hops;
      resp.owner = &owner;
      rpc_srv_reply(c, &resp.base);
    }
  }
  store_entry_unref(o->e);
  free(o);
}

static void del_work(struct job *j)
{
  struct op *o = (struct op *)j;
  o->rc = store_del(j->n->store, &o->key);
}

static void del_done(struct job *j)
{
  struct op *o = (struct op *)j;
  struct node *n = j->n;
  struct rpc_srv_call *c = op_call(o);
  if (c) {
    if (o->rc == CHORD_ENOTFOUND) {
      rpc_srv_reply_error(c, GRPC_STATUS_NOT_FOUND, "no such file");
    } else if (o->rc) {
      rpc_srv_reply_error(c, rpc_err_to_status(o->rc), "deleting failed: %s",
                          chord_strerror(o->rc));
    } else {
      Chord__V1__DeleteResponse resp = CHORD__V1__DELETE_RESPONSE__INIT;
      Chord__V1__NodeInfo owner;
      nodeinfo_from_peer(&owner, &n->self);
      resp.hops = o->hops;
      resp.owner = &owner;
      rpc_srv_reply(c, &resp.base);
    }
  }
  free(o);
}

/* ---- client face --------------------------------------------------------- */

static bool check_name(struct rpc_srv_call *call, const char *name)
{
  const char *why;
  if (name_check(name, strlen(name), &why) == 0)
    return true;
  rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT, "bad name: %s", why);
  return false;
}

static void on_write(struct rpc_srv_call *call, const ProtobufCMessage *req,
                     void *ud)
{
  struct node *n = ud;
  const Chord__V1__WriteRequest *r = (const Chord__V1__WriteRequest *)req;
  struct chord_id key;
  if (!r->file) {
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT,
                        "the request carries no file");
    return;
  }
  if (!check_name(call, r->file->name))
    return;
  if (r->file->content.len > n->o.max_file) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                        "the file is %zu bytes, over the %llu-byte limit",
                        r->file->content.len,
                        (unsigned long long)n->o.max_file);
    return;
  }
  chord_id_sha1_str(&key, r->file->name);
  if (!serve_here(n, call, req, on_write, &key, true, r->direct, r->hops))
    return;
  struct op *o = op_new(n, call, &key, r->hops);
  if (!o)
    return;
  o->e = store_entry_create(r->file->name, strlen(r->file->name),
                            r->file->content.data, r->file->content.len,
                            next_version(n));
  if (!o->e) {
    rpc_srv_on_cancel(call, NULL, NULL);
    free(o);
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  node_handoff_touch(n, &key);
  o->j.work = put_work;
  o->j.done = put_done;
  node_job_submit(n, &o->j);
}

static void on_read(struct rpc_srv_call *call, const ProtobufCMessage *req,
                    void *ud)
{
  struct node *n = ud;
  const Chord__V1__ReadRequest *r = (const Chord__V1__ReadRequest *)req;
  struct chord_id key;
  if (!check_name(call, r->name))
    return;
  chord_id_sha1_str(&key, r->name);
  if (!serve_here(n, call, req, on_read, &key, false, r->direct, r->hops))
    return;
  struct op *o = op_new(n, call, &key, r->hops);
  if (!o)
    return;
  o->j.work = get_work;
  o->j.done = get_done;
  node_job_submit(n, &o->j);
}

static void on_delete(struct rpc_srv_call *call, const ProtobufCMessage *req,
                      void *ud)
{
  struct node *n = ud;
  const Chord__V1__DeleteRequest *r = (const Chord__V1__DeleteRequest *)req;
  struct chord_id key;
  if (!check_name(call, r->name))
    return;
  chord_id_sha1_str(&key, r->name);
  if (!serve_here(n, call, req, on_delete, &key, true, r->direct, r->hops))
    return;
  struct op *o = op_new(n, call, &key, r->hops);
  if (!o)
    return;
  node_handoff_touch(n, &key);
  o->j.work = del_work;
  o->j.done = del_done;
  node_job_submit(n, &o->j);
}

static void on_lookup(struct rpc_srv_call *call, const ProtobufCMessage *req,
                      void *ud)
{
  struct node *n = ud;
  const Chord__V1__LookupRequest *r = (const Chord__V1__LookupRequest *)req;
  struct chord_id key;
  const struct chord_peer *next;
  bool direct;
  if (r->key.len) {
    if (chord_id_from_bytes(&key, r->key.data, r->key.len)) {
      rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT,
                          "the key is not 20 bytes");
      return;
    }
  } else {
    if (!check_name(call, r->name))
      return;
    chord_id_sha1_str(&key, r->name);
  }
  /* The path so far plus this node. */
  Chord__V1__NodeInfo me;
  nodeinfo_from_peer(&me, &n->self);
  size_t np = r->n_path + 1;
  Chord__V1__NodeInfo **path = malloc(np * sizeof(*path));
  if (!path) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  if (r->n_path)
    memcpy(path, r->path, r->n_path * sizeof(*path));
  path[np - 1] = &me;
  enum route rt = decide(n, call, req, on_lookup, &key, false, false,
                         (uint32_t)r->n_path, &next, &direct);
  if (rt == ROUTE_FORWARD) {
    Chord__V1__LookupRequest f = *r;
    f.key.data = key.b;
    f.key.len = CHORD_ID_BYTES;
    f.name = "";
    f.n_path = np;
    f.path = path;
    forward(n, call, next, &f.base);
  } else if (rt == ROUTE_LOCAL) {
    Chord__V1__LookupResponse resp = CHORD__V1__LOOKUP_RESPONSE__INIT;
    resp.key.data = key.b;
    resp.key.len = CHORD_ID_BYTES;
    resp.owner = &me;
    resp.n_path = np;
    resp.path = path;
    rpc_srv_reply(call, &resp.base);
  }
  free(path);
}

/* ---- ring face ----------------------------------------------------------- */

/* Decodes a repeated NodeInfo into a malloc'd peer array. */
static int peers_from(Chord__V1__NodeInfo **in, size_t n,
                      struct chord_peer **out, const char **why)
{
  *out = calloc(n ? n : 1, sizeof(**out));
  if (!*out) {
    *why = "out of memory";
    return CHORD_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    if (nodeinfo_to_peer(in[i], &(*out)[i], why)) {
      free(*out);
      *out = NULL;
      return CHORD_EINVAL;
    }
  }
  return 0;
}

static void on_update_dht(struct rpc_srv_call *call, const ProtobufCMessage *req,
                          void *ud)
{
  struct node *n = ud;
  const Chord__V1__UpdateDHTRequest *r = (const Chord__V1__UpdateDHTRequest *)req;
  struct chord_peer *list;
  const char *why;
  if (peers_from(r->members, r->n_members, &list, &why)) {
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT, "bad member: %s",
                        why);
    return;
  }
  int rc = 0;
  if (n->state == NODE_JOINED)
    rc = node_install(n, list, r->n_members);
  free(list);
  if (rc) {
    rpc_srv_reply_error(call, rpc_err_to_status(rc), "cannot install: %s",
                        chord_strerror(rc));
    return;
  }
  Chord__V1__UpdateDHTResponse resp = CHORD__V1__UPDATE_DHTRESPONSE__INIT;
  rpc_srv_reply(call, &resp.base);
}

static void on_find_successor(struct rpc_srv_call *call,
                              const ProtobufCMessage *req, void *ud)
{
  struct node *n = ud;
  const Chord__V1__FindSuccessorRequest *r =
      (const Chord__V1__FindSuccessorRequest *)req;
  struct chord_id key;
  if (chord_id_from_bytes(&key, r->id.data, r->id.len)) {
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT,
                        "the id is not 20 bytes");
    return;
  }
  if (!serve_here(n, call, req, on_find_successor, &key, false, false,
                  r->hops))
    return;
  Chord__V1__FindSuccessorResponse resp =
      CHORD__V1__FIND_SUCCESSOR_RESPONSE__INIT;
  Chord__V1__NodeInfo me;
  nodeinfo_from_peer(&me, &n->self);
  resp.successor = &me;
  resp.hops = r->hops;
  rpc_srv_reply(call, &resp.base);
}

static void on_get_predecessor(struct rpc_srv_call *call,
                               const ProtobufCMessage *req, void *ud)
{
  struct node *n = ud;
  Chord__V1__GetPredecessorResponse resp =
      CHORD__V1__GET_PREDECESSOR_RESPONSE__INIT;
  Chord__V1__NodeInfo p;
  (void)req;
  if (n->state != NODE_JOINING && n->ring.ft.has_pred) {
    nodeinfo_from_peer(&p, &n->ring.ft.pred);
    resp.predecessor = &p;
  }
  rpc_srv_reply(call, &resp.base);
}

static void on_notify(struct rpc_srv_call *call, const ProtobufCMessage *req,
                      void *ud)
{
  struct node *n = ud;
  const Chord__V1__NotifyRequest *r = (const Chord__V1__NotifyRequest *)req;
  struct chord_peer p;
  const char *why;
  if (nodeinfo_to_peer(r->node, &p, &why)) {
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT, "%s", why);
    return;
  }
  /* Chord's rule: a node between our predecessor and us is our new
   * predecessor. Adding it to the member list makes it so. */
  if (n->state == NODE_JOINED &&
      chord_id_in_oo(&p.id, &n->ring.ft.pred.id, &n->self.id)) {
    size_t k = n->ring.nmembers;
    struct chord_peer *list = malloc((k + 1) * sizeof(*list));
    if (list) {
      memcpy(list, n->ring.members, k * sizeof(*list));
      list[k] = p;
      node_install(n, list, k + 1);
      free(list);
    }
  }
  Chord__V1__NotifyResponse resp = CHORD__V1__NOTIFY_RESPONSE__INIT;
  rpc_srv_reply(call, &resp.base);
}

static void on_get_successor_list(struct rpc_srv_call *call,
                                  const ProtobufCMessage *req, void *ud)
{
  struct node *n = ud;
  Chord__V1__NodeInfo infos[FINGER_SUCC_MAX], *ptrs[FINGER_SUCC_MAX];
  (void)req;
  size_t k = n->ring.ft.nsucc;
  for (size_t i = 0; i < k; i++) {
    nodeinfo_from_peer(&infos[i], &n->ring.ft.succ[i]);
    ptrs[i] = &infos[i];
  }
  Chord__V1__GetSuccessorListResponse resp =
      CHORD__V1__GET_SUCCESSOR_LIST_RESPONSE__INIT;
  resp.n_successors = k;
  resp.successors = ptrs;
  rpc_srv_reply(call, &resp.base);
}

static void on_ping(struct rpc_srv_call *call, const ProtobufCMessage *req,
                    void *ud)
{
  struct node *n = ud;
  const Chord__V1__PingRequest *r = (const Chord__V1__PingRequest *)req;
  Chord__V1__PingResponse resp = CHORD__V1__PING_RESPONSE__INIT;
  Chord__V1__NodeInfo me;
  nodeinfo_from_peer(&me, &n->self);
  resp.node = &me;
  resp.payload = r->payload;
  rpc_srv_reply(call, &resp.base);
}

/* Answers Status with the store's figures (read off the loop). */
static void status_answer(struct node *n, struct rpc_srv_call *call,
                          bool all_fingers, uint64_t keys, uint64_t bytes)
{
  const struct finger_table *ft = &n->ring.ft;
  Chord__V1__StatusResponse resp = CHORD__V1__STATUS_RESPONSE__INIT;
  Chord__V1__NodeInfo me, pred, succ[FINGER_SUCC_MAX], *succp[FINGER_SUCC_MAX];
  Chord__V1__NodeInfo fnode[FINGER_COUNT];
  Chord__V1__Finger fing[FINGER_COUNT], *fingp[FINGER_COUNT];
  struct chord_peer distinct[FINGER_COUNT];
  unsigned idx[FINGER_COUNT];
  size_t nf;

  nodeinfo_from_peer(&me, &n->self);
  resp.self = &me;
  bool member = n->state == NODE_JOINED || n->state == NODE_LEAVING;
  if (member && ft->has_pred) {
    nodeinfo_from_peer(&pred, &ft->pred);
    resp.predecessor = &pred;
  }
  size_t ns = member ? ft->nsucc : 0;
  for (size_t i = 0; i < ns; i++) {
    nodeinfo_from_peer(&succ[i], &ft->succ[i]);
    succp[i] = &succ[i];
  }
  resp.n_successors = ns;
  resp.successors = succp;
  if (!member) {
    nf = 0;
  } else if (all_fingers) {
    for (size_t i = 0; i < FINGER_COUNT; i++) {
      distinct[i] = ft->finger[i];
      idx[i] = (unsigned)i;
    }
    nf = FINGER_COUNT;
  } else {
    nf = finger_distinct(ft, distinct, idx, FINGER_COUNT);
  }
  for (size_t i = 0; i < nf; i++) {
    chord__v1__finger__init(&fing[i]);
    nodeinfo_from_peer(&fnode[i], &distinct[i]);
    fing[i].index = idx[i];
    fing[i].node = &fnode[i];
    fingp[i] = &fing[i];
  }
  resp.n_fingers = nf;
  resp.fingers = fingp;
  resp.keys = keys;
  resp.bytes = bytes;
  resp.version = CHORD_VERSION;
  resp.uptime_ms = node_now_ms() - n->started_ms;
  resp.joined = member && n->registered;
  rpc_srv_reply(call, &resp.base);
}

struct stat_job {
  struct job j;
  struct rpc_srv_call *call; /* NULL once the server answered it itself */
  bool all_fingers;
  uint64_t keys, bytes;
};

static void stat_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct stat_job *sj = ud;
  (void)call;
  sj->call = NULL;
}

/* The dir store's lock may be held across an fsync: not on the loop. */
static void stat_work(struct job *j)
{
  struct stat_job *sj = (struct stat_job *)j;
  store_stats(j->n->store, &sj->keys, &sj->bytes);
}

static void stat_done(struct job *j)
{
  struct stat_job *sj = (struct stat_job *)j;
  if (sj->call) {
    rpc_srv_on_cancel(sj->call, NULL, NULL);
    status_answer(j->n, sj->call, sj->all_fingers, sj->keys, sj->bytes);
  }
  free(sj);
}

static void on_status(struct rpc_srv_call *call, const ProtobufCMessage *req,
                      void *ud)
{
  struct node *n = ud;
  const Chord__V1__StatusRequest *r = (const Chord__V1__StatusRequest *)req;
  struct stat_job *sj = calloc(1, sizeof(*sj));
  if (!sj) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  sj->j.n = n;
  sj->j.work = stat_work;
  sj->j.done = stat_done;
  sj->call = call;
  sj->all_fingers = r->all_fingers;
  rpc_srv_on_cancel(call, stat_on_cancel, sj);
  node_job_submit(n, &sj->j);
}

/* ---- TransferKeys: a successor hands a range to a joiner ----------------- */

struct page {
  struct job j;
  struct rpc_srv_call *call;
  struct chord_id from, upto, after;
  bool has_after;
  uint64_t max_bytes;
  struct chord_id *changed; /* release: the keys changed during the hand-off */
  size_t nchanged;
  struct xfer_batch batch;  /* what goes back */
  int rc;
};

static void page_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct page *p = ud;
  (void)call;
  p->call = NULL;
}

/* Off the loop: the next page of the range. */
static void page_work(struct job *j)
{
  struct page *p = (struct page *)j;
  p->rc = xfer_collect_range(j->n->store, &p->from, &p->upto,
                             p->has_after ? &p->after : NULL, p->max_bytes,
                             &p->batch);
}

/* Off the loop: the current state of every changed key. */
static void release_work(struct job *j)
{
  struct page *p = (struct page *)j;
  p->rc = xfer_collect_changes(j->n->store, p->changed, p->nchanged,
                               &p->batch);
}

static void page_free(struct page *p)
{
  xfer_batch_clear(&p->batch);
  free(p->changed);
  free(p);
}

static void page_reply(struct page *p)
{
  Chord__V1__TransferKeysResponse resp =
      CHORD__V1__TRANSFER_KEYS_RESPONSE__INIT;
  struct xfer_wire w;
  if (xfer_wire_make(&p->batch, &w)) {
    rpc_srv_reply_error(p->call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                        "out of memory");
    return;
  }
  resp.n_files = p->batch.n;
  resp.files = w.ptrs;
  resp.more = p->batch.more;
  resp.n_deleted = p->batch.ndeleted;
  resp.deleted = w.deleted;
  rpc_srv_reply(p->call, &resp.base);
  xfer_wire_free(&w);
}

static void page_done(struct job *j)
{
  struct page *p = (struct page *)j;
  if (p->call) {
    rpc_srv_on_cancel(p->call, NULL, NULL);
    if (p->rc)
      rpc_srv_reply_error(p->call, rpc_err_to_status(p->rc),
                          "cannot read the range: %s", chord_strerror(p->rc));
    else
      page_reply(p);
  }
  page_free(p);
}

/* Drops the handed range from our store after a release. */
struct drop {
  struct job j;
  struct chord_id from, upto;
};

static void drop_work(struct job *j)
{
  struct drop *d = (struct drop *)j;
  struct chord_id *keys = NULL;
  size_t nk = 0;
  if (store_keys_in(j->n->store, &d->from, &d->upto, &keys, &nk))
    return;
  for (size_t i = 0; i < nk; i++)
    store_del(j->n->store, &keys[i]);
  free(keys);
}

static void drop_done(struct job *j)
{
  free(j);
}

void node_drop_range(struct node *n, const struct chord_id *from,
                     const struct chord_id *upto)
{
  struct drop *d = calloc(1, sizeof(*d));
  if (!d) {
    LOG_WARN("out of memory: handed-over entries stay in the store");
    return;
  }
  d->j.n = n;
  d->j.work = drop_work;
  d->j.done = drop_done;
  d->from = *from;
  d->upto = *upto;
  node_job_submit(n, &d->j);
}

static void release_done(struct job *j)
{
  struct page *p = (struct page *)j;
  struct node *n = j->n;
  struct chord_peer to = n->give.to;
  struct chord_id from = n->give.from, upto = n->give.upto;
  if (p->rc || !p->call) {
    /* The joiner gets no changes (they could not be read, or it went
     * away): keep the range and the hand-off, changes included, so that
     * its retry of the release finds them. */
    for (size_t i = 0; i < p->nchanged; i++)
      node_handoff_touch(n, &p->changed[i]);
    n->park_own = false;
    page_done(j); /* answers the error, if anyone still waits */
    LOG_WARN("release of the range up to %s failed: the range stays here",
             to.addr);
    node_svc_unpark(n);
    return;
  }
  page_done(j); /* answers the joiner with the changes */
  /* From now on the range is the joiner's: route it there. */
  size_t k = n->ring.nmembers;
  struct chord_peer *list = malloc((k + 1) * sizeof(*list));
  if (list) {
    memcpy(list, n->ring.members, k * sizeof(*list));
    list[k] = to;
    node_install(n, list, k + 1);
    free(list);
  }
  node_handoff_clear(&n->give);
  n->park_own = false;
  node_drop_range(n, &from, &upto);
  LOG_INFO("handed the range up to %s over to it", to.addr);
  node_svc_unpark(n);
}

static void on_transfer_keys(struct rpc_srv_call *call,
                             const ProtobufCMessage *req, void *ud);

/* Runs a parked release once the store jobs started before it are done. */
void node_svc_jobs_drained(struct node *n)
{
  if (!n->release_call || n->jobs)
    return;
  struct rpc_srv_call *c = n->release_call;
  const ProtobufCMessage *r = n->release_req;
  n->release_call = NULL;
  n->release_req = NULL;
  rpc_srv_on_cancel(c, NULL, NULL);
  on_transfer_keys(c, r, n);
}

static void release_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct node *n = ud;
  (void)call;
  n->release_call = NULL;
  n->park_own = false;
}

static void on_transfer_keys(struct rpc_srv_call *call,
                             const ProtobufCMessage *req, void *ud)
{
  struct node *n = ud;
  const Chord__V1__TransferKeysRequest *r =
      (const Chord__V1__TransferKeysRequest *)req;
  struct chord_peer to;
  struct chord_id from, upto;
  const char *why;
  if (nodeinfo_to_peer(r->requester, &to, &why)) {
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT, "%s", why);
    return;
  }
  if (chord_id_from_bytes(&from, r->from.data, r->from.len) ||
      chord_id_from_bytes(&upto, r->to.data, r->to.len) ||
      (r->after.len && r->after.len != CHORD_ID_BYTES)) {
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT,
                        "from, to and after must be 20-byte keys");
    return;
  }
  if (n->state != NODE_JOINED) {
    rpc_srv_reply_error(call, GRPC_STATUS_UNAVAILABLE,
                        "this node is not a settled member; retry");
    return;
  }
  bool same = n->give.active && chord_id_eq(&n->give.to.id, &to.id) &&
              chord_id_eq(&n->give.from, &from) &&
              chord_id_eq(&n->give.upto, &upto);
  if (r->release) {
    if (!same) {
      rpc_srv_reply_error(call, GRPC_STATUS_FAILED_PRECONDITION,
                          "no transfer of this range is in progress");
      return;
    }
    /* Hold new writes to the range, and let those under way finish, so
     * the change list is complete when it is read. */
    n->park_own = true;
    if (n->jobs) {
      n->release_call = call;
      n->release_req = req;
      rpc_srv_on_cancel(call, release_on_cancel, n);
      return;
    }
  } else if (!same) {
    /* A new hand-off (a previous joiner that died is forgotten). */
    node_handoff_clear(&n->give);
    n->give.active = true;
    n->give.to = to;
    n->give.from = from;
    n->give.upto = upto;
    LOG_INFO("handing keys to joiner %s", to.addr);
  }
  n->give.last_ms = node_now_ms();
  struct page *p = calloc(1, sizeof(*p));
  if (!p) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  p->j.n = n;
  p->call = call;
  p->from = from;
  p->upto = upto;
  /* The caller may ask for smaller pages, never for larger ones: a page is
   * held in memory whole. */
  p->max_bytes = r->max_bytes && r->max_bytes < n->o.page_bytes
                     ? r->max_bytes
                     : n->o.page_bytes;
  if (r->after.len) {
    memcpy(p->after.b, r->after.data, CHORD_ID_BYTES);
    p->has_after = true;
  }
  rpc_srv_on_cancel(call, page_on_cancel, p);
  if (r->release) {
    p->changed = n->give.changed.keys;
    p->nchanged = n->give.changed.n;
    n->give.changed.keys = NULL;
    n->give.changed.n = n->give.changed.cap = 0;
    p->j.work = release_work;
    p->j.done = release_done;
  } else {
    p->j.work = page_work;
    p->j.done = page_done;
  }
  node_job_submit(n, &p->j);
}

/* ---- Replicate: a leaving predecessor hands us its files ----------------- */

struct repl {
  struct job j;
  struct rpc_srv_call *call;
  struct store_entry **entries;
  size_t n;
  struct chord_id *deleted;
  size_t ndeleted;
  int rc;
};

static void repl_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct repl *p = ud;
  (void)call;
  p->call = NULL;
}

static void repl_work(struct job *j)
{
  struct repl *p = (struct repl *)j;
  for (size_t i = 0; i < p->n && !p->rc; i++) {
    int rc = store_put(j->n->store, p->entries[i], STORE_PUT_IF_NEWER);
    if (rc && rc != CHORD_EEXIST)
      p->rc = rc;
  }
  for (size_t i = 0; i < p->ndeleted; i++)
    store_del(j->n->store, &p->deleted[i]);
}

static void repl_done(struct job *j)
{
  struct repl *p = (struct repl *)j;
  if (p->call) {
    rpc_srv_on_cancel(p->call, NULL, NULL);
    if (p->rc) {
      rpc_srv_reply_error(p->call, rpc_err_to_status(p->rc),
                          "cannot store replicas: %s", chord_strerror(p->rc));
    } else {
      Chord__V1__ReplicateResponse resp = CHORD__V1__REPLICATE_RESPONSE__INIT;
      rpc_srv_reply(p->call, &resp.base);
    }
  }
  for (size_t i = 0; i < p->n; i++)
    store_entry_unref(p->entries[i]);
  free(p->entries);
  free(p->deleted);
  free(p);
}

int node_entries_from_files(struct node *n, Chord__V1__File **files,
                            size_t nf, struct store_entry ***out,
                            const char **why)
{
  struct store_entry **es = calloc(nf ? nf : 1, sizeof(*es));
  *out = NULL;
  if (!es) {
    *why = "out of memory";
    return CHORD_ENOMEM;
  }
  for (size_t i = 0; i < nf; i++) {
    const Chord__V1__File *f = files[i];
    size_t len = strlen(f->name);
    if (name_check(f->name, len, why) || f->content.len > n->o.max_file) {
      if (f->content.len > n->o.max_file)
        *why = "a file is over the size limit";
      goto fail;
    }
    es[i] = store_entry_create(f->name, len, f->content.data, f->content.len,
                               f->version);
    if (!es[i]) {
      *why = "out of memory";
      goto fail;
    }
    if (n->last_version < f->version)
      n->last_version = f->version;
  }
  *out = es;
  return 0;
fail:
  for (size_t i = 0; i < nf; i++)
    store_entry_unref(es[i]);
  free(es);
  return CHORD_EINVAL;
}

static void on_replicate(struct rpc_srv_call *call, const ProtobufCMessage *req,
                         void *ud)
{
  struct node *n = ud;
  const Chord__V1__ReplicateRequest *r = (const Chord__V1__ReplicateRequest *)req;
  const char *why = NULL;
  struct repl *p = calloc(1, sizeof(*p));
  if (!p) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  p->j.n = n;
  p->call = call;
  if (node_entries_from_files(n, r->files, r->n_files, &p->entries, &why)) {
    free(p);
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT, "bad file: %s",
                        why);
    return;
  }
  p->n = r->n_files;
  p->deleted = calloc(r->n_deleted ? r->n_deleted : 1, sizeof(*p->deleted));
  if (!p->deleted)
    goto nomem;
  for (size_t i = 0; i < r->n_deleted; i++) {
    if (chord_id_from_bytes(&p->deleted[i], r->deleted[i].data,
                            r->deleted[i].len)) {
      p->call = NULL;
      repl_done(&p->j);
      rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT,
                          "deleted keys must be 20 bytes");
      return;
    }
  }
  p->ndeleted = r->n_deleted;
  rpc_srv_on_cancel(call, repl_on_cancel, p);
  p->j.work = repl_work;
  p->j.done = repl_done;
  node_job_submit(n, &p->j);
  return;
nomem:
  p->call = NULL;
  repl_done(&p->j);
  rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
}

int node_svc_register(struct node *n)
{
  static const struct {
    const char *name;
    rpc_handler_cb cb;
  } table[] = {
      {"Read", on_read},
      {"Write", on_write},
      {"Delete", on_delete},
      {"Lookup", on_lookup},
      {"UpdateDHT", on_update_dht},
      {"FindSuccessor", on_find_successor},
      {"GetPredecessor", on_get_predecessor},
      {"Notify", on_notify},
      {"GetSuccessorList", on_get_successor_list},
      {"TransferKeys", on_transfer_keys},
      {"Replicate", on_replicate},
      {"Ping", on_ping},
      {"Status", on_status},
  };
  rpc_handler_cb h[32] = {0};
  if (NODE_SVC->n_methods > sizeof(h) / sizeof(h[0]))
    return CHORD_EINTERNAL;
  for (unsigned i = 0; i < NODE_SVC->n_methods; i++)
    for (size_t k = 0; k < sizeof(table) / sizeof(table[0]); k++)
      if (strcmp(NODE_SVC->methods[i].name, table[k].name) == 0)
        h[i] = table[k].cb;
  return rpc_server_add_service(n->d.server, NODE_SVC, h, n);
}
