/* SPDX-License-Identifier: MIT */
/* Fuzzes file names: name_check (file and chunk names) and
 * codec_utf8_valid against a table-driven UTF-8 validator (Unicode 15,
 * table 3-7), chunk names through parse and make, and the codec's string check
 * on the wire: a ReadRequest carrying the input as its name decodes exactly
 * when the name is UTF-8 without NUL, and to the same bytes. The input is
 * the name. */
#include <stdbool.h>
#include <string.h>

#include "chord/v1/node.pb-c.h"
#include "common/codec.h"
#include "common/err.h"
#include "common/name.h"
#include "fuzz.h"

#define NAME_WIRE_MAX (NAME_MAX_BYTES * 4 + 16)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  return 0;
}

/* Well-formed UTF-8 by the table of byte ranges: lead byte, then the range
 * of the second byte; later bytes are 80..BF. */
static bool ref_utf8(const uint8_t *s, size_t n)
{
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    size_t k;
    uint8_t lo = 0x80, hi = 0xbf;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf)
      k = 1;
    else if (c >= 0xe0 && c <= 0xef)
      k = 2;
    else if (c >= 0xf0 && c <= 0xf4)
      k = 3;
    else
      return false;
    if (c == 0xe0)
      lo = 0xa0;
    else if (c == 0xed)
      hi = 0x9f;
    else if (c == 0xf0)
      lo = 0x90;
    else if (c == 0xf4)
      hi = 0x8f;
    if (n - i <= k || s[i + 1] < lo || s[i + 1] > hi)
      return false;
    for (size_t j = 2; j <= k; j++)
      if (s[i + j] < 0x80 || s[i + j] > 0xbf)
        return false;
    i += k + 1;
  }
  return true;
}

/* The rule name_check enforces, written out: a file name is 1 to 1024
 * bytes of UTF-8 without NUL, not starting with the chunk prefix; a chunk
 * name is the prefix, 64 lower-case hex digits, '/', and a file name. */
static bool ref_plain(const uint8_t *s, size_t n)
{
  return n >= 1 && n <= NAME_MAX_BYTES && !memchr(s, 0, n) && ref_utf8(s, n) &&
         !(n >= 7 && memcmp(s, "@chunk/", 7) == 0);
}

static bool ref_name(const uint8_t *s, size_t n)
{
  if (!(n >= 7 && memcmp(s, "@chunk/", 7) == 0))
    return ref_plain(s, n);
  if (n < 7 + 64 + 2 || s[7 + 64] != '/')
    return false;
  for (size_t i = 7; i < 7 + 64; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return ref_plain(s + 72, n - 72);
}

/* A ReadRequest whose field 1 (name) is s[0..n), written by hand so that
 * it may hold any bytes. Returns the encoded length. */
static size_t read_request(uint8_t *out, const uint8_t *s, size_t n)
{
  size_t w = 0, v = n;
  out[w++] = 0x0a; /* field 1, length-delimited */
  do {
    out[w++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  memcpy(out + w, s, n);
  return w + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static uint8_t wire[NAME_WIRE_MAX];
  const char *why = NULL;
  ProtobufCMessage *m;
  bool utf8 = ref_utf8(data, size), nul = memchr(data, 0, size) != NULL;
  FUZZ_CHECK(codec_utf8_valid(data, size) == utf8, "codec_utf8_valid");

  int rc = name_check((const char *)data, size, &why);
  bool good = ref_name(data, size);
  FUZZ_CHECK((rc == 0) == good,
             good ? "a good name is refused" : "a bad name is accepted");
  FUZZ_CHECK(rc == 0 || rc == CHORD_EINVAL, "name_check error code");
  FUZZ_CHECK((rc == 0) == (why == NULL), "a reason iff refused");
  FUZZ_CHECK(name_check((const char *)data, size, NULL) == rc,
             "name_check depends on why");
  if (good && name_is_chunk((const char *)data, size)) {
    static char back[NAME_MAX_STORED + 1];
    uint8_t hash[NAME_CHUNK_HASH_BYTES];
    const char *file;
    size_t flen;
    FUZZ_CHECK(name_chunk_parse((const char *)data, size, hash, &file, &flen) ==
                   0,
               "a good chunk name does not parse");
    FUZZ_CHECK(name_chunk_make(back, hash, file, flen) == size &&
                   memcmp(back, data, size) == 0,
               "a chunk name does not survive parse and make");
  }

  if (size > NAME_MAX_BYTES * 4)
    return 0;
  size_t n = read_request(wire, data, size);
  rc = codec_decode_bytes(wire, n, &chord__v1__read_request__descriptor, &m);
  FUZZ_CHECK((rc == 0) == (utf8 && !nul), "the codec's string check");
  if (rc == 0) {
    const Chord__V1__ReadRequest *r = (const Chord__V1__ReadRequest *)m;
    FUZZ_CHECK(strlen(r->name) == size && memcmp(r->name, data, size) == 0,
               "a decoded name differs");
    codec_free(m);
  }
  return 0;
}
