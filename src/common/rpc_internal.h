/* SPDX-License-Identifier: MIT */
/* Private to the rpc layer (rpc_status.c, rpc_server.c, rpc_client.c):
 * nothing outside src/common includes this header. The rpc__ names are
 * shared by those files and exported by none. */
#ifndef CHORD_RPC_INTERNAL_H
#define CHORD_RPC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <grpc/grpc.h>

#include "common/rpc.h"

#define RPC__MAX_ARGS 8 /* room for rpc__channel_args_fill and one more */

/* Sets st to a status made up on this side (remote false, no detail). */
void rpc__status_set(struct rpc_status *st, grpc_status_code code,
                     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Fills a[] with the message limits and the client's reconnect settings. */
void rpc__channel_args_fill(grpc_arg *a, size_t *n, size_t max_message,
                            int reconnect_max_ms);
/* Copies the value of key in md into out (NUL-terminated). 0,
 * CHORD_ENOTFOUND, or CHORD_ETOOBIG when it does not fit. */
int rpc__metadata_get(const grpc_metadata_array *md, const char *key, char *out,
                      size_t len);
/* Writes the RPC_ERROR_KEY value for detail (NULL for none) into out. */
void rpc__error_value(const char *detail, char *out, size_t len);

#endif
