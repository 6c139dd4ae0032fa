/* SPDX-License-Identifier: MIT */
/* The small HTTP servers (the metrics endpoint, chordctl serve): a
 * libmicrohttpd daemon on its own thread at a HOST:PORT, and replies. */
#ifndef CHORD_HTTP_H
#define CHORD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

/* Serves handler(cls, ...) at listen (HOST:PORT) on one internal thread,
 * at most conns connections, idle ones closed after idle_s. NULL with a
 * sentence in err when listen is bad, does not resolve or cannot be
 * bound. libmicrohttpd's own messages go to the log, prefixed with what. */
struct MHD_Daemon *http_start(const char *listen, const char *what,
                              MHD_AccessHandlerCallback handler, void *cls,
                              unsigned conns, unsigned idle_s, char *err,
                              size_t errlen);
/* Queues a reply of body[0..len) with content type type. owned: body is
 * malloc'd and freed here (even on failure); else it must outlive the
 * reply (a static). */
enum MHD_Result http_respond(struct MHD_Connection *conn, unsigned code,
                             const char *type, const void *body, size_t len,
                             bool owned);

#endif
