/* SPDX-License-Identifier: MIT */
/* Durations, sizes and counts from command-line text, with one meaning
 * everywhere: a bare duration is seconds and a bare size is bytes. */
#include "common/units.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

#define UNITS_DIGITS_MAX 1000000000000000ull /* keeps every product exact */

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

/* Reads digits at *p into *v (at least one, no sign). 0 or CHORD_EINVAL. */
static int digits(const char **p, uint64_t *v)
{
  const char *s = *p;
  *v = 0;
  if (!is_digit(*s))
    return CHORD_EINVAL;
  for (; is_digit(*s); s++) {
    *v = *v * 10 + (uint64_t)(*s - '0');
    if (*v > UNITS_DIGITS_MAX)
      return CHORD_EINVAL;
  }
  *p = s;
  return 0;
}

/* Parses s as a duration: digits, an optional fraction, and an optional
 * unit (ms, s, m or h; none means seconds). The result is rounded down to
 * whole milliseconds and checked against [min_ms, max_ms]. 0, or
 * CHORD_EINVAL with *out_ms unchanged. Any thread. */
int units_parse_duration(const char *s, uint64_t min_ms, uint64_t max_ms,
                         uint64_t *out_ms)
{
  uint64_t whole, frac = 0, scale = 1, mul, v;
  const char *p = s;
  if (!s || digits(&p, &whole))
    return CHORD_EINVAL;
  if (*p == '.') {
    p++;
    if (!is_digit(*p))
      return CHORD_EINVAL;
    for (; is_digit(*p); p++) {
      if (scale < 1000000) { /* finer than a microsecond is noise */
        frac = frac * 10 + (uint64_t)(*p - '0');
        scale *= 10;
      }
    }
  }
  if (*p == '\0' || strcmp(p, "s") == 0)
    mul = 1000;
  else if (strcmp(p, "ms") == 0)
    mul = 1;
  else if (strcmp(p, "m") == 0)
    mul = 60000;
  else if (strcmp(p, "h") == 0)
    mul = 3600000;
  else
    return CHORD_EINVAL;
  /* The fraction's share counts too: "5124095576030.9h" would wrap. */
  v = frac * mul / scale;
  if (whole > (UINT64_MAX - v) / mul)
    return CHORD_EINVAL;
  v += whole * mul;
  if (v < min_ms || v > max_ms)
    return CHORD_EINVAL;
  *out_ms = v;
  return 0;
}

/* Parses s as a size: digits and an optional unit, B, k/K, m/M or g/G
 * (powers of 1024), the last three also as KiB, MiB, GiB; none means
 * bytes. 0, or CHORD_EINVAL with *out unchanged. Any thread. */
int units_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
  uint64_t v;
  unsigned shift;
  const char *p = s;
  if (!s || digits(&p, &v))
    return CHORD_EINVAL;
  if (*p == '\0' || strcmp(p, "B") == 0)
    shift = 0;
  else if (strchr("kK", *p) && (!p[1] || strcmp(p + 1, "iB") == 0))
    shift = 10;
  else if (strchr("mM", *p) && (!p[1] || strcmp(p + 1, "iB") == 0))
    shift = 20;
  else if (strchr("gG", *p) && (!p[1] || strcmp(p + 1, "iB") == 0))
    shift = 30;
  else
    return CHORD_EINVAL;
  if (v > (UINT64_MAX >> shift))
    return CHORD_EINVAL;
  v <<= shift;
  if (v < min || v > max)
    return CHORD_EINVAL;
  *out = v;
  return 0;
}

/* Parses s as plain decimal digits (no sign, no unit) within [min, max].
 * 0, or CHORD_EINVAL with *out unchanged. Any thread. */
int units_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
  uint64_t v;
  const char *p = s;
  if (!s || digits(&p, &v) || *p != '\0' || v < min || v > max)
    return CHORD_EINVAL;
  *out = v;
  return 0;
}

/* Writes ms in the largest unit that states it exactly, so that the text
 * parses back to the same value. Any thread. */
void units_format_duration(char *buf, size_t cap, uint64_t ms)
{
  if (ms != 0 && ms % 3600000 == 0)
    snprintf(buf, cap, "%" PRIu64 "h", ms / 3600000);
  else if (ms != 0 && ms % 60000 == 0)
    snprintf(buf, cap, "%" PRIu64 "m", ms / 60000);
  else if (ms % 1000 == 0)
    snprintf(buf, cap, "%" PRIu64 "s", ms / 1000);
  else if (ms > 1000 && ms % 100 == 0)
    snprintf(buf, cap, "%" PRIu64 ".%" PRIu64 "s", ms / 1000, ms % 1000 / 100);
  else
    snprintf(buf, cap, "%" PRIu64 "ms", ms);
}
