/* SPDX-License-Identifier: MIT */
/* Codec: messages round-trip through gRPC byte buffers (flat and split into
 * many slices); truncated, garbage and ill-formed strings are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/slice.h>

#include "chord/v1/node.pb-c.h"
#include "chord/v1/supernode.pb-c.h"
#include "common/codec.h"
#include "common/err.h"

static grpc_byte_buffer *split_buffer(const uint8_t *data, size_t len,
                                      size_t piece)
{
  size_t n = len ? (len + piece - 1) / piece : 1;
  grpc_slice *s = calloc(n, sizeof(*s));
  assert_non_null(s);
  for (size_t i = 0; i < n; i++) {
    size_t off = i * piece;
    size_t l = len - off < piece ? len - off : piece;
    s[i] = grpc_slice_from_copied_buffer((const char *)data + off, l);
  }
  grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(s, n);
  for (size_t i = 0; i < n; i++)
    grpc_slice_unref(s[i]);
  free(s);
  return bb;
}

static void test_codec_write_request_round_trip(void **state)
{
  (void)state;
  Chord__V1__WriteRequest w = CHORD__V1__WRITE_REQUEST__INIT;
  Chord__V1__File f = CHORD__V1__FILE__INIT;
  size_t len = 300000;
  uint8_t *content = malloc(len);
  assert_non_null(content);
  for (size_t i = 0; i < len; i++)
    content[i] = (uint8_t)(i ^ (i >> 8));
  f.name = "dir/ünïcode name.txt";
  f.content.data = content;
  f.content.len = len;
  f.version = 42;
  w.file = &f;
  w.hops = 3;
  grpc_byte_buffer *bb = codec_encode(&w.base);
  assert_non_null(bb);
  ProtobufCMessage *m = NULL;
  assert_int_equal(codec_decode(bb, &chord__v1__write_request__descriptor, &m),
                   0);
  Chord__V1__WriteRequest *d = (Chord__V1__WriteRequest *)m;
  assert_string_equal(d->file->name, f.name);
  assert_int_equal(d->file->content.len, len);
  assert_memory_equal(d->file->content.data, content, len);
  assert_int_equal(d->file->version, 42);
  assert_int_equal(d->hops, 3);
  codec_free(m);

  /* The same bytes split into odd-sized slices decode the same. */
  size_t packed = protobuf_c_message_get_packed_size(&w.base);
  uint8_t *flat = malloc(packed);
  assert_non_null(flat);
  protobuf_c_message_pack(&w.base, flat);
  grpc_byte_buffer *split = split_buffer(flat, packed, 4093);
  assert_int_equal(
      codec_decode(split, &chord__v1__write_request__descriptor, &m), 0);
  d = (Chord__V1__WriteRequest *)m;
  assert_memory_equal(d->file->content.data, content, len);
  codec_free(m);
  grpc_byte_buffer_destroy(split);
  grpc_byte_buffer_destroy(bb);
  free(flat);
  free(content);
}

static void test_codec_empty_message(void **state)
{
  (void)state;
  Chord__V1__GetNodeRequest g = CHORD__V1__GET_NODE_REQUEST__INIT;
  grpc_byte_buffer *bb = codec_encode(&g.base);
  assert_non_null(bb);
  assert_int_equal(grpc_byte_buffer_length(bb), 0);
  ProtobufCMessage *m = NULL;
  assert_int_equal(
      codec_decode(bb, &chord__v1__get_node_request__descriptor, &m), 0);
  assert_non_null(m);
  codec_free(m);
  grpc_byte_buffer_destroy(bb);
}

static void test_codec_repeated_nodes(void **state)
{
  (void)state;
  Chord__V1__NodeInfo n[5];
  Chord__V1__NodeInfo *p[5];
  uint8_t ids[5][20];
  char addrs[5][32];
  for (int i = 0; i < 5; i++) {
    chord__v1__node_info__init(&n[i]);
    memset(ids[i], i + 1, 20);
    snprintf(addrs[i], sizeof(addrs[i]), "10.0.0.%d:7000", i);
    n[i].id.data = ids[i];
    n[i].id.len = 20;
    n[i].addr = addrs[i];
    p[i] = &n[i];
  }
  Chord__V1__ListNodesResponse l = CHORD__V1__LIST_NODES_RESPONSE__INIT;
  l.n_nodes = 5;
  l.nodes = p;
  grpc_byte_buffer *bb = codec_encode(&l.base);
  ProtobufCMessage *m = NULL;
  assert_int_equal(
      codec_decode(bb, &chord__v1__list_nodes_response__descriptor, &m), 0);
  Chord__V1__ListNodesResponse *d = (Chord__V1__ListNodesResponse *)m;
  assert_int_equal(d->n_nodes, 5);
  for (int i = 0; i < 5; i++) {
    assert_string_equal(d->nodes[i]->addr, addrs[i]);
    assert_memory_equal(d->nodes[i]->id.data, ids[i], 20);
  }
  codec_free(m);
  grpc_byte_buffer_destroy(bb);
}

static void test_codec_null_buffer(void **state)
{
  (void)state;
  ProtobufCMessage *m = (ProtobufCMessage *)1;
  assert_int_equal(codec_decode(NULL, &chord__v1__read_request__descriptor, &m),
                   CHORD_EINVAL);
  assert_null(m);
}

/* An empty bytes field (a manifest's content) comes as NULL and 0: it
 * decodes to an empty message, with no arithmetic on the NULL pointer. */
static void test_codec_empty_bytes(void **state)
{
  (void)state;
  ProtobufCMessage *m = NULL;
  assert_int_equal(
      codec_decode_bytes(NULL, 0, &chord__v1__manifest__descriptor, &m), 0);
  assert_non_null(m);
  assert_int_equal(((Chord__V1__Manifest *)m)->n_chunks, 0);
  codec_free(m);
}

static void test_codec_truncated_rejected(void **state)
{
  (void)state;
  Chord__V1__ReadRequest r = CHORD__V1__READ_REQUEST__INIT;
  r.name = "a-reasonably-long-file-name";
  r.hops = 300;
  size_t n = protobuf_c_message_get_packed_size(&r.base);
  uint8_t buf[128];
  assert_true(n < sizeof(buf));
  protobuf_c_message_pack(&r.base, buf);
  /* Every strict prefix that cuts a field short must be refused. */
  int refused = 0;
  for (size_t cut = 1; cut < n; cut++) {
    ProtobufCMessage *m = NULL;
    int rc =
        codec_decode_bytes(buf, cut, &chord__v1__read_request__descriptor, &m);
    if (rc == 0) {
      /* A cut on a field boundary is a valid shorter message. */
      codec_free(m);
    } else {
      assert_int_equal(rc, CHORD_EINVAL);
      assert_null(m);
      refused++;
    }
  }
  /* Only the boundary after the name field is a valid prefix. */
  assert_int_equal(refused, (int)n - 2);
}

static void test_codec_garbage_never_crashes(void **state)
{
  (void)state;
  uint32_t x = 12345;
  uint8_t buf[64];
  int accepted = 0;
  for (int iter = 0; iter < 20000; iter++) {
    size_t len = (size_t)(iter % 64);
    for (size_t i = 0; i < len; i++) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      buf[i] = (uint8_t)x;
    }
    ProtobufCMessage *m = NULL;
    int rc =
        codec_decode_bytes(buf, len, &chord__v1__write_request__descriptor, &m);
    if (rc == 0) {
      accepted++;
      /* Whatever is accepted holds only clean strings. */
      Chord__V1__WriteRequest *w = (Chord__V1__WriteRequest *)m;
      if (w->file)
        assert_true(codec_utf8_valid((const uint8_t *)w->file->name,
                                     strlen(w->file->name)));
      codec_free(m);
    } else {
      assert_null(m);
    }
  }
  assert_true(accepted > 0); /* the empty message, at least */
}

static void test_codec_string_checks(void **state)
{
  (void)state;
  ProtobufCMessage *m = NULL;
  /* ReadRequest.name (field 1, string). */
  static const uint8_t nul[] = {0x0a, 0x03, 'a', 0x00, 'b'};
  static const uint8_t bad_utf8[] = {0x0a, 0x02, 0xc3, 0x28};
  static const uint8_t overlong[] = {0x0a, 0x02, 0xc0, 0xaf};
  static const uint8_t surrogate[] = {0x0a, 0x03, 0xed, 0xa0, 0x80};
  static const uint8_t good[] = {0x0a, 0x04, 0xf0, 0x9f, 0x98, 0x80};
  const ProtobufCMessageDescriptor *d = &chord__v1__read_request__descriptor;
  assert_int_equal(codec_decode_bytes(nul, sizeof(nul), d, &m), CHORD_EINVAL);
  assert_int_equal(codec_decode_bytes(bad_utf8, sizeof(bad_utf8), d, &m),
                   CHORD_EINVAL);
  assert_int_equal(codec_decode_bytes(overlong, sizeof(overlong), d, &m),
                   CHORD_EINVAL);
  assert_int_equal(codec_decode_bytes(surrogate, sizeof(surrogate), d, &m),
                   CHORD_EINVAL);
  assert_int_equal(codec_decode_bytes(good, sizeof(good), d, &m), 0);
  assert_int_equal(strlen(((Chord__V1__ReadRequest *)m)->name), 4);
  codec_free(m);
  /* Field 0 in an overlong key (0x80 0x00 is field 0, varint): refused
   * like the one-byte form, not passed on to fail at the next hop (found
   * by fuzz/fuzz_decode.c). */
  static const uint8_t field0[] = {0x80, 0x00, 0x01};
  assert_int_equal(codec_decode_bytes(field0, sizeof(field0), d, &m),
                   CHORD_EINVAL);
  /* A nested string: WriteRequest.file.name with a NUL. */
  static const uint8_t nested[] = {0x0a, 0x05, 0x0a, 0x03, 'x', 0x00, 'y'};
  assert_int_equal(codec_decode_bytes(nested, sizeof(nested),
                                      &chord__v1__write_request__descriptor,
                                      &m),
                   CHORD_EINVAL);
  /* Bytes fields may hold anything. */
  static const uint8_t bytes_nul[] = {0x0a, 0x02, 0x00, 0xff};
  assert_int_equal(codec_decode_bytes(bytes_nul, sizeof(bytes_nul),
                                      &chord__v1__ping_request__descriptor, &m),
                   0);
  codec_free(m);
}

static void test_codec_unknown_fields_kept_compatible(void **state)
{
  (void)state;
  /* Field 15 (unknown to ReadRequest) then name: a newer client's
   * message still decodes. */
  static const uint8_t msg[] = {0x78, 0x01, 0x0a, 0x01, 'n'};
  ProtobufCMessage *m = NULL;
  assert_int_equal(codec_decode_bytes(msg, sizeof(msg),
                                      &chord__v1__read_request__descriptor, &m),
                   0);
  assert_string_equal(((Chord__V1__ReadRequest *)m)->name, "n");
  codec_free(m);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_codec_write_request_round_trip),
      cmocka_unit_test(test_codec_empty_message),
      cmocka_unit_test(test_codec_repeated_nodes),
      cmocka_unit_test(test_codec_null_buffer),
      cmocka_unit_test(test_codec_empty_bytes),
      cmocka_unit_test(test_codec_truncated_rejected),
      cmocka_unit_test(test_codec_garbage_never_crashes),
      cmocka_unit_test(test_codec_string_checks),
      cmocka_unit_test(test_codec_unknown_fields_kept_compatible),
  };
  grpc_init();
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  grpc_shutdown();
  return rc;
}
