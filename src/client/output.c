/* SPDX-License-Identifier: MIT */
/* chordctl's printing: each result as text or as one JSON object on
 * stdout, errors as one sentence on stderr with the exit code that goes
 * with them. Every string from a user or a peer is escaped. */
#include "client/output.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/escape.h"
#include "client/json.h"
#include "client/output_internal.h"
#include "common/addr.h"
#include "common/units.h"

/* ---- errors ------------------------------------------------------------- */

/* The exit code (enum output_exit) for a call that ended with code:
 * NOT_FOUND is 1, the cluster out of reach 3 (UNAVAILABLE,
 * DEADLINE_EXCEEDED, CANCELLED), refused input 4 (INVALID_ARGUMENT,
 * RESOURCE_EXHAUSTED), not allowed 6 (UNAUTHENTICATED, PERMISSION_DENIED),
 * anything else 5; OK is 0. */
static int exit_for_status(grpc_status_code code)
{
  switch (code) {
  case GRPC_STATUS_OK: return OUTPUT_EXIT_OK;
  case GRPC_STATUS_NOT_FOUND: return OUTPUT_EXIT_NOTFOUND;
  case GRPC_STATUS_UNAVAILABLE:
  case GRPC_STATUS_DEADLINE_EXCEEDED:
  case GRPC_STATUS_CANCELLED: return OUTPUT_EXIT_UNREACHABLE;
  case GRPC_STATUS_INVALID_ARGUMENT:
  case GRPC_STATUS_RESOURCE_EXHAUSTED: return OUTPUT_EXIT_REFUSED;
  case GRPC_STATUS_UNAUTHENTICATED:
  case GRPC_STATUS_PERMISSION_DENIED: return OUTPUT_EXIT_DENIED;
  default: return OUTPUT_EXIT_FAILURE;
  }
}

static void verror(const char *fmt, va_list ap)
{
  fputs("chordctl: ", stderr);
  vfprintf(stderr, fmt, ap);
}

/* Prints "chordctl: ", the sentence fmt makes and a newline to stderr.
 * The caller escapes whatever came from outside (escape_quote). */
void output_error(struct chordctl *ctl, const char *fmt, ...)
{
  va_list ap;
  (void)ctl;
  va_start(ap, fmt);
  verror(fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/* As output_error, ending the line with a pointer to `chordctl help
 * topic`, or to `chordctl --help` when topic is NULL. Returns
 * OUTPUT_EXIT_USAGE, so a caller can return its result. */
int output_usage(struct chordctl *ctl, const char *topic, const char *fmt, ...)
{
  va_list ap;
  (void)ctl;
  va_start(ap, fmt);
  verror(fmt, ap);
  va_end(ap);
  if (topic)
    fprintf(stderr, " (see chordctl help %s)\n", topic);
  else
    fputs(" (see chordctl --help)\n", stderr);
  return OUTPUT_EXIT_USAGE;
}

/* The sentence for an UNAVAILABLE call to who, decided by who made the
 * status: gRPC core (no connection: who cannot be reached) or the daemon
 * itself, which may say it could not reach a node behind it. */
static void unavailable_reason(char *reason, size_t cap, const char *who,
                               const struct rpc_status *st)
{
  if (!st->remote)
    snprintf(reason, cap, "cannot reach %s", who);
  else if (strcmp(st->detail, RPC_DETAIL_UNREACHABLE) == 0)
    snprintf(reason, cap, "%s could not reach a node behind it", who);
  else
    snprintf(reason, cap, "%s is unavailable", who);
}

/* Reports the failed call st to peer ("node", "supernode" or "daemon") at
 * addr as one line on stderr: what (the action, NULL for none), a reason
 * chosen from st's code, and the status name and message. The reason
 * depends only on st->code, st->remote and st->detail, never on the
 * message text. Returns the exit code for st->code. */
int output_rpc_error(struct chordctl *ctl, const char *what, const char *peer,
                     const char *addr, const struct rpc_status *st)
{
  char who[ADDR_STR_MAX + 32], reason[ADDR_STR_MAX + 96], dur[32];
  char msg[RPC_MESSAGE_MAX * 2];
  bool is_node = strcmp(peer, "node") == 0;

  snprintf(who, sizeof(who), "the %s at %s", peer, addr);
  switch (st->code) {
  case GRPC_STATUS_UNAVAILABLE:
    unavailable_reason(reason, sizeof(reason), who, st);
    break;
  case GRPC_STATUS_DEADLINE_EXCEEDED:
    units_format_duration(dur, sizeof(dur),
                          (uint64_t)(ctl->last_call_ms > ctl->timeout_ms
                                         ? ctl->last_call_ms
                                         : ctl->timeout_ms));
    snprintf(reason, sizeof(reason), "no answer from %s within %s", who, dur);
    break;
  case GRPC_STATUS_CANCELLED:
    snprintf(reason, sizeof(reason), "the call to %s was cancelled", who);
    break;
  case GRPC_STATUS_NOT_FOUND:
    if (is_node)
      snprintf(reason, sizeof(reason), "no such file");
    else
      snprintf(reason, sizeof(reason), "%s knows no live node", who);
    break;
  case GRPC_STATUS_INVALID_ARGUMENT:
    snprintf(reason, sizeof(reason), "%s refused the request", who);
    break;
  case GRPC_STATUS_RESOURCE_EXHAUSTED:
    snprintf(reason, sizeof(reason), "a size limit was exceeded with %s", who);
    break;
  case GRPC_STATUS_UNIMPLEMENTED:
    snprintf(reason, sizeof(reason), "%s does not implement this call", who);
    break;
  case GRPC_STATUS_PERMISSION_DENIED:
  case GRPC_STATUS_UNAUTHENTICATED:
    snprintf(reason, sizeof(reason), "%s refused the call", who);
    break;
  default:
    snprintf(reason, sizeof(reason), "the call to %s failed", who);
    break;
  }
  escape_buf(msg, sizeof(msg), st->message, strlen(st->message), false, false);
  if (strcmp(msg, reason) == 0)
    msg[0] = '\0'; /* "no such file (NOT_FOUND)", not said twice */
  output_error(ctl, "%s%s%s (%s%s%s)", what ? what : "", what ? ": " : "",
               reason, rpc_status_name(st->code), msg[0] ? ": " : "", msg);
  return exit_for_status(st->code);
}

/* Writes `verb "name"` into buf of cap bytes, the name quoted, escaped
 * and cut with "..." to fit; just verb when even `verb "..."` does not
 * fit. The context that starts a command's error messages. */
void output_what(char *buf, size_t cap, const char *verb, const char *name)
{
  size_t n = strlen(verb);
  if (n + 9 > cap) { /* a verb, a space and `"..."` with NUL */
    snprintf(buf, cap, "%s", verb);
    return;
  }
  memcpy(buf, verb, n);
  buf[n++] = ' ';
  escape_quote(buf + n, cap - n, name, strlen(name));
}

/* ---- text pieces -------------------------------------------------------- */

const char *output__plural(uint64_t n)
{
  return n == 1 ? "" : "s";
}

void output__put_hex(const uint8_t *b, size_t len)
{
  for (size_t i = 0; i < len; i++)
    printf("%02x", b[i]);
}

static void text_name(const char *name)
{
  fputc('"', stdout);
  escape_put(stdout, name, strlen(name), false);
  fputc('"', stdout);
}

/* "<40 hex> addr", or "none". */
void output__text_node(const Chord__V1__NodeInfo *n)
{
  if (!n) {
    fputs("none", stdout);
    return;
  }
  output__put_hex(n->id.data, n->id.len);
  fputs(n->id.len ? "  " : "-  ", stdout);
  escape_put(stdout, n->addr, strlen(n->addr), false);
}

static const char *node_addr(const Chord__V1__NodeInfo *n)
{
  return n && n->addr[0] ? n->addr : "an unknown node";
}

/* "3d 4h 5m 6s", leading zero units left out; "250 ms" under a second. */
void output__text_uptime(uint64_t ms)
{
  uint64_t s = ms / 1000;
  uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;
  if (ms < 1000) {
    printf("%" PRIu64 " ms", ms);
    return;
  }
  if (d)
    printf("%" PRIu64 "d ", d);
  if (d || h)
    printf("%" PRIu64 "h ", h);
  if (d || h || m)
    printf("%" PRIu64 "m ", m);
  printf("%" PRIu64 "s", s % 60);
}

/* {"id": hex, "addr": ...}, or null. */
void output__node_json(struct json *j, const char *key,
                       const Chord__V1__NodeInfo *n)
{
  if (!n) {
    json_null(j, key);
    return;
  }
  json_open(j, key, '{');
  json_hex(j, "id", n->id.data, n->id.len);
  json_str(j, "addr", n->addr);
  json_close(j, '}');
}

/* Opens the object of a command's JSON result, with its "command". */
void output__begin_result(struct json *j, const char *command)
{
  json_begin(j, stdout);
  json_str(j, "command", command);
}

/* ---- results ------------------------------------------------------------ */

/* Prints that name (size bytes) was written, per r: a line of text, or
 * {command, name, size, owner, hops, version, copies}: copies counts the
 * nodes holding the write, the owner included. Write errors are left in
 * stdout's error flag, as for every output_ result; main checks it. */
/* The transfer's figures: JSON members, or ", N chunks, S s, R MB/s". */
static void xfer_out(struct json *j, const struct output_xfer *x)
{
  double mbs = x->seconds > 0 ? (double)x->size / x->seconds / 1e6 : 0;
  if (j) {
    json_uint(j, "chunks", x->chunks);
    json_double(j, "seconds", x->seconds);
    json_double(j, "mb_per_s", mbs);
  } else if (x->chunks) {
    printf(", %" PRIu64 " chunk%s, %.2f s, %.1f MB/s", x->chunks,
           output__plural(x->chunks), x->seconds, mbs);
  }
}

void output_write(struct chordctl *ctl, const char *name, size_t size,
                  const Chord__V1__WriteResponse *r,
                  const struct output_xfer *x)
{
  if (ctl->json) {
    struct json j;
    output__begin_result(&j, "write");
    json_str(&j, "name", name);
    json_uint(&j, "size", size);
    output__node_json(&j, "owner", r->owner);
    json_uint(&j, "hops", r->hops);
    json_uint(&j, "version", r->version);
    json_uint(&j, "copies", r->copies);
    xfer_out(&j, x);
    json_end(&j);
    return;
  }
  fputs("wrote ", stdout);
  text_name(name);
  printf(" (%zu byte%s) to %s in %" PRIu32 " hop%s, %" PRIu32 " cop%s", size,
         output__plural(size), node_addr(r->owner), r->hops,
         output__plural(r->hops), r->copies, r->copies == 1 ? "y" : "ies");
  xfer_out(NULL, x);
  fputc('\n', stdout);
}

/* Prints the result of reading name. output is the file the content went
 * to, or NULL: then text mode prints nothing (the content was the output)
 * and JSON carries the content in base64. */
void output_read(struct chordctl *ctl, const char *name,
                 const Chord__V1__ReadResponse *r, const char *output,
                 const struct output_xfer *x)
{
  const Chord__V1__File *f = r->file;
  size_t size = (size_t)x->size;
  if (ctl->json) {
    struct json j;
    output__begin_result(&j, "read");
    json_str(&j, "name", name);
    json_uint(&j, "size", size);
    output__node_json(&j, "owner", r->owner);
    json_uint(&j, "hops", r->hops);
    json_uint(&j, "version", f ? f->version : 0);
    xfer_out(&j, x);
    if (output)
      json_str(&j, "output", output);
    else
      json_base64(&j, "content_base64", f ? f->content.data : NULL, size);
    json_end(&j);
    return;
  }
  if (!output)
    return; /* the content itself was the output */
  fputs("saved ", stdout);
  text_name(name);
  printf(" (%zu byte%s) from %s in %" PRIu32 " hop%s to ", size,
         output__plural(size), node_addr(r->owner), r->hops,
         output__plural(r->hops));
  text_name(output);
  xfer_out(NULL, x);
  fputc('\n', stdout);
}

/* Prints that name was deleted: a line, or {command, name, owner, hops,
 * version, copies} (the tombstone's version and copies). */
void output_delete(struct chordctl *ctl, const char *name,
                   const Chord__V1__DeleteResponse *r)
{
  if (ctl->json) {
    struct json j;
    output__begin_result(&j, "delete");
    json_str(&j, "name", name);
    output__node_json(&j, "owner", r->owner);
    json_uint(&j, "hops", r->hops);
    json_uint(&j, "version", r->version);
    json_uint(&j, "copies", r->copies);
    json_end(&j);
    return;
  }
  fputs("deleted ", stdout);
  text_name(name);
  printf(" from %s in %" PRIu32 " hop%s, %" PRIu32 " cop%s\n",
         node_addr(r->owner), r->hops, output__plural(r->hops), r->copies,
         r->copies == 1 ? "y" : "ies");
}

/* A delete whose first try failed after it may have reached the ring,
 * and whose retry found nothing under the name: the first try most
 * likely deleted it. Says so; the delete is done (exit 0). */
int output_delete_unsure(struct chordctl *ctl, const char *name)
{
  if (ctl->json) {
    struct json j;
    output__begin_result(&j, "delete");
    json_str(&j, "name", name);
    json_bool(&j, "answer_lost", true);
    json_end(&j);
    return OUTPUT_EXIT_OK;
  }
  fputs("deleted ", stdout);
  text_name(name);
  fputs(": the first try's answer was lost, and nothing is stored under "
        "the name now\n",
        stdout);
  return OUTPUT_EXIT_OK;
}

/* Prints the key, owner, hops and path of name: aligned lines, or
 * {command, name, key, owner, hops, path}. hops is the path's length
 * less one. */
void output_lookup(struct chordctl *ctl, const char *name,
                   const Chord__V1__LookupResponse *r)
{
  uint64_t hops = r->n_path ? r->n_path - 1 : 0;
  if (ctl->json) {
    struct json j;
    output__begin_result(&j, "lookup");
    json_str(&j, "name", name);
    json_hex(&j, "key", r->key.data, r->key.len);
    output__node_json(&j, "owner", r->owner);
    json_uint(&j, "hops", hops);
    json_str(&j, "route", ctl->last_route ? ctl->last_route : "node");
    json_open(&j, "path", '[');
    for (size_t i = 0; i < r->n_path; i++)
      output__node_json(&j, NULL, r->path[i]);
    json_close(&j, ']');
    json_end(&j);
    return;
  }
  fputs("name   ", stdout);
  text_name(name);
  fputs("\nkey    ", stdout);
  output__put_hex(r->key.data, r->key.len);
  fputs("\nowner  ", stdout);
  output__text_node(r->owner);
  printf("\nhops   %" PRIu64 "\nroute  %s\npath   ", hops,
         !ctl->last_route                         ? "node (--node)"
         : strcmp(ctl->last_route, "direct") == 0 ? "direct (to the owner in "
                                                    "the member list)"
                                                  : "ring (through a node the "
                                                    "supernode picked)");
  if (!r->n_path)
    fputs("none", stdout);
  for (size_t i = 0; i < r->n_path; i++) {
    if (i)
      fputs("\n       ", stdout);
    output__text_node(r->path[i]);
  }
  fputc('\n', stdout);
}

/* A value of grpc.health.v1's ServingStatus, by its short name. */
#define SERVING_STATUS(x) \
  GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__##x

/* The name of a serving status: "SERVING", "NOT_SERVING", ... */
static const char *serving_name(int status)
{
  switch (status) {
  case SERVING_STATUS(UNKNOWN): return "UNKNOWN";
  case SERVING_STATUS(SERVING): return "SERVING";
  case SERVING_STATUS(NOT_SERVING): return "NOT_SERVING";
  case SERVING_STATUS(SERVICE_UNKNOWN): return "SERVICE_UNKNOWN";
  default: return "UNRECOGNIZED";
  }
}

/* Prints the health of the daemon at addr as its Check answered: "ADDR
 * STATUS", or {command, addr, status, serving}. Returns OUTPUT_EXIT_OK
 * when it is SERVING, else OUTPUT_EXIT_FAILURE. */
int output_health(struct chordctl *ctl, const char *addr,
                  const Grpc__Health__V1__HealthCheckResponse *r)
{
  const char *name = serving_name(r->status);
  bool serving = r->status == SERVING_STATUS(SERVING);
  if (ctl->json) {
    struct json j;
    output__begin_result(&j, "health");
    json_str(&j, "addr", addr);
    json_str(&j, "status", name);
    json_bool(&j, "serving", serving);
    json_end(&j);
  } else {
    escape_put(stdout, addr, strlen(addr), false);
    printf(" %s\n", name);
  }
  return serving ? OUTPUT_EXIT_OK : OUTPUT_EXIT_FAILURE;
}
