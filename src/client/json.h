/* SPDX-License-Identifier: MIT */
/* chordctl's private header for its JSON writer: one object on one line,
 * written member by member to a stream, every string escaped. */
#ifndef CHORD_CLIENT_JSON_H
#define CHORD_CLIENT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH 8 /* deepest nesting the writer tracks */

/* One JSON object being written; caller storage, no clean-up needed. */
struct json {
  FILE *f;                /* where it goes */
  unsigned depth;         /* objects and arrays open */
  bool first[JSON_DEPTH]; /* no member written yet at this depth */
};

/* Starts the top-level object on f. */
void json_begin(struct json *j, FILE *f);
/* Ends the top-level object and its line. */
void json_end(struct json *j);
/* Opens a member (key NULL inside an array) that is an object or array. */
void json_open(struct json *j, const char *key, char bracket);
/* Closes the innermost object ('}') or array (']'). */
void json_close(struct json *j, char bracket);
/* A string member (s NULL: null), escaped. */
void json_str(struct json *j, const char *key, const char *s);
/* A null member. */
void json_null(struct json *j, const char *key);
/* An unsigned integer member. */
void json_uint(struct json *j, const char *key, uint64_t v);
/* A number member, with up to 3 decimals. */
void json_double(struct json *j, const char *key, double v);
/* A boolean member. */
void json_bool(struct json *j, const char *key, bool v);
/* A string member of data[0..len) in lower-case hex. */
void json_hex(struct json *j, const char *key, const uint8_t *data, size_t len);
/* A string member of data[0..len) in standard base64, with padding. */
void json_base64(struct json *j, const char *key, const uint8_t *data,
                 size_t len);

#endif
