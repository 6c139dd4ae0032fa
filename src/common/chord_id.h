/* SPDX-License-Identifier: MIT */
/* 160-bit ring identifiers: SHA-1, comparison, modular arithmetic and the
 * wrap-around interval tests the whole protocol rests on. */
#ifndef CHORD_ID_H
#define CHORD_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHORD_ID_BYTES 20
#define CHORD_ID_BITS 160
#define CHORD_ID_HEX_LEN 40 /* hex digits, without the NUL */

/* Big-endian: b[0] is the most significant byte. */
struct chord_id {
  uint8_t b[CHORD_ID_BYTES];
};

/* out = SHA-1(data, len). */
void chord_id_sha1(struct chord_id *out, const void *data, size_t len);
/* out = SHA-1 of the NUL-terminated string s. */
void chord_id_sha1_str(struct chord_id *out, const char *s);
/* <0, 0, >0 as a is below, equal to or above b (as unsigned integers). */
int chord_id_cmp(const struct chord_id *a, const struct chord_id *b);
bool chord_id_eq(const struct chord_id *a, const struct chord_id *b);
/* out = (a + b) mod 2^160. out may alias a or b. */
void chord_id_add(struct chord_id *out, const struct chord_id *a,
                  const struct chord_id *b);
/* out = (a - b) mod 2^160 (the clockwise distance from b to a). */
void chord_id_sub(struct chord_id *out, const struct chord_id *a,
                  const struct chord_id *b);
/* out = (a + 2^i) mod 2^160 for 0 <= i < 160; out may alias a. */
void chord_id_add_pow2(struct chord_id *out, const struct chord_id *a,
                       unsigned i);
/* x in (a, b] clockwise. a == b means the whole ring: always true. */
bool chord_id_in_oc(const struct chord_id *x, const struct chord_id *a,
                    const struct chord_id *b);
/* x in (a, b) clockwise. a == b means the whole ring but a: x != a. */
bool chord_id_in_oo(const struct chord_id *x, const struct chord_id *a,
                    const struct chord_id *b);
/* Writes 40 lowercase hex digits and a NUL into out[41]. */
void chord_id_to_hex(const struct chord_id *id, char out[CHORD_ID_HEX_LEN + 1]);
/* Parses exactly 40 hex digits (either case). 0 or CHORD_EINVAL; out is
 * untouched on error. */
int chord_id_from_hex(struct chord_id *out, const char *hex);
/* Copies 20 bytes. 0, or CHORD_EINVAL when len != 20 (out untouched). */
int chord_id_from_bytes(struct chord_id *out, const void *data, size_t len);
/* The 8 leading hex digits, for logs: writes 9 bytes into out. */
void chord_id_short(const struct chord_id *id, char out[9]);

#endif
