/* SPDX-License-Identifier: MIT */
/* chordctl's subcommands, one function each: check the arguments, make
 * the calls (through cluster.c) and hand the answers to output.c. */
#include "client/commands.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "chord/v1/supernode.pb-c.h"
#include "client/args.h"
#include "client/chunked.h"
#include "client/cluster.h"
#include "client/fileio.h"
#include "client/output.h"
#include "client/progress.h"
#include "common/addr.h"
#include "common/chord_id.h"
#include "grpc/health/v1/health.pb-c.h"

#define NODE_READ "/chord.v1.Node/Read"
#define NODE_DELETE "/chord.v1.Node/Delete"
#define NODE_LOOKUP "/chord.v1.Node/Lookup"
#define NODE_STATUS "/chord.v1.Node/Status"
#define SN_LIST_NODES "/chord.v1.Supernode/ListNodes"
#define HEALTH_CHECK "/grpc.health.v1.Health/Check"

#define RING_WALK_MAX 4096 /* most members `ring --node` follows */

/* ---- file commands ------------------------------------------------------ */

/* Stores the content of FILE (or standard input, when absent or "-") as
 * NAME on the node that owns it. Returns an exit code (enum output_exit)
 * after printing the result or one error sentence; argv[0] is "write".
 * ctl->rpc must be set. Main thread, as every commands_ function. */
int commands_write(struct chordctl *ctl, int argc, char **argv)
{
  static const struct args_spec spec = {NULL, 0, 1, 2, "NAME [FILE]"};
  const char *pos[ARGS_MAX_POS];
  char what[OUTPUT_WHAT_MAX];
  size_t npos;
  int rc;

  rc = args_parse(ctl, argc, argv, &spec, pos, &npos);
  if (rc)
    return rc;
  output_what(what, sizeof(what), "write", pos[0]);
  rc = args_check_name(ctl, what, pos[0]);
  if (rc)
    return rc;
  return chunked_write(ctl, what, pos[0], npos > 1 ? pos[1] : "-");
}

/* Fetches the file NAME and writes its content to standard output, or
 * with -o FILE atomically to FILE followed by a line saying so. Content
 * over --max-size is refused (OUTPUT_EXIT_REFUSED). Returns an exit
 * code; argv[0] is "read". */
int commands_read(struct chordctl *ctl, int argc, char **argv)
{
  Chord__V1__ReadRequest req = CHORD__V1__READ_REQUEST__INIT;
  const Chord__V1__ReadResponse *r;
  const char *output = NULL, *pos[ARGS_MAX_POS];
  const struct args_opt opts[] = {{"--output", "-o", &output, NULL}};
  const struct args_spec spec = {opts, 1, 1, 1, "NAME [-o FILE]"};
  struct rpc_result res;
  char what[OUTPUT_WHAT_MAX];
  size_t npos;
  bool to_file;
  uint64_t t0 = progress_now_ms();
  int rc;

  rc = args_parse(ctl, argc, argv, &spec, pos, &npos);
  if (rc)
    return rc;
  if (output && !output[0])
    return output_usage(ctl, "read", "read: -o needs a file name");
  to_file = output && strcmp(output, "-") != 0;
  if (ctl->json && output && !to_file)
    return output_usage(ctl, "read",
                        "read: -o - cannot be used with --json, which "
                        "prints the metadata on standard output");
  output_what(what, sizeof(what), "read", pos[0]);
  rc = args_check_name(ctl, what, pos[0]);
  if (rc)
    return rc;
  req.name = (char *)pos[0];
  req.accept_manifest = true;
  rc = cluster_node_call(ctl, what, pos[0], NODE_READ, &req.base,
                         &chord__v1__read_response__descriptor, &res);
  if (rc)
    return rc;
  r = (const Chord__V1__ReadResponse *)res.resp;
  cluster_learn_owner(ctl, r->owner);
  if (!r->file) {
    output_error(ctl, "%s: the node answered without the file", what);
    rc = OUTPUT_EXIT_FAILURE;
    goto cleanup;
  }
  if (r->file->manifest && ctl->json && !to_file) {
    rc = output_usage(ctl, "read",
                      "%s: a chunked file; with --json give -o FILE", what);
    goto cleanup;
  }
  if (r->file->manifest) {
    rc = chunked_read(ctl, what, pos[0], r, to_file ? output : "-");
    goto cleanup;
  }
  if (r->file->content.len > ctl->max_size) {
    output_error(ctl,
                 "%s: the file is %zu bytes, over the %" PRIu64 "-byte limit",
                 what, r->file->content.len, ctl->max_size);
    rc = OUTPUT_EXIT_REFUSED;
    goto cleanup;
  }
  if (to_file || !ctl->json)
    rc = fileio_write_output(ctl, what, to_file ? output : "-",
                             r->file->content.data, r->file->content.len);
  if (rc == 0) {
    struct output_xfer ox = {r->file->content.len, 0,
                             (double)(progress_now_ms() - t0) / 1000.0};
    output_read(ctl, pos[0], r, to_file ? output : NULL, &ox);
  }

cleanup:
  rpc_result_clear(&res);
  return rc;
}

/* Parses the one NAME argument of command verb, writes `verb "NAME"` into
 * what and checks the name. On 0, *name points into argv; otherwise an
 * exit code is returned after printing why. */
static int one_name(struct chordctl *ctl, int argc, char **argv,
                    const char *verb, char what[OUTPUT_WHAT_MAX],
                    const char **name)
{
  static const struct args_spec spec = {NULL, 0, 1, 1, "NAME"};
  const char *pos[ARGS_MAX_POS];
  size_t npos;
  int rc;

  rc = args_parse(ctl, argc, argv, &spec, pos, &npos);
  if (rc)
    return rc;
  output_what(what, OUTPUT_WHAT_MAX, verb, pos[0]);
  rc = args_check_name(ctl, what, pos[0]);
  if (rc)
    return rc;
  *name = pos[0];
  return 0;
}

/* Removes the file NAME. Returns an exit code (OUTPUT_EXIT_NOTFOUND when
 * there is no such file); argv[0] is "delete". */
int commands_delete(struct chordctl *ctl, int argc, char **argv)
{
  Chord__V1__DeleteRequest req = CHORD__V1__DELETE_REQUEST__INIT;
  struct rpc_result res;
  char what[OUTPUT_WHAT_MAX];
  const char *name;
  int rc;

  rc = one_name(ctl, argc, argv, "delete", what, &name);
  if (rc)
    return rc;
  req.name = (char *)name;
  ctl->retried_unsure = false;
  ctl->unsure_notfound_ok = true;
  rc = cluster_node_call(ctl, what, name, NODE_DELETE, &req.base,
                         &chord__v1__delete_response__descriptor, &res);
  if (rc == 0) {
    const Chord__V1__DeleteResponse *r =
        (const Chord__V1__DeleteResponse *)res.resp;
    cluster_learn_owner(ctl, r->owner);
    output_delete(ctl, name, r);
  } else if (rc == OUTPUT_EXIT_NOTFOUND && ctl->retried_unsure)
    rc = output_delete_unsure(ctl, name);
  rpc_result_clear(&res);
  return rc;
}

/* Shows the key of NAME, its owner and the path a request takes to it,
 * reading or writing nothing. Returns an exit code; argv[0] is
 * "lookup". */
int commands_lookup(struct chordctl *ctl, int argc, char **argv)
{
  Chord__V1__LookupRequest req = CHORD__V1__LOOKUP_REQUEST__INIT;
  struct rpc_result res;
  char what[OUTPUT_WHAT_MAX];
  const char *name;
  int rc;

  rc = one_name(ctl, argc, argv, "lookup", what, &name);
  if (rc)
    return rc;
  req.name = (char *)name;
  rc = cluster_node_call(ctl, what, name, NODE_LOOKUP, &req.base,
                         &chord__v1__lookup_response__descriptor, &res);
  if (rc == 0) {
    const Chord__V1__LookupResponse *r =
        (const Chord__V1__LookupResponse *)res.resp;
    cluster_learn_owner(ctl, r->owner);
    output_lookup(ctl, name, r);
  }
  rpc_result_clear(&res);
  return rc;
}

/* ---- ring --------------------------------------------------------------- */

/* Orders ring members by id, the ring order starting from zero. */
static int member_cmp(const void *a, const void *b)
{
  const struct output_ring_member *ma = a, *mb = b;
  const ProtobufCBinaryData *x = &ma->node->id, *y = &mb->node->id;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = n ? memcmp(x->data, y->data, n) : 0;
  if (c)
    return c;
  return (x->len > y->len) - (x->len < y->len);
}

static bool same_id(const Chord__V1__NodeInfo *a, const Chord__V1__NodeInfo *b)
{
  return a->id.len == b->id.len &&
         (a->id.len == 0 || memcmp(a->id.data, b->id.data, a->id.len) == 0);
}

/* Asks the node at n->addr for its status into *res and fills *m: the
 * status on success, else the error. */
static void member_status(struct chordctl *ctl, const Chord__V1__NodeInfo *n,
                          struct output_ring_member *m, struct rpc_result *res)
{
  Chord__V1__StatusRequest req = CHORD__V1__STATUS_REQUEST__INIT;

  memset(m, 0, sizeof(*m));
  memset(res, 0, sizeof(*res));
  m->node = n;
  if (addr_validate(n->addr, 0)) {
    m->error.code = GRPC_STATUS_INVALID_ARGUMENT;
    snprintf(m->error.message, sizeof(m->error.message),
             "not a HOST:PORT address");
    return;
  }
  if (cluster_call(ctl, n->addr, NODE_STATUS, &req.base,
                   &chord__v1__status_response__descriptor,
                   res) == GRPC_STATUS_OK) {
    m->status = (const Chord__V1__StatusResponse *)res->resp;
  } else {
    m->error = res->status;
    rpc_result_clear(res);
  }
}

/* Makes room for one more member in *m and *res (n used of *cap). 0, or
 * -1 after saying that memory ran out (the arrays stay valid). */
static int grow_members(struct chordctl *ctl, struct output_ring_member **m,
                        struct rpc_result **res, size_t n, size_t *cap)
{
  if (n < *cap)
    return 0;
  size_t ncap = *cap * 2;
  struct output_ring_member *nm = realloc(*m, ncap * sizeof(*nm));
  if (nm)
    *m = nm;
  struct rpc_result *nr = realloc(*res, ncap * sizeof(*nr));
  if (nr)
    *res = nr;
  if (!nm || !nr) {
    output_error(ctl, "ring: out of memory");
    return -1;
  }
  *cap = ncap;
  return 0;
}

/* `ring` with --node: follows successors from that node around the ring
 * and asks each member its status. A member that does not answer is shown
 * as unreachable and the walk goes on with the next successor in the list
 * of the last member that answered. */
static int ring_walk(struct chordctl *ctl)
{
  Chord__V1__StatusRequest req = CHORD__V1__STATUS_REQUEST__INIT;
  struct output_ring_member *m = NULL;
  struct rpc_result *res = NULL;
  const Chord__V1__StatusResponse *cur;
  const Chord__V1__NodeInfo *start;
  size_t n = 0, cap = 16;
  int rc = OUTPUT_EXIT_FAILURE;

  m = calloc(cap, sizeof(*m));
  res = calloc(cap, sizeof(*res));
  if (!m || !res) {
    output_error(ctl, "ring: out of memory");
    goto cleanup;
  }
  if (cluster_call(ctl, ctl->node, NODE_STATUS, &req.base,
                   &chord__v1__status_response__descriptor,
                   &res[0]) != GRPC_STATUS_OK) {
    rc = output_rpc_error(ctl, NULL, "node", ctl->node, &res[0].status);
    goto cleanup;
  }
  n = 1;
  cur = (const Chord__V1__StatusResponse *)res[0].resp;
  start = cur->self;
  if (!start || start->id.len != CHORD_ID_BYTES) {
    output_error(ctl, "the node at %s did not say which node it is", ctl->node);
    goto cleanup;
  }
  m[0].node = start;
  m[0].status = cur;
  while (n < RING_WALK_MAX) {
    const Chord__V1__StatusResponse *next = NULL;
    bool home = false;
    for (size_t i = 0; i < cur->n_successors && !next && !home; i++) {
      const Chord__V1__NodeInfo *s = cur->successors[i];
      bool seen = false;
      if (same_id(s, start)) {
        home = true;
        break;
      }
      for (size_t k = 0; k < n && !seen; k++)
        seen = same_id(s, m[k].node);
      if (seen)
        continue; /* tried already (unreachable), or a loop */
      if (grow_members(ctl, &m, &res, n, &cap))
        goto cleanup;
      member_status(ctl, s, &m[n], &res[n]);
      next = m[n].status;
      n++;
    }
    if (home)
      break;
    if (!next) {
      output_error(ctl,
                   "ring: stopped after %zu members: no further successor "
                   "of %s answered",
                   n,
                   cur->self && cur->self->addr[0] ? cur->self->addr
                                                   : "the last member");
      break;
    }
    cur = next;
  }
  qsort(m, n, sizeof(*m), member_cmp); /* as `ring` lists them: by id */
  output_ring(ctl, m, n);
  rc = 0;

cleanup:
  for (size_t i = 0; res && i < n; i++)
    rpc_result_clear(&res[i]);
  if (res && n == 0)
    rpc_result_clear(&res[0]);
  free(res);
  free(m);
  return rc;
}

/* Lists the members the supernode knows (or, with --node, those found by
 * walking the successors from that node), by id, each with its load; a
 * member that does not answer is listed as unreachable, which is not an
 * error. Returns an exit code; argv[0] is "ring". */
int commands_ring(struct chordctl *ctl, int argc, char **argv)
{
  static const struct args_spec spec = {NULL, 0, 0, 0, "no arguments"};
  Chord__V1__ListNodesRequest req = CHORD__V1__LIST_NODES_REQUEST__INIT;
  const Chord__V1__ListNodesResponse *list;
  struct output_ring_member *m = NULL;
  struct rpc_result lres, *res = NULL;
  const char *pos[ARGS_MAX_POS];
  size_t npos, n = 0;
  int rc;

  rc = args_parse(ctl, argc, argv, &spec, pos, &npos);
  if (rc)
    return rc;
  if (ctl->node)
    return ring_walk(ctl);
  rc = cluster_check_supernode(ctl);
  if (rc)
    return rc;
  if (cluster_call(ctl, ctl->supernode, SN_LIST_NODES, &req.base,
                   &chord__v1__list_nodes_response__descriptor,
                   &lres) != GRPC_STATUS_OK) {
    rc = output_rpc_error(ctl, NULL, "supernode", ctl->supernode, &lres.status);
    rpc_result_clear(&lres);
    return rc;
  }
  list = (const Chord__V1__ListNodesResponse *)lres.resp;
  n = list->n_nodes;
  m = calloc(n ? n : 1, sizeof(*m));
  res = calloc(n ? n : 1, sizeof(*res));
  if (!m || !res) {
    output_error(ctl, "ring: out of memory");
    rc = OUTPUT_EXIT_FAILURE;
    goto cleanup;
  }
  for (size_t i = 0; i < n; i++)
    m[i].node = list->nodes[i];
  qsort(m, n, sizeof(*m), member_cmp);
  for (size_t i = 0; i < n; i++)
    member_status(ctl, m[i].node, &m[i], &res[i]);
  output_ring(ctl, m, n);
  rc = 0;

cleanup:
  for (size_t i = 0; res && i < n; i++)
    rpc_result_clear(&res[i]);
  free(res);
  free(m);
  rpc_result_clear(&lres);
  return rc;
}

/* ---- status and health -------------------------------------------------- */

/* Shows the state of the node at HOST:PORT (default: --node), with every
 * finger when --all-fingers is given. Returns an exit code; argv[0] is
 * "status". */
int commands_status(struct chordctl *ctl, int argc, char **argv)
{
  Chord__V1__StatusRequest req = CHORD__V1__STATUS_REQUEST__INIT;
  bool all = false;
  const struct args_opt opts[] = {{"--all-fingers", NULL, NULL, &all}};
  const struct args_spec spec = {opts, 1, 0, 1, "HOST:PORT [--all-fingers]"};
  struct rpc_result res;
  const char *pos[ARGS_MAX_POS], *target;
  size_t npos;
  int rc;

  rc = args_parse(ctl, argc, argv, &spec, pos, &npos);
  if (rc)
    return rc;
  target = npos ? pos[0] : ctl->node;
  if (!target)
    return output_usage(ctl, "status", "status: expected HOST:PORT");
  rc = args_check_addr(ctl, "status", target);
  if (rc)
    return rc;
  req.all_fingers = all;
  if (cluster_call(ctl, target, NODE_STATUS, &req.base,
                   &chord__v1__status_response__descriptor,
                   &res) != GRPC_STATUS_OK) {
    rc = output_rpc_error(ctl, NULL, "node", target, &res.status);
  } else {
    output_status(ctl, (const Chord__V1__StatusResponse *)res.resp);
    rc = 0;
  }
  rpc_result_clear(&res);
  return rc;
}

/* Asks the daemon at HOST:PORT (default: --node, else the supernode)
 * through grpc.health.v1 whether it is serving. Returns OUTPUT_EXIT_OK
 * when SERVING, the exit code of a failed call, else OUTPUT_EXIT_FAILURE;
 * argv[0] is "health". */
int commands_health(struct chordctl *ctl, int argc, char **argv)
{
  static const struct args_spec spec = {NULL, 0, 0, 1, "[HOST:PORT]"};
  Grpc__Health__V1__HealthCheckRequest req =
      GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  struct rpc_result res;
  const char *pos[ARGS_MAX_POS], *target, *peer;
  size_t npos;
  int rc;

  rc = args_parse(ctl, argc, argv, &spec, pos, &npos);
  if (rc)
    return rc;
  if (npos) {
    target = pos[0];
    peer = "daemon";
  } else if (ctl->node) {
    target = ctl->node;
    peer = "node";
  } else {
    rc = cluster_check_supernode(ctl);
    if (rc)
      return rc;
    target = ctl->supernode;
    peer = "supernode";
  }
  rc = args_check_addr(ctl, "health", target);
  if (rc)
    return rc;
  req.service = ""; /* the daemon as a whole */
  if (cluster_call(ctl, target, HEALTH_CHECK, &req.base,
                   &grpc__health__v1__health_check_response__descriptor,
                   &res) != GRPC_STATUS_OK) {
    rc = output_rpc_error(ctl, "health", peer, target, &res.status);
    rpc_result_clear(&res);
    return rc;
  }
  rc = output_health(ctl, target,
                     (const Grpc__Health__V1__HealthCheckResponse *)res.resp);
  rpc_result_clear(&res);
  return rc;
}
