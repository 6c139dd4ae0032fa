/* SPDX-License-Identifier: MIT */
/* chordctl's printing: each result as text or as one JSON object on
 * stdout, errors as one sentence on stderr. Every string that came from a
 * user or a peer is escaped, so a name cannot break a line or the JSON. */
#include "client/output.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client/commands.h"
#include "common/addr.h"
#include "common/codec.h"
#include "common/units.h"

#define ESC_MAX 8     /* longest escape of one character, with its NUL */
#define JSON_DEPTH 8  /* deepest nesting the results use, with room */
#define ADDR_COLUMN 21 /* width of the address column of `ring` */

/* ---- escaping ----------------------------------------------------------- */

/* Escapes the character that starts s[0..len) (len > 0) into out, with a
 * NUL, and returns how many bytes of s it used. Quotes, backslashes and
 * control characters are escaped; valid UTF-8 goes through as is; a byte
 * that is not UTF-8 becomes \xNN in text and U+FFFD in JSON. */
static size_t escape_char(const unsigned char *s, size_t len, bool json,
                          char out[ESC_MAX])
{
  unsigned char c = s[0];
  size_t n;

  switch (c) {
  case '"': strcpy(out, "\\\""); return 1;
  case '\\': strcpy(out, "\\\\"); return 1;
  case '\n': strcpy(out, "\\n"); return 1;
  case '\r': strcpy(out, "\\r"); return 1;
  case '\t': strcpy(out, "\\t"); return 1;
  default: break;
  }
  if (c < 0x20 || c == 0x7f) {
    snprintf(out, ESC_MAX, json ? "\\u%04x" : "\\x%02x", (unsigned)c);
    return 1;
  }
  if (c < 0x80) {
    out[0] = (char)c;
    out[1] = '\0';
    return 1;
  }
  n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
  if (n > 1 && n <= len && codec_utf8_valid(s, n)) {
    memcpy(out, s, n);
    out[n] = '\0';
    return n;
  }
  if (json)
    strcpy(out, "\\ufffd");
  else
    snprintf(out, ESC_MAX, "\\x%02x", (unsigned)c);
  return 1;
}

/* Writes s[0..len) escaped to f. */
static void put_escaped(FILE *f, const char *s, size_t len, bool json)
{
  const unsigned char *u = (const unsigned char *)s;
  char e[ESC_MAX];
  size_t i = 0;
  while (i < len) {
    i += escape_char(u + i, len - i, json, e);
    fputs(e, f);
  }
}

/* Writes s[0..len) escaped (and quoted when quote) into buf of cap >= 8
 * bytes, ending with "..." when it does not fit. */
static void escape_buf(char *buf, size_t cap, const char *s, size_t len,
                       bool quote)
{
  const unsigned char *u = (const unsigned char *)s;
  char e[ESC_MAX];
  size_t pos = 0, i = 0;

  if (quote)
    buf[pos++] = '"';
  while (i < len) {
    size_t took = escape_char(u + i, len - i, false, e);
    size_t el = strlen(e);
    /* Keep room for "...", the closing quote and the NUL. */
    if (pos + el + 5 > cap) {
      memcpy(buf + pos, "...", 3);
      pos += 3;
      break;
    }
    memcpy(buf + pos, e, el);
    pos += el;
    i += took;
  }
  if (quote)
    buf[pos++] = '"';
  buf[pos] = '\0';
}

void out_quote(char *buf, size_t cap, const char *s, size_t len)
{
  escape_buf(buf, cap, s, len, true);
}

void out_what(char *buf, size_t cap, const char *verb, const char *name)
{
  size_t n = strlen(verb);
  if (n + 9 > cap) { /* a verb, a space and `"..."` with NUL */
    snprintf(buf, cap, "%s", verb);
    return;
  }
  memcpy(buf, verb, n);
  buf[n++] = ' ';
  escape_buf(buf + n, cap - n, name, strlen(name), true);
}

/* ---- errors ------------------------------------------------------------- */

int out_exit_for_status(grpc_status_code code)
{
  switch (code) {
  case GRPC_STATUS_OK: return OUT_EXIT_OK;
  case GRPC_STATUS_NOT_FOUND: return OUT_EXIT_NOTFOUND;
  case GRPC_STATUS_UNAVAILABLE:
  case GRPC_STATUS_DEADLINE_EXCEEDED:
  case GRPC_STATUS_CANCELLED: return OUT_EXIT_UNREACHABLE;
  case GRPC_STATUS_INVALID_ARGUMENT:
  case GRPC_STATUS_RESOURCE_EXHAUSTED: return OUT_EXIT_REFUSED;
  default: return OUT_EXIT_FAILURE;
  }
}

static void verror(const char *fmt, va_list ap)
{
  fputs("chordctl: ", stderr);
  vfprintf(stderr, fmt, ap);
}

void out_error(struct chordctl *ctl, const char *fmt, ...)
{
  va_list ap;
  (void)ctl;
  va_start(ap, fmt);
  verror(fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

int out_usage(struct chordctl *ctl, const char *topic, const char *fmt, ...)
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
  return OUT_EXIT_USAGE;
}

/* Whether a status message is gRPC's own for a peer it could not reach
 * or lost (rather than one the peer sent). */
static bool unreachable_message(const char *m)
{
  static const char *const prefixes[] = {
      "failed to connect", "DNS resolution failed", "Socket closed",
      "Connection reset", "Broken pipe", "empty address list"};
  for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
    if (strncmp(m, prefixes[i], strlen(prefixes[i])) == 0)
      return true;
  }
  return false;
}

int out_rpc_error(struct chordctl *ctl, const char *what, const char *peer,
                  const char *addr, const struct rpc_status *st)
{
  char who[ADDR_STR_MAX + 32], reason[ADDR_STR_MAX + 96], dur[32];
  char msg[RPC_MESSAGE_MAX * 2];
  bool is_node = strcmp(peer, "node") == 0;

  snprintf(who, sizeof(who), "the %s at %s", peer, addr);
  switch (st->code) {
  case GRPC_STATUS_UNAVAILABLE:
    /* gRPC's own messages say no connection could be made; otherwise
     * the node answered UNAVAILABLE itself (e.g. a peer behind it is
     * down), and it is not the node that cannot be reached. */
    if (!is_node || unreachable_message(st->message))
      snprintf(reason, sizeof(reason), "cannot reach %s", who);
    else
      snprintf(reason, sizeof(reason), "%s is unavailable", who);
    break;
  case GRPC_STATUS_DEADLINE_EXCEEDED:
    units_format_duration(dur, sizeof(dur), (uint64_t)ctl->timeout_ms);
    snprintf(reason, sizeof(reason), "no answer from %s within %s", who,
             dur);
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
    snprintf(reason, sizeof(reason), "a size limit was exceeded with %s",
             who);
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
  escape_buf(msg, sizeof(msg), st->message, strlen(st->message), false);
  if (strcmp(msg, reason) == 0)
    msg[0] = '\0'; /* "no such file (NOT_FOUND)", not said twice */
  out_error(ctl, "%s%s%s (%s%s%s)", what ? what : "", what ? ": " : "",
            reason, rpc_status_name(st->code), msg[0] ? ": " : "", msg);
  return out_exit_for_status(st->code);
}

/* ---- JSON --------------------------------------------------------------- */

/* A JSON writer: one object on one line, members separated as they come. */
struct json {
  FILE *f;
  unsigned depth;
  bool first[JSON_DEPTH]; /* no member written yet at this depth */
};

static void json_string(FILE *f, const char *s, size_t len)
{
  fputc('"', f);
  put_escaped(f, s, len, true);
  fputc('"', f);
}

/* The comma before a member and its key (key NULL inside arrays). */
static void json_key(struct json *j, const char *key)
{
  if (j->depth > 0) {
    if (!j->first[j->depth - 1])
      fputc(',', j->f);
    j->first[j->depth - 1] = false;
  }
  if (key) {
    json_string(j->f, key, strlen(key));
    fputc(':', j->f);
  }
}

static void json_open(struct json *j, const char *key, char c)
{
  json_key(j, key);
  fputc(c, j->f);
  if (j->depth < JSON_DEPTH)
    j->first[j->depth] = true;
  j->depth++;
}

static void json_close(struct json *j, char c)
{
  fputc(c, j->f);
  j->depth--;
  if (j->depth == 0)
    fputc('\n', j->f);
}

static void json_begin(struct json *j, const char *command)
{
  j->f = stdout;
  j->depth = 0;
  json_open(j, NULL, '{');
  json_key(j, "command");
  json_string(j->f, command, strlen(command));
}

static void json_str(struct json *j, const char *key, const char *s)
{
  json_key(j, key);
  if (s)
    json_string(j->f, s, strlen(s));
  else
    fputs("null", j->f);
}

static void json_uint(struct json *j, const char *key, uint64_t v)
{
  json_key(j, key);
  fprintf(j->f, "%" PRIu64, v);
}

static void json_bool(struct json *j, const char *key, bool v)
{
  json_key(j, key);
  fputs(v ? "true" : "false", j->f);
}

static void put_hex(FILE *f, const uint8_t *b, size_t len)
{
  for (size_t i = 0; i < len; i++)
    fprintf(f, "%02x", b[i]);
}

static void json_hex(struct json *j, const char *key,
                     const ProtobufCBinaryData *b)
{
  json_key(j, key);
  fputc('"', j->f);
  put_hex(j->f, b->data, b->len);
  fputc('"', j->f);
}

/* {"id": hex, "addr": ...}, or null. */
static void json_node(struct json *j, const char *key,
                      const Chord__V1__NodeInfo *n)
{
  if (!n) {
    json_key(j, key);
    fputs("null", j->f);
    return;
  }
  json_open(j, key, '{');
  json_hex(j, "id", &n->id);
  json_str(j, "addr", n->addr);
  json_close(j, '}');
}

static void json_base64(struct json *j, const char *key, const uint8_t *d,
                        size_t len)
{
  static const char tab[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char q[4];
  size_t i;

  json_key(j, key);
  fputc('"', j->f);
  for (i = 0; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
    q[0] = tab[v >> 18];
    q[1] = tab[(v >> 12) & 63];
    q[2] = tab[(v >> 6) & 63];
    q[3] = tab[v & 63];
    fwrite(q, 1, 4, j->f);
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)d[i] << 16;
    q[0] = tab[v >> 18];
    q[1] = tab[(v >> 12) & 63];
    q[2] = q[3] = '=';
    fwrite(q, 1, 4, j->f);
  } else if (len - i == 2) {
    uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8;
    q[0] = tab[v >> 18];
    q[1] = tab[(v >> 12) & 63];
    q[2] = tab[(v >> 6) & 63];
    q[3] = '=';
    fwrite(q, 1, 4, j->f);
  }
  fputc('"', j->f);
}

/* ---- text --------------------------------------------------------------- */

static const char *plural(uint64_t n)
{
  return n == 1 ? "" : "s";
}

static void text_name(const char *name)
{
  fputc('"', stdout);
  put_escaped(stdout, name, strlen(name), false);
  fputc('"', stdout);
}

/* "<40 hex> addr", or "none". */
static void text_node(const Chord__V1__NodeInfo *n)
{
  if (!n) {
    fputs("none", stdout);
    return;
  }
  put_hex(stdout, n->id.data, n->id.len);
  fputs(n->id.len ? "  " : "-  ", stdout);
  put_escaped(stdout, n->addr, strlen(n->addr), false);
}

static const char *node_addr(const Chord__V1__NodeInfo *n)
{
  return n && n->addr[0] ? n->addr : "an unknown node";
}

/* "3d 4h 5m 6s", leading zero units left out; "250 ms" under a second. */
static void text_uptime(uint64_t ms)
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

/* ---- results ------------------------------------------------------------ */

void out_write(struct chordctl *ctl, const char *name, size_t size,
               const Chord__V1__WriteResponse *r)
{
  if (ctl->json) {
    struct json j;
    json_begin(&j, "write");
    json_str(&j, "name", name);
    json_uint(&j, "size", size);
    json_node(&j, "owner", r->owner);
    json_uint(&j, "hops", r->hops);
    json_uint(&j, "version", r->version);
    json_close(&j, '}');
    return;
  }
  fputs("wrote ", stdout);
  text_name(name);
  printf(" (%zu byte%s) to %s in %" PRIu32 " hop%s\n", size, plural(size),
         node_addr(r->owner), r->hops, plural(r->hops));
}

void out_read(struct chordctl *ctl, const char *name,
              const Chord__V1__ReadResponse *r, const char *output)
{
  const Chord__V1__File *f = r->file;
  size_t size = f ? f->content.len : 0;
  if (ctl->json) {
    struct json j;
    json_begin(&j, "read");
    json_str(&j, "name", name);
    json_uint(&j, "size", size);
    json_node(&j, "owner", r->owner);
    json_uint(&j, "hops", r->hops);
    json_uint(&j, "version", f ? f->version : 0);
    if (output)
      json_str(&j, "output", output);
    else
      json_base64(&j, "content_base64", f ? f->content.data : NULL, size);
    json_close(&j, '}');
    return;
  }
  if (!output)
    return; /* the content itself was the output */
  fputs("saved ", stdout);
  text_name(name);
  printf(" (%zu byte%s) from %s in %" PRIu32 " hop%s to ", size,
         plural(size), node_addr(r->owner), r->hops, plural(r->hops));
  text_name(output);
  fputc('\n', stdout);
}

void out_delete(struct chordctl *ctl, const char *name,
                const Chord__V1__DeleteResponse *r)
{
  if (ctl->json) {
    struct json j;
    json_begin(&j, "delete");
    json_str(&j, "name", name);
    json_node(&j, "owner", r->owner);
    json_uint(&j, "hops", r->hops);
    json_close(&j, '}');
    return;
  }
  fputs("deleted ", stdout);
  text_name(name);
  printf(" from %s in %" PRIu32 " hop%s\n", node_addr(r->owner), r->hops,
         plural(r->hops));
}

void out_lookup(struct chordctl *ctl, const char *name,
                const Chord__V1__LookupResponse *r)
{
  uint64_t hops = r->n_path ? r->n_path - 1 : 0;
  if (ctl->json) {
    struct json j;
    json_begin(&j, "lookup");
    json_str(&j, "name", name);
    json_hex(&j, "key", &r->key);
    json_node(&j, "owner", r->owner);
    json_uint(&j, "hops", hops);
    json_open(&j, "path", '[');
    for (size_t i = 0; i < r->n_path; i++)
      json_node(&j, NULL, r->path[i]);
    json_close(&j, ']');
    json_close(&j, '}');
    return;
  }
  fputs("name   ", stdout);
  text_name(name);
  fputs("\nkey    ", stdout);
  put_hex(stdout, r->key.data, r->key.len);
  fputs("\nowner  ", stdout);
  text_node(r->owner);
  printf("\nhops   %" PRIu64 "\npath   ", hops);
  if (!r->n_path)
    fputs("none", stdout);
  for (size_t i = 0; i < r->n_path; i++) {
    if (i)
      fputs("\n       ", stdout);
    text_node(r->path[i]);
  }
  fputc('\n', stdout);
}

void out_ring(struct chordctl *ctl, const struct out_ring_member *m,
              size_t n)
{
  uint64_t keys = 0, bytes = 0;
  size_t down = 0;

  for (size_t i = 0; i < n; i++) {
    if (m[i].status) {
      keys += m[i].status->keys;
      bytes += m[i].status->bytes;
    } else {
      down++;
    }
  }
  if (ctl->json) {
    struct json j;
    json_begin(&j, "ring");
    json_open(&j, "nodes", '[');
    for (size_t i = 0; i < n; i++) {
      json_open(&j, NULL, '{');
      json_hex(&j, "id", &m[i].node->id);
      json_str(&j, "addr", m[i].node->addr);
      json_bool(&j, "reachable", m[i].status != NULL);
      if (m[i].status) {
        json_bool(&j, "joined", m[i].status->joined);
        json_uint(&j, "keys", m[i].status->keys);
        json_uint(&j, "bytes", m[i].status->bytes);
      } else {
        json_open(&j, "error", '{');
        json_str(&j, "status", rpc_status_name(m[i].error.code));
        json_str(&j, "message", m[i].error.message);
        json_close(&j, '}');
      }
      json_close(&j, '}');
    }
    json_close(&j, ']');
    json_uint(&j, "count", n);
    json_uint(&j, "unreachable", down);
    json_uint(&j, "keys", keys);
    json_uint(&j, "bytes", bytes);
    json_close(&j, '}');
    return;
  }
  printf("%-40s  %-*s  %10s  %12s\n", "ID", ADDR_COLUMN, "ADDR", "KEYS",
         "BYTES");
  for (size_t i = 0; i < n; i++) {
    const Chord__V1__NodeInfo *node = m[i].node;
    const char *pad = "";
    put_hex(stdout, node->id.data, node->id.len);
    if (node->id.len < 20)
      printf("%*s", (int)(40 - 2 * node->id.len), pad);
    fputs("  ", stdout);
    put_escaped(stdout, node->addr, strlen(node->addr), false);
    if (strlen(node->addr) < ADDR_COLUMN)
      printf("%*s", (int)(ADDR_COLUMN - strlen(node->addr)), pad);
    if (m[i].status) {
      printf("  %10" PRIu64 "  %12" PRIu64 "%s\n", m[i].status->keys,
             m[i].status->bytes, m[i].status->joined ? "" : "  (joining)");
    } else {
      /* The status name says enough here; JSON has the message. */
      printf("  unreachable (%s)\n", rpc_status_name(m[i].error.code));
    }
  }
  printf("%zu node%s", n, plural(n));
  if (down)
    printf(" (%zu unreachable)", down);
  printf(", %" PRIu64 " key%s, %" PRIu64 " byte%s\n", keys, plural(keys),
         bytes, plural(bytes));
}

void out_status(struct chordctl *ctl, const Chord__V1__StatusResponse *r)
{
  if (ctl->json) {
    struct json j;
    json_begin(&j, "status");
    json_node(&j, "node", r->self);
    json_bool(&j, "joined", r->joined);
    json_str(&j, "version", r->version);
    json_uint(&j, "uptime_ms", r->uptime_ms);
    json_uint(&j, "keys", r->keys);
    json_uint(&j, "bytes", r->bytes);
    json_node(&j, "predecessor", r->predecessor);
    json_open(&j, "successors", '[');
    for (size_t i = 0; i < r->n_successors; i++)
      json_node(&j, NULL, r->successors[i]);
    json_close(&j, ']');
    json_open(&j, "fingers", '[');
    for (size_t i = 0; i < r->n_fingers; i++) {
      json_open(&j, NULL, '{');
      json_uint(&j, "index", r->fingers[i]->index);
      json_node(&j, "node", r->fingers[i]->node);
      json_close(&j, '}');
    }
    json_close(&j, ']');
    json_close(&j, '}');
    return;
  }
  fputs("node         ", stdout);
  text_node(r->self);
  printf("\njoined       %s\nversion      ", r->joined ? "yes" : "no");
  put_escaped(stdout, r->version, strlen(r->version), false);
  fputs("\nuptime       ", stdout);
  text_uptime(r->uptime_ms);
  printf("\nkeys         %" PRIu64 "\nbytes        %" PRIu64
         "\npredecessor  ",
         r->keys, r->bytes);
  text_node(r->predecessor);
  fputs("\nsuccessors   ", stdout);
  if (!r->n_successors)
    fputs("none", stdout);
  for (size_t i = 0; i < r->n_successors; i++) {
    if (i)
      fputs("\n             ", stdout);
    text_node(r->successors[i]);
  }
  fputs("\nfingers      ", stdout);
  if (!r->n_fingers)
    fputs("none", stdout);
  for (size_t i = 0; i < r->n_fingers; i++) {
    if (i)
      fputs("\n             ", stdout);
    printf("[%3" PRIu32 "] ", r->fingers[i]->index);
    text_node(r->fingers[i]->node);
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

int out_health(struct chordctl *ctl, const char *addr,
               const Grpc__Health__V1__HealthCheckResponse *r)
{
  const char *name = serving_name(r->status);
  bool serving = r->status == SERVING_STATUS(SERVING);
  if (ctl->json) {
    struct json j;
    json_begin(&j, "health");
    json_str(&j, "addr", addr);
    json_str(&j, "status", name);
    json_bool(&j, "serving", serving);
    json_close(&j, '}');
  } else {
    put_escaped(stdout, addr, strlen(addr), false);
    printf(" %s\n", name);
  }
  return serving ? OUT_EXIT_OK : OUT_EXIT_FAILURE;
}
