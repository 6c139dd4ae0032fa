/* SPDX-License-Identifier: MIT */
/* chordctl's private header for local output: the content read, saved to
 * a file (atomically) or to standard output, whole or streamed. */
#ifndef CHORD_CLIENT_FILEIO_H
#define CHORD_CLIENT_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/chordctl.h"

/* An output being written: standard output, or a temporary file renamed
 * over the destination by fileio_out_commit (never left half-written). */
struct fileio_out {
  bool is_stdout;
  int fd;           /* the temporary file, or -1 */
  char *tmp, *dir;  /* its path and directory, owned */
  const char *path; /* the destination, borrowed */
  char q[160];      /* the destination, quoted for messages */
};

/* Starts an output to path ("-": standard output). 0, or
 * OUTPUT_EXIT_FAILURE after printing why (nothing to abort). */
int fileio_out_open(struct chordctl *ctl, const char *what, const char *path,
                    struct fileio_out *o);
/* Appends data[0..len). 0, or OUTPUT_EXIT_FAILURE after printing why (a
 * file output is then already aborted). */
int fileio_out_write(struct chordctl *ctl, const char *what,
                     struct fileio_out *o, const uint8_t *data, size_t len);
/* Syncs and renames the file into place (flushes standard output). 0, or
 * OUTPUT_EXIT_FAILURE after printing why (aborted). */
int fileio_out_commit(struct chordctl *ctl, const char *what,
                      struct fileio_out *o);
/* Removes the temporary file, if any, and frees o (idempotent). */
void fileio_out_abort(struct fileio_out *o);
/* Writes data to path atomically, or to stdout when path is "-". */
int fileio_write_output(struct chordctl *ctl, const char *what,
                        const char *path, const uint8_t *data, size_t len);

#endif
