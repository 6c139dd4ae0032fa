/* SPDX-License-Identifier: MIT */
/* chordctl's JSON writer: one object on one line, members separated as
 * they come, strings escaped so no input can break the JSON. */
#include "client/json.h"

#include <inttypes.h>
#include <string.h>

#include "common/escape.h"

static void put_string(FILE *f, const char *s, size_t len)
{
  fputc('"', f);
  escape_put(f, s, len, true);
  fputc('"', f);
}

/* The comma before a member and its key (key NULL inside arrays). */
static void put_key(struct json *j, const char *key)
{
  if (j->depth > 0) {
    if (!j->first[j->depth - 1])
      fputc(',', j->f);
    j->first[j->depth - 1] = false;
  }
  if (key) {
    put_string(j->f, key, strlen(key));
    fputc(':', j->f);
  }
}

/* Opens the top-level object of j on f; end it with json_end. Write errors
 * are left in f's error flag, for the caller's final check. One thread
 * per struct json, as for every json_ call. */
void json_begin(struct json *j, FILE *f)
{
  j->f = f;
  j->depth = 0;
  json_open(j, NULL, '{');
}

/* Closes the top-level object opened by json_begin and ends the line. */
void json_end(struct json *j)
{
  json_close(j, '}');
}

/* Writes the member key (NULL for an array element) and bracket, '{' or
 * '[', which json_close must match. Nesting beyond JSON_DEPTH is written
 * but its commas are not tracked. */
void json_open(struct json *j, const char *key, char bracket)
{
  put_key(j, key);
  fputc(bracket, j->f);
  if (j->depth < JSON_DEPTH)
    j->first[j->depth] = true;
  j->depth++;
}

/* Writes bracket, '}' or ']', closing what the last json_open opened; at
 * the top level it also ends the line. */
void json_close(struct json *j, char bracket)
{
  fputc(bracket, j->f);
  j->depth--;
  if (j->depth == 0)
    fputc('\n', j->f);
}

/* Writes the member key: s as an escaped JSON string, or null when s is
 * NULL. */
void json_str(struct json *j, const char *key, const char *s)
{
  if (!s) {
    json_null(j, key);
    return;
  }
  put_key(j, key);
  put_string(j->f, s, strlen(s));
}

/* Writes the member key: null. */
void json_null(struct json *j, const char *key)
{
  put_key(j, key);
  fputs("null", j->f);
}

/* Writes the member key: v in decimal. */
void json_uint(struct json *j, const char *key, uint64_t v)
{
  put_key(j, key);
  fprintf(j->f, "%" PRIu64, v);
}

/* Writes the member key: v with 3 decimals (0 for a non-finite v). */
void json_double(struct json *j, const char *key, double v)
{
  put_key(j, key);
  fprintf(j->f, "%.3f", v == v && v < 1e300 && v > -1e300 ? v : 0.0);
}

/* Writes the member key: true or false. */
void json_bool(struct json *j, const char *key, bool v)
{
  put_key(j, key);
  fputs(v ? "true" : "false", j->f);
}

/* Writes the member key: data[0..len) as a string of lower-case hex
 * digits, two per byte ("" when len is 0). */
void json_hex(struct json *j, const char *key, const uint8_t *data, size_t len)
{
  put_key(j, key);
  fputc('"', j->f);
  for (size_t i = 0; i < len; i++)
    fprintf(j->f, "%02x", data[i]);
  fputc('"', j->f);
}

/* Writes the member key: data[0..len) in base64 (RFC 4648, with '='
 * padding). data may be NULL when len is 0. */
void json_base64(struct json *j, const char *key, const uint8_t *data,
                 size_t len)
{
  static const char tab[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char q[4];
  size_t i;

  put_key(j, key);
  fputc('"', j->f);
  for (i = 0; i + 3 <= len; i += 3) {
    uint32_t v =
        (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
    q[0] = tab[v >> 18];
    q[1] = tab[(v >> 12) & 63];
    q[2] = tab[(v >> 6) & 63];
    q[3] = tab[v & 63];
    fwrite(q, 1, 4, j->f);
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)data[i] << 16;
    q[0] = tab[v >> 18];
    q[1] = tab[(v >> 12) & 63];
    q[2] = q[3] = '=';
    fwrite(q, 1, 4, j->f);
  } else if (len - i == 2) {
    uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8;
    q[0] = tab[v >> 18];
    q[1] = tab[(v >> 12) & 63];
    q[2] = tab[(v >> 6) & 63];
    q[3] = '=';
    fwrite(q, 1, 4, j->f);
  }
  fputc('"', j->f);
}
