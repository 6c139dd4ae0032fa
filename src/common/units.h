/* SPDX-License-Identifier: MIT */
/* The one parser of durations, sizes and counts on every command line:
 * a bare duration is seconds, a bare size is bytes, in all three programs. */
#ifndef CHORD_UNITS_H
#define CHORD_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* What --help says of both forms, for the programs' usage texts. */
#define UNITS_HELP                                                 \
  "Durations: 500ms, 1.5s, 2m, 1h, or a bare number of seconds.\n" \
  "Sizes: 1024, 64k, 64K, 64KiB, 64M, 1G (binary units), or bytes.\n"

/* Parses a duration into milliseconds within [min_ms, max_ms]. */
int units_parse_duration(const char *s, uint64_t min_ms, uint64_t max_ms,
                         uint64_t *out_ms);
/* Parses a size into bytes within [min, max]. */
int units_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Parses a decimal unsigned integer within [min, max]. */
int units_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Writes ms as "2m", "10s", "1.5s" or "250ms" (the shortest exact form). */
void units_format_duration(char *buf, size_t cap, uint64_t ms);

#endif
