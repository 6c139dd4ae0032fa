/* SPDX-License-Identifier: MIT */
/* protobuf-c messages to and from gRPC byte buffers, with the checks every
 * inbound message gets: decodable, and every string valid UTF-8 without a
 * NUL byte (so decoded strings are safe C strings). */
#ifndef CHORD_CODEC_H
#define CHORD_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

/* Packs msg into a new byte buffer, which the caller destroys with
 * grpc_byte_buffer_destroy (or hands to a send op and then destroys).
 * NULL on allocation failure. */
grpc_byte_buffer *codec_encode(const ProtobufCMessage *msg);

/* Decodes bb (not consumed; the caller still destroys it) as a desc
 * message into *out, which the caller frees with codec_free. 0, or
 * CHORD_EINVAL when bb is NULL, undecodable, or holds a string that is not
 * UTF-8 or contains NUL; CHORD_ENOMEM. *out is NULL on error. */
int codec_decode(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc,
                 ProtobufCMessage **out);

/* As codec_decode, from a flat buffer. */
int codec_decode_bytes(const uint8_t *data, size_t len,
                       const ProtobufCMessageDescriptor *desc,
                       ProtobufCMessage **out);

/* Frees a message from codec_decode (NULL-safe). */
void codec_free(ProtobufCMessage *msg);

/* Whether s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
int codec_utf8_valid(const uint8_t *s, size_t len);

#endif
