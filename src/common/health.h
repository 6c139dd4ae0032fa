/* SPDX-License-Identifier: MIT */
/* grpc.health.v1.Health/Check for every daemon. */
#ifndef CHORD_HEALTH_H
#define CHORD_HEALTH_H

#include <stdbool.h>

#include "common/rpc.h"

/* Serves Health/Check on s: SERVING while *serving is true and
 * *exhausted false, else NOT_SERVING; a service name other than "" or one
 * of names (NULL-ended) gets NOT_FOUND. The flags and names must outlive
 * the server. */
int health_add(struct rpc_server *s, const bool *serving, const bool *exhausted,
               const char *const *names);

#endif
