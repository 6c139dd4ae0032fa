/* SPDX-License-Identifier: MIT */
/* chordctl's subcommands: their arguments, the blocking calls to the
 * supernode and the nodes (each with the --timeout deadline), and the
 * local files they read and write. Printing is left to output.c. */
#include "client/commands.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chord/v1/node.pb-c.h"
#include "chord/v1/supernode.pb-c.h"
#include "client/output.h"
#include "common/addr.h"
#include "common/chord_id.h"
#include "common/name.h"
#include "grpc/health/v1/health.pb-c.h"

#define NODE_READ "/chord.v1.Node/Read"
#define NODE_WRITE "/chord.v1.Node/Write"
#define NODE_DELETE "/chord.v1.Node/Delete"
#define NODE_LOOKUP "/chord.v1.Node/Lookup"
#define NODE_STATUS "/chord.v1.Node/Status"
#define SN_GET_NODE "/chord.v1.Supernode/GetNode"
#define SN_LIST_NODES "/chord.v1.Supernode/ListNodes"
#define HEALTH_CHECK "/grpc.health.v1.Health/Check"

#define MAX_POS 4          /* most positional arguments a command takes */
#define READ_CHUNK 65536   /* first buffer for input of unknown size */
#define GET_NODE_TRIES 3   /* GetNode calls made to find another node */
#define RING_WALK_MAX 4096 /* most members `ring --node` follows */

/* ---- arguments ---------------------------------------------------------- */

/* An option of one command: a switch, or an option with a value. */
struct opt {
  const char *lng;    /* "--output" */
  const char *shrt;   /* "-o", or NULL */
  const char **value; /* where the value goes; NULL for a switch */
  bool *on;           /* a switch: set to true when given */
};

/* Whether a is one of the global flags (given after the command). */
static bool is_global_flag(const char *a)
{
  static const char *const flags[] = {"--json", "--node", "--supernode",
                                      "--timeout", "--max-size"};
  for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
    size_t n = strlen(flags[i]);
    if (strncmp(a, flags[i], n) == 0 && (a[n] == '\0' || a[n] == '='))
      return true;
  }
  return false;
}

/* Splits the arguments of command argv[0] into the options in opts and
 * positional arguments, of which it wants min to max (stored in pos).
 * Everything after "--" is positional, and so is "-". expect describes
 * the arguments for the error. 0, or OUT_EXIT_USAGE after saying why. */
static int parse_args(struct chordctl *ctl, int argc, char **argv,
                      const struct opt *opts, size_t nopts, const char **pos,
                      size_t min, size_t max, size_t *npos,
                      const char *expect)
{
  const char *cmd = argv[0];
  bool only_pos = false;
  char q[64];

  *npos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = NULL;
    const struct opt *o = NULL;
    if (!only_pos && strcmp(a, "--") == 0) {
      only_pos = true;
      continue;
    }
    if (only_pos || a[0] != '-' || a[1] == '\0') {
      if (*npos == max && max == 0)
        return out_usage(ctl, cmd, "%s: takes no arguments", cmd);
      if (*npos == max)
        return out_usage(ctl, cmd, "%s: too many arguments, expected %s",
                         cmd, expect);
      pos[(*npos)++] = a;
      continue;
    }
    for (size_t k = 0; k < nopts && !o; k++) {
      size_t ll = strlen(opts[k].lng);
      if (strcmp(a, opts[k].lng) == 0 ||
          (opts[k].shrt && strcmp(a, opts[k].shrt) == 0)) {
        o = &opts[k];
      } else if (opts[k].value && strncmp(a, opts[k].lng, ll) == 0 &&
                 a[ll] == '=') {
        o = &opts[k];
        val = a + ll + 1;
      } else if (opts[k].value && opts[k].shrt &&
                 strncmp(a, opts[k].shrt, 2) == 0) {
        o = &opts[k]; /* "-oFILE" */
        val = a + 2;
      }
    }
    out_quote(q, sizeof(q), a, strlen(a));
    if (!o && is_global_flag(a))
      return out_usage(ctl, NULL,
                       "%s: %s is a global option and goes before the "
                       "command",
                       cmd, q);
    if (!o)
      return out_usage(ctl, cmd, "%s: unknown option %s", cmd, q);
    if (!o->value) {
      *o->on = true;
      continue;
    }
    if (!val) {
      if (i + 1 >= argc)
        return out_usage(ctl, cmd, "%s: %s needs a value", cmd, q);
      val = argv[++i];
    }
    *o->value = val;
  }
  if (*npos < min)
    return out_usage(ctl, cmd, "%s: expected %s", cmd, expect);
  return 0;
}

/* 0 when name is a valid file name; else OUT_EXIT_REFUSED after saying
 * why. */
static int check_name(struct chordctl *ctl, const char *what,
                      const char *name)
{
  const char *why = NULL;
  if (name_check(name, strlen(name), &why) == 0)
    return 0;
  out_error(ctl, "%s: %s", what, why);
  return OUT_EXIT_REFUSED;
}

/* ---- calls -------------------------------------------------------------- */

/* One blocking call with the --timeout deadline. Fills *res (the caller
 * clears it) and returns its status code. */
static grpc_status_code call(struct chordctl *ctl, const char *target,
                             const char *method, const ProtobufCMessage *req,
                             const ProtobufCMessageDescriptor *desc,
                             struct rpc_result *res)
{
  struct rpc_req r = {.target = target,
                      .method = method,
                      .msg = req,
                      .resp_desc = desc,
                      .deadline = rpc_deadline_in(ctl->timeout_ms)};
  rpc_client_call_sync(ctl->rpc, &r, res);
  return res->status.code;
}

/* 0 when the supernode address is usable (CHORD_SUPERNODE is checked only
 * here, when a command needs it); else OUT_EXIT_USAGE after saying why. */
static int supernode_check(struct chordctl *ctl)
{
  char q[64];
  if (addr_validate(ctl->supernode, 0) == 0)
    return 0;
  out_quote(q, sizeof(q), ctl->supernode, strlen(ctl->supernode));
  return out_usage(ctl, NULL, "%s %s is not a HOST:PORT address",
                   ctl->supernode_from_env ? CMD_SUPERNODE_ENV
                                           : "--supernode",
                   q);
}

/* Asks the supernode for a live node, other than avoid when it can (up to
 * GET_NODE_TRIES calls), and copies its address into addr. 0, or an exit
 * code after printing why. */
static int pick_node(struct chordctl *ctl, const char *avoid,
                     char addr[ADDR_STR_MAX])
{
  Chord__V1__GetNodeRequest req = CHORD__V1__GET_NODE_REQUEST__INIT;
  struct rpc_result res;
  const Chord__V1__GetNodeResponse *r;
  char q[64];
  int rc = supernode_check(ctl);

  if (rc)
    return rc;
  for (int t = 0; t < (avoid ? GET_NODE_TRIES : 1); t++) {
    if (call(ctl, ctl->supernode, SN_GET_NODE, &req.base,
             &chord__v1__get_node_response__descriptor,
             &res) != GRPC_STATUS_OK) {
      rc = out_rpc_error(ctl, NULL, "supernode", ctl->supernode,
                         &res.status);
      /* No member at all is "no node from the supernode", not a missing
       * file. */
      if (res.status.code == GRPC_STATUS_NOT_FOUND)
        rc = OUT_EXIT_UNREACHABLE;
      goto cleanup;
    }
    r = (const Chord__V1__GetNodeResponse *)res.resp;
    if (!r->node || !r->node->addr[0]) {
      out_error(ctl, "the supernode at %s answered without a node",
                ctl->supernode);
      rc = OUT_EXIT_UNREACHABLE;
      goto cleanup;
    }
    if (addr_validate(r->node->addr, 0)) {
      out_quote(q, sizeof(q), r->node->addr, strlen(r->node->addr));
      out_error(ctl, "the supernode at %s offered a malformed address %s",
                ctl->supernode, q);
      rc = OUT_EXIT_FAILURE;
      goto cleanup;
    }
    snprintf(addr, ADDR_STR_MAX, "%s", r->node->addr);
    rpc_result_clear(&res);
    if (!avoid || strcmp(addr, avoid) != 0)
      break;
  }
  return 0;

cleanup:
  rpc_result_clear(&res);
  return rc;
}

/* Calls method on a node: --node, or one from the supernode and, when
 * that one is UNAVAILABLE (it died) or CANCELLED (chordctl never cancels
 * its calls: gRPC core does that to a request reaching a server as it
 * shuts down, before the node sees it), once more on another. On 0, *res
 * holds the response (the caller clears it); otherwise *res is clear and
 * an exit code is returned after printing why. what names the action. */
static int node_call(struct chordctl *ctl, const char *what,
                     const char *method, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *desc,
                     struct rpc_result *res)
{
  char addr[ADDR_STR_MAX], prev[ADDR_STR_MAX];
  int tries = ctl->node ? 1 : 2, rc;

  memset(res, 0, sizeof(*res));
  for (int t = 0; t < tries; t++) {
    const char *target = ctl->node;
    if (!target) {
      rc = pick_node(ctl, t ? prev : NULL, addr);
      if (rc)
        return rc;
      target = addr;
    }
    if (call(ctl, target, method, req, desc, res) == GRPC_STATUS_OK)
      return 0;
    bool retry = res->status.code == GRPC_STATUS_UNAVAILABLE ||
                 res->status.code == GRPC_STATUS_CANCELLED;
    if (!retry || t + 1 == tries) {
      rc = out_rpc_error(ctl, what, "node", target, &res->status);
      rpc_result_clear(res);
      return rc;
    }
    snprintf(prev, sizeof(prev), "%s", target);
    rpc_result_clear(res);
  }
  return OUT_EXIT_FAILURE; /* not reached: the last try returns */
}

/* ---- local files -------------------------------------------------------- */

/* Reads the content to write from path ("-": standard input), refusing
 * more than ctl->max_size bytes: it reads at most one byte more, so an
 * endless input costs no more memory than that. On 0, *data (the caller
 * frees it; NULL for an empty input) and *len hold the content; otherwise
 * an exit code is returned after printing why. */
static int read_input(struct chordctl *ctl, const char *what,
                      const char *path, uint8_t **data, size_t *len)
{
  bool is_stdin = strcmp(path, "-") == 0;
  size_t limit = (size_t)ctl->max_size + 1, cap = 0, n = 0;
  size_t first = READ_CHUNK;
  uint8_t *buf = NULL;
  struct stat st;
  char q[OUT_WHAT_MAX];
  int fd, rc = OUT_EXIT_FAILURE;

  if (is_stdin)
    snprintf(q, sizeof(q), "standard input");
  else
    out_quote(q, sizeof(q), path, strlen(path));
  fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    out_error(ctl, "%s: cannot open %s: %s", what, q, strerror(errno));
    return OUT_EXIT_FAILURE;
  }
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    off_t at = is_stdin ? lseek(fd, 0, SEEK_CUR) : 0;
    uint64_t size = at >= 0 && st.st_size > at ? (uint64_t)(st.st_size - at)
                                               : 0;
    if (size > ctl->max_size) {
      out_error(ctl,
                "%s: the file is %" PRIu64 " bytes, over the %" PRIu64
                "-byte limit",
                what, size, ctl->max_size);
      rc = OUT_EXIT_REFUSED;
      goto cleanup;
    }
    first = (size_t)size + 1; /* one more read sees the end */
  }
  for (;;) {
    if (n == cap) {
      if (cap == limit)
        break;
      size_t ncap = cap ? cap * 2 : first;
      if (ncap > limit)
        ncap = limit;
      uint8_t *nb = realloc(buf, ncap);
      if (!nb) {
        out_error(ctl, "%s: out of memory reading %s", what, q);
        goto cleanup;
      }
      buf = nb;
      cap = ncap;
    }
    ssize_t got = read(fd, buf + n, cap - n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      out_error(ctl, "%s: cannot read %s: %s", what, q, strerror(errno));
      goto cleanup;
    }
    if (got == 0)
      break;
    n += (size_t)got;
  }
  if (n > ctl->max_size) {
    out_error(ctl, "%s: the input is over the %" PRIu64 "-byte limit", what,
              ctl->max_size);
    rc = OUT_EXIT_REFUSED;
    goto cleanup;
  }
  *data = buf;
  *len = n;
  buf = NULL;
  rc = 0;

cleanup:
  free(buf);
  if (!is_stdin)
    close(fd);
  return rc;
}

/* Writes data to path through a temporary file in the same directory,
 * synced and renamed over path, so path is either untouched or complete.
 * A new file gets 0666 less the umask; a replaced one keeps its mode.
 * 0, or OUT_EXIT_FAILURE after printing why (the temporary is removed). */
static int save_output(struct chordctl *ctl, const char *what,
                       const char *path, const uint8_t *data, size_t len)
{
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
  const char *base = path + dirlen;
  char q[OUT_WHAT_MAX], *tmp = NULL, *dir = NULL;
  const char *failed = NULL;
  struct stat st;
  mode_t mode, mask;
  int fd = -1, dfd, err = 0, rc = OUT_EXIT_FAILURE;
  size_t done = 0;

  out_quote(q, sizeof(q), path, strlen(path));
  tmp = malloc(dirlen + strlen(base) + 16);
  dir = dirlen ? strndup(path, dirlen) : strdup(".");
  if (!tmp || !dir) {
    out_error(ctl, "%s: out of memory saving to %s", what, q);
    goto cleanup;
  }
  memcpy(tmp, path, dirlen);
  sprintf(tmp + dirlen, ".%s.XXXXXX", base);
  fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    out_error(ctl, "%s: cannot create a temporary file next to %s: %s",
              what, q, strerror(errno));
    goto cleanup;
  }
  if (stat(path, &st) == 0) {
    mode = st.st_mode & 07777;
  } else {
    mask = umask(0);
    umask(mask);
    mode = 0666 & ~mask;
  }
  if (fchmod(fd, mode)) {
    failed = "set the mode of";
    goto fail_tmp;
  }
  while (done < len) {
    ssize_t w = write(fd, data + done, len - done);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      failed = "write";
      goto fail_tmp;
    }
    done += (size_t)w;
  }
  if (fsync(fd)) {
    failed = "sync";
    goto fail_tmp;
  }
  err = close(fd);
  fd = -1;
  if (err) {
    failed = "write";
    goto fail_tmp;
  }
  if (rename(tmp, path)) {
    failed = "replace";
    goto fail_tmp;
  }
  /* Make the rename itself durable; a failure here loses nothing. */
  dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  rc = 0;
  goto cleanup;

fail_tmp:
  err = errno;
  if (fd >= 0)
    close(fd);
  fd = -1;
  unlink(tmp);
  out_error(ctl, "%s: cannot %s %s: %s", what, failed, q, strerror(err));
cleanup:
  free(dir);
  free(tmp);
  return rc;
}

/* Writes the content to standard output, checking that all of it went.
 * 0, or OUT_EXIT_FAILURE after printing why. */
static int write_stdout(struct chordctl *ctl, const char *what,
                        const uint8_t *data, size_t len)
{
  if ((len && fwrite(data, 1, len, stdout) != len) || fflush(stdout)) {
    out_error(ctl, "%s: cannot write to standard output: %s", what,
              strerror(errno));
    return OUT_EXIT_FAILURE;
  }
  return 0;
}

/* ---- file commands ------------------------------------------------------ */

int cmd_write(struct chordctl *ctl, int argc, char **argv)
{
  Chord__V1__File file = CHORD__V1__FILE__INIT;
  Chord__V1__WriteRequest req = CHORD__V1__WRITE_REQUEST__INIT;
  struct rpc_result res;
  const char *pos[MAX_POS];
  char what[OUT_WHAT_MAX];
  uint8_t *data = NULL;
  size_t npos, len = 0;
  int rc;

  rc = parse_args(ctl, argc, argv, NULL, 0, pos, 1, 2, &npos,
                  "NAME [FILE]");
  if (rc)
    return rc;
  out_what(what, sizeof(what), "write", pos[0]);
  rc = check_name(ctl, what, pos[0]);
  if (rc)
    return rc;
  rc = read_input(ctl, what, npos > 1 ? pos[1] : "-", &data, &len);
  if (rc)
    return rc;
  file.name = (char *)pos[0];
  file.content.data = data;
  file.content.len = len;
  req.file = &file;
  rc = node_call(ctl, what, NODE_WRITE, &req.base,
                 &chord__v1__write_response__descriptor, &res);
  if (rc == 0)
    out_write(ctl, pos[0], len, (const Chord__V1__WriteResponse *)res.resp);
  rpc_result_clear(&res);
  free(data);
  return rc;
}

int cmd_read(struct chordctl *ctl, int argc, char **argv)
{
  Chord__V1__ReadRequest req = CHORD__V1__READ_REQUEST__INIT;
  const Chord__V1__ReadResponse *r;
  const char *output = NULL, *pos[MAX_POS];
  const struct opt opts[] = {{"--output", "-o", &output, NULL}};
  struct rpc_result res;
  char what[OUT_WHAT_MAX];
  size_t npos;
  bool to_file;
  int rc;

  rc = parse_args(ctl, argc, argv, opts, 1, pos, 1, 1, &npos,
                  "NAME [-o FILE]");
  if (rc)
    return rc;
  if (output && !output[0])
    return out_usage(ctl, "read", "read: -o needs a file name");
  to_file = output && strcmp(output, "-") != 0;
  if (ctl->json && output && !to_file)
    return out_usage(ctl, "read",
                     "read: -o - cannot be used with --json, which prints "
                     "the metadata on standard output");
  out_what(what, sizeof(what), "read", pos[0]);
  rc = check_name(ctl, what, pos[0]);
  if (rc)
    return rc;
  req.name = (char *)pos[0];
  rc = node_call(ctl, what, NODE_READ, &req.base,
                 &chord__v1__read_response__descriptor, &res);
  if (rc)
    return rc;
  r = (const Chord__V1__ReadResponse *)res.resp;
  if (!r->file) {
    out_error(ctl, "%s: the node answered without the file", what);
    rc = OUT_EXIT_FAILURE;
    goto cleanup;
  }
  if (r->file->content.len > ctl->max_size) {
    out_error(ctl, "%s: the file is %zu bytes, over the %" PRIu64
              "-byte limit",
              what, r->file->content.len, ctl->max_size);
    rc = OUT_EXIT_REFUSED;
    goto cleanup;
  }
  if (to_file)
    rc = save_output(ctl, what, output, r->file->content.data,
                     r->file->content.len);
  else if (!ctl->json)
    rc = write_stdout(ctl, what, r->file->content.data,
                      r->file->content.len);
  if (rc == 0)
    out_read(ctl, pos[0], r, to_file ? output : NULL);

cleanup:
  rpc_result_clear(&res);
  return rc;
}

/* The commands that take one NAME and make one call with it: parses and
 * checks the name, points *name_field (the request's name) and *name at it,
 * and sends req through node_call. *res is always safe to clear. */
static int name_call(struct chordctl *ctl, int argc, char **argv,
                     const char *verb, char **name_field, const char *method,
                     const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *desc,
                     struct rpc_result *res, const char **name)
{
  const char *pos[MAX_POS];
  char what[OUT_WHAT_MAX];
  size_t npos;
  int rc;

  memset(res, 0, sizeof(*res));
  rc = parse_args(ctl, argc, argv, NULL, 0, pos, 1, 1, &npos, "NAME");
  if (rc)
    return rc;
  out_what(what, sizeof(what), verb, pos[0]);
  rc = check_name(ctl, what, pos[0]);
  if (rc)
    return rc;
  *name_field = (char *)pos[0];
  *name = pos[0];
  return node_call(ctl, what, method, req, desc, res);
}

int cmd_delete(struct chordctl *ctl, int argc, char **argv)
{
  Chord__V1__DeleteRequest req = CHORD__V1__DELETE_REQUEST__INIT;
  struct rpc_result res;
  const char *name;
  int rc = name_call(ctl, argc, argv, "delete", &req.name, NODE_DELETE,
                     &req.base, &chord__v1__delete_response__descriptor,
                     &res, &name);
  if (rc == 0)
    out_delete(ctl, name, (const Chord__V1__DeleteResponse *)res.resp);
  rpc_result_clear(&res);
  return rc;
}

int cmd_lookup(struct chordctl *ctl, int argc, char **argv)
{
  Chord__V1__LookupRequest req = CHORD__V1__LOOKUP_REQUEST__INIT;
  struct rpc_result res;
  const char *name;
  int rc = name_call(ctl, argc, argv, "lookup", &req.name, NODE_LOOKUP,
                     &req.base, &chord__v1__lookup_response__descriptor,
                     &res, &name);
  if (rc == 0)
    out_lookup(ctl, name, (const Chord__V1__LookupResponse *)res.resp);
  rpc_result_clear(&res);
  return rc;
}

/* ---- ring and status ---------------------------------------------------- */

/* Orders ring members by id, the ring order starting from zero. */
static int member_cmp(const void *a, const void *b)
{
  const struct out_ring_member *ma = a, *mb = b;
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
                          struct out_ring_member *m, struct rpc_result *res)
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
  if (call(ctl, n->addr, NODE_STATUS, &req.base,
           &chord__v1__status_response__descriptor, res) == GRPC_STATUS_OK) {
    m->status = (const Chord__V1__StatusResponse *)res->resp;
  } else {
    m->error = res->status;
    rpc_result_clear(res);
  }
}

/* `ring` with --node: follows successors from that node around the ring
 * and asks each member its status. A member that does not answer is shown
 * as unreachable and the walk goes on with the next successor in the list
 * of the last member that answered. */
static int ring_walk(struct chordctl *ctl)
{
  Chord__V1__StatusRequest req = CHORD__V1__STATUS_REQUEST__INIT;
  struct out_ring_member *m = NULL;
  struct rpc_result *res = NULL;
  const Chord__V1__StatusResponse *cur;
  const Chord__V1__NodeInfo *start;
  size_t n = 0, cap = 16;
  int rc = OUT_EXIT_FAILURE;

  m = calloc(cap, sizeof(*m));
  res = calloc(cap, sizeof(*res));
  if (!m || !res) {
    out_error(ctl, "ring: out of memory");
    goto cleanup;
  }
  if (call(ctl, ctl->node, NODE_STATUS, &req.base,
           &chord__v1__status_response__descriptor, &res[0]) !=
      GRPC_STATUS_OK) {
    rc = out_rpc_error(ctl, NULL, "node", ctl->node, &res[0].status);
    goto cleanup;
  }
  n = 1;
  cur = (const Chord__V1__StatusResponse *)res[0].resp;
  start = cur->self;
  if (!start || start->id.len != CHORD_ID_BYTES) {
    out_error(ctl, "the node at %s did not say which node it is",
              ctl->node);
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
      if (n == cap) {
        size_t ncap = cap * 2;
        struct out_ring_member *nm = realloc(m, ncap * sizeof(*nm));
        if (nm)
          m = nm;
        struct rpc_result *nr = realloc(res, ncap * sizeof(*nr));
        if (nr)
          res = nr;
        if (!nm || !nr) {
          out_error(ctl, "ring: out of memory");
          goto cleanup;
        }
        cap = ncap;
      }
      member_status(ctl, s, &m[n], &res[n]);
      next = m[n].status;
      n++;
    }
    if (home)
      break;
    if (!next) {
      out_error(ctl,
                "ring: stopped after %zu members: no further successor of "
                "%s answered",
                n, cur->self && cur->self->addr[0] ? cur->self->addr
                                                   : "the last member");
      break;
    }
    cur = next;
  }
  qsort(m, n, sizeof(*m), member_cmp); /* as `ring` lists them: by id */
  out_ring(ctl, m, n);
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

int cmd_ring(struct chordctl *ctl, int argc, char **argv)
{
  Chord__V1__ListNodesRequest req = CHORD__V1__LIST_NODES_REQUEST__INIT;
  const Chord__V1__ListNodesResponse *list;
  struct out_ring_member *m = NULL;
  struct rpc_result lres, *res = NULL;
  const char *pos[MAX_POS];
  size_t npos, n = 0;
  int rc;

  rc = parse_args(ctl, argc, argv, NULL, 0, pos, 0, 0, &npos,
                  "no arguments");
  if (rc)
    return rc;
  if (ctl->node)
    return ring_walk(ctl);
  rc = supernode_check(ctl);
  if (rc)
    return rc;
  if (call(ctl, ctl->supernode, SN_LIST_NODES, &req.base,
           &chord__v1__list_nodes_response__descriptor,
           &lres) != GRPC_STATUS_OK) {
    rc = out_rpc_error(ctl, NULL, "supernode", ctl->supernode, &lres.status);
    rpc_result_clear(&lres);
    return rc;
  }
  list = (const Chord__V1__ListNodesResponse *)lres.resp;
  n = list->n_nodes;
  m = calloc(n ? n : 1, sizeof(*m));
  res = calloc(n ? n : 1, sizeof(*res));
  if (!m || !res) {
    out_error(ctl, "ring: out of memory");
    rc = OUT_EXIT_FAILURE;
    goto cleanup;
  }
  for (size_t i = 0; i < n; i++)
    m[i].node = list->nodes[i];
  qsort(m, n, sizeof(*m), member_cmp);
  for (size_t i = 0; i < n; i++)
    member_status(ctl, m[i].node, &m[i], &res[i]);
  out_ring(ctl, m, n);
  rc = 0;

cleanup:
  for (size_t i = 0; res && i < n; i++)
    rpc_result_clear(&res[i]);
  free(res);
  free(m);
  rpc_result_clear(&lres);
  return rc;
}

int cmd_status(struct chordctl *ctl, int argc, char **argv)
{
  Chord__V1__StatusRequest req = CHORD__V1__STATUS_REQUEST__INIT;
  bool all = false;
  const struct opt opts[] = {{"--all-fingers", NULL, NULL, &all}};
  struct rpc_result res;
  const char *pos[MAX_POS], *target;
  char q[64];
  size_t npos;
  int rc;

  rc = parse_args(ctl, argc, argv, opts, 1, pos, 0, 1, &npos,
                  "HOST:PORT [--all-fingers]");
  if (rc)
    return rc;
  target = npos ? pos[0] : ctl->node;
  if (!target)
    return out_usage(ctl, "status", "status: expected HOST:PORT");
  if (addr_validate(target, 0)) {
    out_quote(q, sizeof(q), target, strlen(target));
    return out_usage(ctl, "status", "status: %s is not a HOST:PORT address",
                     q);
  }
  req.all_fingers = all;
  if (call(ctl, target, NODE_STATUS, &req.base,
           &chord__v1__status_response__descriptor,
           &res) != GRPC_STATUS_OK) {
    rc = out_rpc_error(ctl, NULL, "node", target, &res.status);
  } else {
    out_status(ctl, (const Chord__V1__StatusResponse *)res.resp);
    rc = 0;
  }
  rpc_result_clear(&res);
  return rc;
}

int cmd_health(struct chordctl *ctl, int argc, char **argv)
{
  Grpc__Health__V1__HealthCheckRequest req =
      GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  struct rpc_result res;
  const char *pos[MAX_POS], *target, *peer;
  char q[64];
  size_t npos;
  int rc;

  rc = parse_args(ctl, argc, argv, NULL, 0, pos, 0, 1, &npos,
                  "[HOST:PORT]");
  if (rc)
    return rc;
  if (npos) {
    target = pos[0];
    peer = "daemon";
  } else if (ctl->node) {
    target = ctl->node;
    peer = "node";
  } else {
    rc = supernode_check(ctl);
    if (rc)
      return rc;
    target = ctl->supernode;
    peer = "supernode";
  }
  if (addr_validate(target, 0)) {
    out_quote(q, sizeof(q), target, strlen(target));
    return out_usage(ctl, "health", "health: %s is not a HOST:PORT address",
                     q);
  }
  req.service = ""; /* the daemon as a whole */
  if (call(ctl, target, HEALTH_CHECK, &req.base,
           &grpc__health__v1__health_check_response__descriptor,
           &res) != GRPC_STATUS_OK) {
    rc = out_rpc_error(ctl, "health", peer, target, &res.status);
    rpc_result_clear(&res);
    return rc;
  }
  rc = out_health(ctl, target,
                  (const Grpc__Health__V1__HealthCheckResponse *)res.resp);
  rpc_result_clear(&res);
  return rc;
}
