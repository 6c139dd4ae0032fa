/* SPDX-License-Identifier: MIT */
/* chordctl's private header for printing: each command's result as text or
 * as one JSON object on stdout, errors as one sentence on stderr, and the
 * exit code that goes with a gRPC status. */
#ifndef CHORD_CLIENT_OUTPUT_H
#define CHORD_CLIENT_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc.h>

#include "chord/v1/node.pb-c.h"
#include "common/rpc.h"
#include "grpc/health/v1/health.pb-c.h"

struct chordctl;

/* Exit codes of chordctl. */
enum out_exit {
  OUT_EXIT_OK = 0,          /* done */
  OUT_EXIT_NOTFOUND = 1,    /* no such file */
  OUT_EXIT_USAGE = 2,       /* bad flags or arguments, unknown command */
  OUT_EXIT_UNREACHABLE = 3, /* cluster unreachable, timed out, no node */
  OUT_EXIT_REFUSED = 4,     /* bad name, too large, refused input */
  OUT_EXIT_FAILURE = 5      /* anything else, local I/O errors included */
};

#define OUT_WHAT_MAX 160 /* room for a "verb "name"" context, with NUL */

/* One ring member as `ring` shows it. */
struct out_ring_member {
  const Chord__V1__NodeInfo *node;         /* the member */
  const Chord__V1__StatusResponse *status; /* its status; NULL: unreachable */
  struct rpc_status error;                 /* why, when status is NULL */
};

/* The exit code for a call that ended with code. */
int out_exit_for_status(grpc_status_code code);
/* Prints "chordctl: " and the sentence to stderr. */
void out_error(struct chordctl *ctl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* As out_error, ending with a pointer to the help on topic (a command, or
 * NULL for the general help); returns OUT_EXIT_USAGE. */
int out_usage(struct chordctl *ctl, const char *topic, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reports a failed call to peer ("node" or "supernode") at addr, after
 * what (NULL for none); returns the exit code for st. */
int out_rpc_error(struct chordctl *ctl, const char *what, const char *peer,
                  const char *addr, const struct rpc_status *st);
/* Writes s[0..len) quoted and escaped into buf, cut short with "..." when
 * it does not fit (cap >= 8). */
void out_quote(char *buf, size_t cap, const char *s, size_t len);
/* Writes `verb "name"` (name quoted, escaped, possibly cut) into buf. */
void out_what(char *buf, size_t cap, const char *verb, const char *name);

/* Results. Each prints text or one JSON object to stdout. */
void out_write(struct chordctl *ctl, const char *name, size_t size,
               const Chord__V1__WriteResponse *r);
/* output is the file the content went to, or NULL: then text mode prints
 * nothing (the content was the output) and JSON carries it in base64. */
void out_read(struct chordctl *ctl, const char *name,
              const Chord__V1__ReadResponse *r, const char *output);
void out_delete(struct chordctl *ctl, const char *name,
                const Chord__V1__DeleteResponse *r);
void out_lookup(struct chordctl *ctl, const char *name,
                const Chord__V1__LookupResponse *r);
void out_ring(struct chordctl *ctl, const struct out_ring_member *m,
              size_t n);
void out_status(struct chordctl *ctl, const Chord__V1__StatusResponse *r);
/* Prints the health of the daemon at addr as its Check answered; returns
 * OUT_EXIT_OK when SERVING, else OUT_EXIT_FAILURE. */
int out_health(struct chordctl *ctl, const char *addr,
               const Grpc__Health__V1__HealthCheckResponse *r);

#endif
