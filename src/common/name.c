/* SPDX-License-Identifier: MIT */
/* File name checks shared by the node and chordctl. */
#include "common/name.h"

#include <string.h>

#include "common/codec.h"
#include "common/err.h"

static int hexval(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

int name_is_chunk(const char *name, size_t len)
{
  return name && len >= NAME_CHUNK_PREFIX_LEN &&
         memcmp(name, NAME_CHUNK_PREFIX, NAME_CHUNK_PREFIX_LEN) == 0;
}

int name_chunk_parse(const char *name, size_t len,
                     uint8_t hash[NAME_CHUNK_HASH_BYTES], const char **file,
                     size_t *file_len)
{
  const char *h;
  if (!name_is_chunk(name, len) ||
      len < NAME_CHUNK_PREFIX_LEN + NAME_CHUNK_HEX_LEN + 2)
    return CHORD_EINVAL;
  h = name + NAME_CHUNK_PREFIX_LEN;
  if (h[NAME_CHUNK_HEX_LEN] != '/')
    return CHORD_EINVAL;
  for (size_t i = 0; i < NAME_CHUNK_HASH_BYTES; i++) {
    int hi = hexval(h[2 * i]), lo = hexval(h[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return CHORD_EINVAL;
    hash[i] = (uint8_t)(hi << 4 | lo);
  }
  *file = h + NAME_CHUNK_HEX_LEN + 1;
  *file_len = len - (size_t)(*file - name);
  return 0;
}

size_t name_chunk_make(char *out, const uint8_t hash[NAME_CHUNK_HASH_BYTES],
                       const char *file, size_t file_len)
{
  static const char hex[] = "0123456789abcdef";
  char *p = out;
  memcpy(p, NAME_CHUNK_PREFIX, NAME_CHUNK_PREFIX_LEN);
  p += NAME_CHUNK_PREFIX_LEN;
  for (size_t i = 0; i < NAME_CHUNK_HASH_BYTES; i++) {
    *p++ = hex[hash[i] >> 4];
    *p++ = hex[hash[i] & 15];
  }
  *p++ = '/';
  memcpy(p, file, file_len);
  p += file_len;
  *p = '\0';
  return (size_t)(p - out);
}

/* The reason a file name (not a chunk name) is refused, or NULL. */
static const char *plain_reason(const char *name, size_t len)
{
  const char *reason = NULL;
  if (!name || len == 0)
    reason = "the name is empty";
  else if (len > NAME_MAX_BYTES)
    reason = "the name is longer than 1024 bytes";
  else if (memchr(name, 0, len))
    reason = "the name contains a NUL byte";
  else if (!codec_utf8_valid((const uint8_t *)name, len))
    reason = "the name is not valid UTF-8";
  else if (name_is_chunk(name, len))
    reason = "names starting with " NAME_CHUNK_PREFIX " are reserved for "
             "chunks: " NAME_CHUNK_PREFIX "<64 hex digits of SHA-256>/<name>";
  return reason;
}

int name_check(const char *name, size_t len, const char **why)
{
  uint8_t hash[NAME_CHUNK_HASH_BYTES];
  const char *reason, *file;
  size_t flen;
  if (name_chunk_parse(name, len, hash, &file, &flen) == 0)
    reason = plain_reason(file, flen); /* a chunk of a valid file name */
  else
    reason = plain_reason(name, len);
  if (why)
    *why = reason;
  return reason ? CHORD_EINVAL : 0;
}
