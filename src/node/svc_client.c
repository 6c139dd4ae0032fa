/* SPDX-License-Identifier: MIT */
/* The client face: Read, Write, Delete and Lookup, each routed along the
 * ring and, where this node owns the key, served with a store job. */
#include <stdlib.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "common/err.h"
#include "common/nodeinfo.h"
#include "node/forward.h"
#include "node/node.h"
#include "node/svc.h"

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

void svc_on_write(struct rpc_srv_call *call, const ProtobufCMessage *req,
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
  if (!svc_check_name(call, r->file->name))
    return;
  if (r->file->content.len > n->o.max_file) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                        "the file is %zu bytes, over the %llu-byte limit",
                        r->file->content.len,
                        (unsigned long long)n->o.max_file);
    return;
  }
  chord_id_sha1_str(&key, r->file->name);
  struct route_req rq = {key, true, r->direct, r->hops};
  if (!svc_serve_here(n, call, req, svc_on_write, &rq))
    return;
  struct op *o = op_new(n, call, &key, r->hops);
  if (!o)
    return;
  o->e = store_entry_create(r->file->name, strlen(r->file->name),
                            r->file->content.data, r->file->content.len,
                            node_version_next(n));
  if (!o->e) {
    rpc_srv_on_cancel(call, NULL, NULL);
    free(o);
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  node_touch(n, &key);
  o->j.work = put_work;
  o->j.done = put_done;
  jobs_submit(&n->jobs, &o->j);
}

void svc_on_read(struct rpc_srv_call *call, const ProtobufCMessage *req,
                 void *ud)
{
  struct node *n = ud;
  const Chord__V1__ReadRequest *r = (const Chord__V1__ReadRequest *)req;
  struct chord_id key;
  if (!svc_check_name(call, r->name))
    return;
  chord_id_sha1_str(&key, r->name);
  struct route_req rq = {key, false, r->direct, r->hops};
  if (!svc_serve_here(n, call, req, svc_on_read, &rq))
    return;
  struct op *o = op_new(n, call, &key, r->hops);
  if (!o)
    return;
  o->j.work = get_work;
  o->j.done = get_done;
  jobs_submit(&n->jobs, &o->j);
}

void svc_on_delete(struct rpc_srv_call *call, const ProtobufCMessage *req,
                   void *ud)
{
  struct node *n = ud;
  const Chord__V1__DeleteRequest *r = (const Chord__V1__DeleteRequest *)req;
  struct chord_id key;
  if (!svc_check_name(call, r->name))
    return;
  chord_id_sha1_str(&key, r->name);
  struct route_req rq = {key, true, r->direct, r->hops};
  if (!svc_serve_here(n, call, req, svc_on_delete, &rq))
    return;
  struct op *o = op_new(n, call, &key, r->hops);
  if (!o)
    return;
  node_touch(n, &key);
  o->j.work = del_work;
  o->j.done = del_done;
  jobs_submit(&n->jobs, &o->j);
}

void svc_on_lookup(struct rpc_srv_call *call, const ProtobufCMessage *req,
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
    if (!svc_check_name(call, r->name))
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
  struct route_req rq = {key, false, false, (uint32_t)r->n_path};
  enum route_verdict rt =
      svc_route(n, call, req, svc_on_lookup, &rq, &next, &direct);
  if (rt == ROUTE_FORWARD) {
    Chord__V1__LookupRequest f = *r;
    f.key.data = key.b;
    f.key.len = CHORD_ID_BYTES;
    f.name = "";
    f.n_path = np;
    f.path = path;
    struct forward_opts fo;
    svc_forward_opts(n, &fo);
    forward_send(n->d.client, call, next, &f.base, &fo);
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
