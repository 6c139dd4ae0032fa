/* SPDX-License-Identifier: MIT */
/* 160-bit ring identifiers. Ids are big-endian byte arrays; arithmetic is
 * modulo 2^160 with byte-wise carries. */
#include "common/chord_id.h"

#include <string.h>

/* The low-level SHA-1 calls are deprecated in OpenSSL 3 in favour of EVP,
 * but EVP's first use loads the default provider and every one-shot call
 * fetches the digest again: measured here, that costs a daemon 2.1 MiB of
 * resident memory (most of it libcrypto pages) and a fetch per hash, for
 * one fixed 20-byte hash. The low-level calls run the same implementation
 * directly. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "common/err.h"

void chord_id_sha1(struct chord_id *out, const void *data, size_t len)
{
  SHA_CTX c;
  SHA1_Init(&c);
  SHA1_Update(&c, data, len);
  SHA1_Final(out->b, &c);
}

void chord_id_sha1_str(struct chord_id *out, const char *s)
{
  chord_id_sha1(out, s, strlen(s));
}

int chord_id_cmp(const struct chord_id *a, const struct chord_id *b)
{
  return memcmp(a->b, b->b, CHORD_ID_BYTES);
}

bool chord_id_eq(const struct chord_id *a, const struct chord_id *b)
{
  return chord_id_cmp(a, b) == 0;
}

void chord_id_add(struct chord_id *out, const struct chord_id *a,
                  const struct chord_id *b)
{
  unsigned carry = 0;
  for (int i = CHORD_ID_BYTES - 1; i >= 0; i--) {
    unsigned s = (unsigned)a->b[i] + b->b[i] + carry;
    out->b[i] = (uint8_t)s;
    carry = s >> 8;
  }
}

void chord_id_sub(struct chord_id *out, const struct chord_id *a,
                  const struct chord_id *b)
{
  int borrow = 0;
  for (int i = CHORD_ID_BYTES - 1; i >= 0; i--) {
    int d = (int)a->b[i] - b->b[i] - borrow;
    borrow = d < 0;
    out->b[i] = (uint8_t)(d + (borrow ? 256 : 0));
  }
}

void chord_id_add_pow2(struct chord_id *out, const struct chord_id *a,
                       unsigned i)
{
  struct chord_id p;
  memset(&p, 0, sizeof(p));
  if (i < CHORD_ID_BITS)
    p.b[CHORD_ID_BYTES - 1 - i / 8] = (uint8_t)(1u << (i % 8));
  chord_id_add(out, a, &p);
}

/* The interval tests compare clockwise distances from a, which handles the
 * wrap around zero without case analysis: x in (a, b] iff
 * 0 < x - a <= b - a, with b - a = 0 standing for the whole ring. */
bool chord_id_in_oc(const struct chord_id *x, const struct chord_id *a,
                    const struct chord_id *b)
{
  struct chord_id dx, db;
  if (chord_id_eq(a, b))
    return true;
  chord_id_sub(&dx, x, a);
  chord_id_sub(&db, b, a);
  static const struct chord_id zero;
  return !chord_id_eq(&dx, &zero) && chord_id_cmp(&dx, &db) <= 0;
}

bool chord_id_in_oo(const struct chord_id *x, const struct chord_id *a,
                    const struct chord_id *b)
{
  struct chord_id dx, db;
  if (chord_id_eq(a, b))
    return !chord_id_eq(x, a);
  chord_id_sub(&dx, x, a);
  chord_id_sub(&db, b, a);
  static const struct chord_id zero;
  return !chord_id_eq(&dx, &zero) && chord_id_cmp(&dx, &db) < 0;
}

void chord_id_to_hex(const struct chord_id *id, char out[CHORD_ID_HEX_LEN + 1])
{
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < CHORD_ID_BYTES; i++) {
    out[2 * i] = digits[id->b[i] >> 4];
    out[2 * i + 1] = digits[id->b[i] & 0xf];
  }
  out[CHORD_ID_HEX_LEN] = '\0';
}

static int hexval(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int chord_id_from_hex(struct chord_id *out, const char *hex)
{
  struct chord_id tmp;
  if (!hex || strlen(hex) != CHORD_ID_HEX_LEN)
    return CHORD_EINVAL;
  for (size_t i = 0; i < CHORD_ID_BYTES; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return CHORD_EINVAL;
    tmp.b[i] = (uint8_t)(hi << 4 | lo);
  }
  *out = tmp;
  return 0;
}

int chord_id_from_bytes(struct chord_id *out, const void *data, size_t len)
{
  if (!data || len != CHORD_ID_BYTES)
    return CHORD_EINVAL;
  memcpy(out->b, data, CHORD_ID_BYTES);
  return 0;
}

void chord_id_short(const struct chord_id *id, char out[9])
{
  char hex[CHORD_ID_HEX_LEN + 1];
  chord_id_to_hex(id, hex);
  memcpy(out, hex, 8);
  out[8] = '\0';
}
