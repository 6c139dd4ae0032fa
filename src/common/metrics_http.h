/* SPDX-License-Identifier: MIT */
/* The metrics endpoint: GET /metrics over HTTP on its own thread. */
#ifndef CHORD_METRICS_HTTP_H
#define CHORD_METRICS_HTTP_H

#include <stddef.h>

#include "common/metrics.h"

struct metrics_http;

/* Serves m (borrowed; it outlives the server) on listen (HOST:PORT).
 * NULL with a sentence in err when the address is bad or cannot be
 * bound. */
struct metrics_http *metrics_http_start(const struct metrics *m,
                                        const char *listen, char *err,
                                        size_t errlen);
/* Stops serving (waits for the thread) and frees h. NULL is fine. */
void metrics_http_stop(struct metrics_http *h);

#endif
