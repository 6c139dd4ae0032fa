/* SPDX-License-Identifier: MIT */
/* chordctl's private header shared by output.c and output_ring.c: the
 * small text and JSON pieces every result is printed with. */
#ifndef CHORD_CLIENT_OUTPUT_INTERNAL_H
#define CHORD_CLIENT_OUTPUT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "chord/v1/common.pb-c.h"
#include "client/json.h"

/* "s" unless n is 1. */
const char *output__plural(uint64_t n);
/* b[0..len) in lower-case hex on stdout. */
void output__put_hex(const uint8_t *b, size_t len);
/* A node as "ID  ADDR" on stdout ("none" for NULL). */
void output__text_node(const Chord__V1__NodeInfo *n);
/* A duration as "1d 2h 3m 4s" on stdout. */
void output__text_uptime(uint64_t ms);
/* A node member {id, addr} (null for NULL). */
void output__node_json(struct json *j, const char *key,
                       const Chord__V1__NodeInfo *n);
/* Starts a command's JSON result on stdout. */
void output__begin_result(struct json *j, const char *command);

#endif
