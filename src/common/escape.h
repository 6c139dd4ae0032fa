/* SPDX-License-Identifier: MIT */
/* Escaping text that came from a user or a peer, so that it can break
 * neither a line of output nor a JSON string. */
#ifndef CHORD_COMMON_ESCAPE_H
#define CHORD_COMMON_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Writes s[0..len) escaped to f, for text or for a JSON string. */
void escape_put(FILE *f, const char *s, size_t len, bool json);
/* Writes s[0..len) escaped for text or JSON (quoted when quote) into buf,
 * cut with "..."; returns the length written. */
size_t escape_buf(char *buf, size_t cap, const char *s, size_t len, bool quote,
                  bool json);
/* Writes s[0..len) quoted and escaped into buf, cut with "...". */
void escape_quote(char *buf, size_t cap, const char *s, size_t len);

#endif
