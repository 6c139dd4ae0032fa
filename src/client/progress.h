/* SPDX-License-Identifier: MIT */
/* chordctl's private header for the progress line of big transfers: on a
 * terminal (standard error) and without --quiet only, redrawn at most
 * every 200 ms: bytes, percent, rate and time left. */
#ifndef CHORD_CLIENT_PROGRESS_H
#define CHORD_CLIENT_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "client/chordctl.h"

struct progress {
  bool on;          /* drawing at all */
  bool drawn;       /* a line is on the screen */
  const char *verb; /* "writing", "reading" */
  uint64_t total;   /* bytes expected; 0: unknown (standard input) */
  uint64_t start_ms, last_ms;
};

/* Monotonic milliseconds. */
uint64_t progress_now_ms(void);
void progress_begin(struct progress *p, struct chordctl *ctl, const char *verb,
                    uint64_t total);
/* Redraws when due, with done bytes moved so far. */
void progress_update(struct progress *p, uint64_t done);
/* Clears the line. */
void progress_end(struct progress *p);

#endif
