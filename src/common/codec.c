/* SPDX-License-Identifier: MIT */
/* protobuf-c <-> grpc_byte_buffer. Decoding copies a multi-slice buffer
 * into one flat slice first; a single-slice buffer is parsed in place. */
#include "common/codec.h"

#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>

#include "common/err.h"

#define CODEC_MAX_DEPTH 32

grpc_byte_buffer *codec_encode(const ProtobufCMessage *msg)
{
  size_t n = protobuf_c_message_get_packed_size(msg);
  grpc_slice s = grpc_slice_malloc(n);
  size_t w = protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
  grpc_byte_buffer *bb = NULL;
  if (w == n)
    bb = grpc_raw_byte_buffer_create(&s, 1);
  grpc_slice_unref(s);
  return bb;
}

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
  uint64_t r = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (*p >= end)
      return -1;
    uint8_t b = *(*p)++;
    r |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return 0;
    }
  }
  return -1;
}

int codec_utf8_valid(const uint8_t *s, size_t len)
{
  size_t i = 0;
  while (i < len) {
    uint8_t c = s[i];
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if (len - i <= n)
      return 0;
    for (size_t k = 1; k <= n; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return 0;
      cp = cp << 6 | (s[i + k] & 0x3f);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
        (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += n + 1;
  }
  return 1;
}

/* Walks the wire form of a message that protobuf-c already accepted and
 * checks its string fields (recursively through sub-messages), which
 * protobuf-c hands back as C strings: an embedded NUL would silently cut
 * them short. */
static int check_strings(const uint8_t *p, size_t len,
                         const ProtobufCMessageDescriptor *d, int depth)
{
  const uint8_t *end = p + len;
  if (depth > CODEC_MAX_DEPTH)
    return CHORD_EINVAL;
  while (p < end) {
    uint64_t key, v;
    /* Field 0 does not exist. protobuf-c refuses it only in a one-byte
     * key, so an overlong one (0x85 0x00) got through and came back out
     * as 0x05, which the next node refused. */
    if (read_varint(&p, end, &key) || key >> 3 == 0)
      return CHORD_EINVAL;
    switch (key & 7) {
    case 0:
      if (read_varint(&p, end, &v))
        return CHORD_EINVAL;
      break;
    case 1:
      if (end - p < 8)
        return CHORD_EINVAL;
      p += 8;
      break;
    case 5:
      if (end - p < 4)
        return CHORD_EINVAL;
      p += 4;
      break;
    case 2: {
      if (read_varint(&p, end, &v) || v > (uint64_t)(end - p))
        return CHORD_EINVAL;
      const ProtobufCFieldDescriptor *f =
          protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3));
      if (f && f->type == PROTOBUF_C_TYPE_STRING &&
          (memchr(p, 0, v) || !codec_utf8_valid(p, v)))
        return CHORD_EINVAL;
      if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
        int rc = check_strings(p, v, f->descriptor, depth + 1);
        if (rc)
          return rc;
      }
      p += v;
      break;
    }
    default: return CHORD_EINVAL;
    }
  }
  return 0;
}

int codec_decode_bytes(const uint8_t *data, size_t len,
                       const ProtobufCMessageDescriptor *desc,
                       ProtobufCMessage **out)
{
  static const uint8_t none[1];
  *out = NULL;
  if (!data && len == 0)
    data = none; /* an empty bytes field: no pointer arithmetic on NULL */
  ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, data);
  if (!m)
    return CHORD_EINVAL;
  if (check_strings(data, len, desc, 0)) {
    protobuf_c_message_free_unpacked(m, NULL);
    return CHORD_EINVAL;
  }
  *out = m;
  return 0;
}

int codec_decode(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc,
                 ProtobufCMessage **out)
{
  *out = NULL;
  if (!bb)
    return CHORD_EINVAL;
  if (bb->type == GRPC_BB_RAW &&
      bb->data.raw.compression == GRPC_COMPRESS_NONE &&
      bb->data.raw.slice_buffer.count == 1) {
    grpc_slice s = bb->data.raw.slice_buffer.slices[0];
    return codec_decode_bytes(GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s),
                              desc, out);
  }
  grpc_byte_buffer_reader r;
  if (!grpc_byte_buffer_reader_init(&r, bb))
    return CHORD_EINVAL;
  grpc_slice s = grpc_byte_buffer_reader_readall(&r);
  grpc_byte_buffer_reader_destroy(&r);
  int rc = codec_decode_bytes(GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s),
                              desc, out);
  grpc_slice_unref(s);
  return rc;
}

void codec_free(ProtobufCMessage *msg)
{
  if (msg)
    protobuf_c_message_free_unpacked(msg, NULL);
}
