/* SPDX-License-Identifier: MIT */
/* chordctl's private header for printing: each command's result as text or
 * as one JSON object on stdout, errors as one sentence on stderr, and the
 * exit code that goes with a gRPC status. */
#ifndef CHORD_CLIENT_OUTPUT_H
#define CHORD_CLIENT_OUTPUT_H

#include <stddef.h>

#include <grpc/grpc.h>

#include "chord/v1/node.pb-c.h"
#include "client/chordctl.h"
#include "common/rpc.h"
#include "grpc/health/v1/health.pb-c.h"

/* Exit codes of chordctl. */
enum output_exit {
  OUTPUT_EXIT_OK = 0,          /* done */
  OUTPUT_EXIT_NOTFOUND = 1,    /* no such file */
  OUTPUT_EXIT_USAGE = 2,       /* bad flags or arguments, unknown command */
  OUTPUT_EXIT_UNREACHABLE = 3, /* cluster unreachable, timed out, no node */
  OUTPUT_EXIT_REFUSED = 4,     /* bad name, too large, refused input */
  OUTPUT_EXIT_FAILURE = 5,     /* anything else, local I/O errors included */
  OUTPUT_EXIT_DENIED = 6       /* no token, a wrong one, or not allowed */
};

#define OUTPUT_WHAT_MAX 160 /* room for a "verb "name"" context, with NUL */

/* One ring member as `ring` shows it. */
struct output_ring_member {
  const Chord__V1__NodeInfo *node;         /* the member */
  const Chord__V1__StatusResponse *status; /* its status; NULL: unreachable */
  struct rpc_status error;                 /* why, when status is NULL */
};

/* Prints "chordctl: " and the sentence to stderr. */
void output_error(struct chordctl *ctl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* As output_error, plus a pointer to the help; returns a usage error. */
int output_usage(struct chordctl *ctl, const char *topic, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reports a failed call to peer at addr; returns the exit code for st. */
int output_rpc_error(struct chordctl *ctl, const char *what, const char *peer,
                     const char *addr, const struct rpc_status *st);
/* Writes `verb "name"` (name quoted, escaped, possibly cut) into buf. */
void output_what(char *buf, size_t cap, const char *verb, const char *name);

/* What a transfer moved: the file's size, its chunks (0: a plain file)
 * and the seconds it took. */
struct output_xfer {
  uint64_t size;
  uint64_t chunks;
  double seconds;
};

/* Prints the result of write. */
void output_write(struct chordctl *ctl, const char *name, size_t size,
                  const Chord__V1__WriteResponse *r,
                  const struct output_xfer *x);
/* Prints the result of read, whose content went to output or stdout. */
void output_read(struct chordctl *ctl, const char *name,
                 const Chord__V1__ReadResponse *r, const char *output,
                 const struct output_xfer *x);
/* Prints the result of delete. */
/* A delete retried after an unsure failure found nothing: done. */
int output_delete_unsure(struct chordctl *ctl, const char *name);
void output_delete(struct chordctl *ctl, const char *name,
                   const Chord__V1__DeleteResponse *r);
/* Prints the result of lookup. */
void output_lookup(struct chordctl *ctl, const char *name,
                   const Chord__V1__LookupResponse *r);
/* Prints the n ring members m, in the order given, with totals. */
void output_ring(struct chordctl *ctl, const struct output_ring_member *m,
                 size_t n);
/* Prints one node's status. */
void output_status(struct chordctl *ctl, const Chord__V1__StatusResponse *r);
/* Prints a health answer; returns 0 only when the daemon is SERVING. */
int output_health(struct chordctl *ctl, const char *addr,
                  const Grpc__Health__V1__HealthCheckResponse *r);

#endif
