/* SPDX-License-Identifier: MIT */
/* The progress line: one \r-rewritten line on standard error. */
#include "client/progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_EVERY_MS 200

uint64_t progress_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void progress_begin(struct progress *p, struct chordctl *ctl, const char *verb,
                    uint64_t total)
{
  p->on = !ctl->quiet && isatty(STDERR_FILENO);
  p->drawn = false;
  p->verb = verb;
  p->total = total;
  p->start_ms = p->last_ms = progress_now_ms();
}

void progress_update(struct progress *p, uint64_t done)
{
  uint64_t now = progress_now_ms();
  if (!p->on || now - p->last_ms < PROGRESS_EVERY_MS)
    return;
  p->last_ms = now;
  double secs = (double)(now - p->start_ms) / 1000.0;
  double rate = secs > 0 ? (double)done / secs : 0; /* bytes per second */
  fprintf(stderr, "\r%s: %.1f MiB", p->verb, (double)done / 1048576.0);
  if (p->total) {
    double left = rate > 0 ? (double)(p->total - done) / rate : 0;
    fprintf(stderr, " of %.1f MiB (%3.0f%%), %.1f MB/s, %um%02us left  ",
            (double)p->total / 1048576.0,
            100.0 * (double)done / (double)p->total, rate / 1e6,
            (unsigned)(left / 60), (unsigned)left % 60);
  } else {
    fprintf(stderr, ", %.1f MB/s  ", rate / 1e6);
  }
  p->drawn = true;
}

void progress_end(struct progress *p)
{
  if (p->drawn)
    fputs("\r\033[K", stderr);
  p->drawn = false;
}
