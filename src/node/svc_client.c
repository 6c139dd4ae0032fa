/* SPDX-License-Identifier: MIT */
/* The client face: Read, Write, Delete and Lookup, each checked and
 * routed along the ring; where this node owns the key, owner.c serves it. */
#include <stdlib.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "common/codec.h"
#include "common/err.h"
#include "common/manifest.h"
#include "common/nodeinfo.h"
#include "node/forward.h"
#include "node/node.h"
#include "node/owner.h"
#include "node/svc.h"

/* A request's direct flag (serve it here: a neighbour hands its range
 * over) is honoured only from ring members, callers with the cluster
 * token: a client cannot steer a file to a node that does not own it. */

/* A manifest written (File.manifest) must be one this node would follow:
 * false after answering why not. */
static bool manifest_ok(struct node *n, struct rpc_srv_call *call,
                        const Chord__V1__File *f)
{
  Chord__V1__Manifest *m = NULL;
  struct manifest_limits lim = {
      .max_object = n->o.max_object,
      .max_chunk = n->o.max_file,
      .now_us = node_wall_us(),
      .grace_us = manifest_write_limit_us(n->o.chunk_grace_ms * 1000)};
  const char *why = "the manifest does not decode";
  int rc = codec_decode_bytes(f->content.data, f->content.len,
                              &chord__v1__manifest__descriptor,
                              (ProtobufCMessage **)&m);
  if (rc == 0)
    rc = manifest_check(m, &lim, &why);
  else if (rc != CHORD_ENOMEM)
    rc = CHORD_EINVAL;
  codec_free((ProtobufCMessage *)m);
  if (rc == 0)
    return true;
  rpc_srv_reply_error(call,
                      rc == CHORD_EINVAL ? GRPC_STATUS_INVALID_ARGUMENT
                                         : rpc_err_to_status(rc),
                      "bad manifest: %s", why);
  return false;
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
  struct route_req rq = {key, true, r->direct && rpc_srv_member(call), r->hops};
  if (r->file->manifest && r->file->deleted) {
    rpc_srv_reply_error(call, GRPC_STATUS_INVALID_ARGUMENT,
                        "a manifest cannot be a tombstone");
    return;
  }
  if (r->file->manifest && !manifest_ok(n, call, r->file))
    return;
  if (!svc_serve_here(n, call, req, svc_on_write, &rq))
    return;
  struct store_entry *e =
      r->file->manifest
          ? store_manifest_create(r->file->name, strlen(r->file->name),
                                  r->file->content.data, r->file->content.len,
                                  node_version_next(n))
          : store_entry_create(r->file->name, strlen(r->file->name),
                               r->file->content.data, r->file->content.len,
                               node_version_next(n));
  if (!e) {
    rpc_srv_reply_error(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  owner_write(n, call, e, r->hops);
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
  struct route_req rq = {key, false, r->direct && rpc_srv_member(call),
                         r->hops};
  if (!svc_serve_here(n, call, req, svc_on_read, &rq))
    return;
  owner_read(n, call, &key, r->hops,
             (r->accept_manifest ? OWNER_ACCEPT_MANIFEST : 0) |
                 (r->include_deleted ? OWNER_INCLUDE_DELETED : 0));
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
  struct route_req rq = {key, true, r->direct && rpc_srv_member(call), r->hops};
  if (!svc_serve_here(n, call, req, svc_on_delete, &rq))
    return;
  owner_delete(n, call, &key, r->hops, r->version);
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
