/* SPDX-License-Identifier: MIT */
/* chordctl's private header for escaping text that came from a user or a
 * peer, so that it can break neither a line of output nor a JSON string. */
#ifndef CHORD_CLIENT_ESCAPE_H
#define CHORD_CLIENT_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Writes s[0..len) escaped to f, for text or for a JSON string. */
void escape_put(FILE *f, const char *s, size_t len, bool json);
/* Writes s[0..len) escaped (quoted when quote) into buf, cut with "...". */
void escape_buf(char *buf, size_t cap, const char *s, size_t len, bool quote);
/* Writes s[0..len) quoted and escaped into buf, cut with "...". */
void escape_quote(char *buf, size_t cap, const char *s, size_t len);

#endif
