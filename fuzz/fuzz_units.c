/* SPDX-License-Identifier: MIT */
/* Fuzzes the command-line value parsers: units_parse_duration, _size and
 * _uint against a re-statement of their grammar in 128-bit arithmetic,
 * their [min, max] bounds, units_format_duration (its text parses back to
 * the same value), and chord_id_from_hex / chord_id_to_hex. The input is
 * the text (up to its first NUL); its first 8 bytes are also a duration to
 * format. */
#include <stdbool.h>
#include <string.h>

#include "common/chord_id.h"
#include "common/err.h"
#include "common/units.h"
#include "fuzz.h"

#define DIGITS_MAX 1000000000000000ull /* units.c: longer numbers refused */
#define FRAC_DIGITS 6                  /* units.c: finer is ignored */

typedef unsigned __int128 u128;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  return 0;
}

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

/* Leading digits of *p (at least one, value at most DIGITS_MAX). */
static bool ref_digits(const char **p, u128 *v)
{
  *v = 0;
  if (!is_digit(**p))
    return false;
  for (; is_digit(**p); (*p)++) {
    *v = *v * 10 + (unsigned)(**p - '0');
    if (*v > DIGITS_MAX)
      return false;
  }
  return true;
}

static bool ref_duration(const char *s, u128 *v)
{
  u128 whole, frac = 0, scale = 1, mul;
  if (!ref_digits(&s, &whole))
    return false;
  if (*s == '.') {
    s++;
    if (!is_digit(*s))
      return false;
    for (int k = 0; is_digit(*s); s++, k++) {
      if (k < FRAC_DIGITS) {
        frac = frac * 10 + (unsigned)(*s - '0');
        scale *= 10;
      }
    }
  }
  if (!strcmp(s, "") || !strcmp(s, "s"))
    mul = 1000;
  else if (!strcmp(s, "ms"))
    mul = 1;
  else if (!strcmp(s, "m"))
    mul = 60000;
  else if (!strcmp(s, "h"))
    mul = 3600000;
  else
    return false;
  *v = whole * mul + frac * mul / scale;
  return *v <= UINT64_MAX;
}

static bool ref_size(const char *s, u128 *v)
{
  static const char *const units[] = {"k",   "K",   "kiB", "KiB", "m",   "M",
                                      "miB", "MiB", "g",   "G",   "giB", "GiB"};
  unsigned shift = 0;
  if (!ref_digits(&s, v))
    return false;
  if (strcmp(s, "") && strcmp(s, "B")) {
    size_t i = 0;
    while (i < sizeof(units) / sizeof(units[0]) && strcmp(s, units[i]))
      i++;
    if (i == sizeof(units) / sizeof(units[0]))
      return false;
    shift = 10 * (unsigned)(1 + i / 4);
  }
  *v <<= shift;
  return *v <= UINT64_MAX;
}

static bool ref_uint(const char *s, u128 *v)
{
  return ref_digits(&s, v) && *s == '\0';
}

typedef int (*parse_fn)(const char *s, uint64_t min, uint64_t max,
                        uint64_t *out);

/* parse against ref over the whole range, then bounds just around it. */
static void check_parser(const char *s, parse_fn parse, bool ok, u128 want,
                         const char *what)
{
  uint64_t v = 42;
  int rc = parse(s, 0, UINT64_MAX, &v);
  FUZZ_CHECK((rc == 0) == ok, what);
  if (!ok) {
    FUZZ_CHECK(rc == CHORD_EINVAL && v == 42, "refused, but out changed");
    return;
  }
  FUZZ_CHECK(v == (uint64_t)want, what);
  FUZZ_CHECK(parse(s, v, v, &v) == 0, "a value at its bounds");
  if (v < UINT64_MAX)
    FUZZ_CHECK(parse(s, v + 1, UINT64_MAX, &v) == CHORD_EINVAL, "below min");
  if (v > 0)
    FUZZ_CHECK(parse(s, 0, v - 1, &v) == CHORD_EINVAL, "above max");
}

static void check_format(uint64_t ms)
{
  char buf[64];
  uint64_t back;
  if (ms > DIGITS_MAX) /* its "ms" form would be too long to parse */
    return;
  units_format_duration(buf, sizeof(buf), ms);
  FUZZ_CHECK(units_parse_duration(buf, 0, UINT64_MAX, &back) == 0 && back == ms,
             "a formatted duration parses to another value");
}

static void check_hex(const char *s)
{
  struct chord_id id, untouched;
  char hex[CHORD_ID_HEX_LEN + 1];
  size_t n = strlen(s), i = 0;
  while (i < n &&
         ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
          (s[i] >= 'A' && s[i] <= 'F')))
    i++;
  bool ok = n == CHORD_ID_HEX_LEN && i == n;
  memset(&id, 0x5a, sizeof(id));
  untouched = id;
  int rc = chord_id_from_hex(&id, s);
  FUZZ_CHECK((rc == 0) == ok, "chord_id_from_hex");
  if (!ok) {
    FUZZ_CHECK(memcmp(&id, &untouched, sizeof(id)) == 0, "out was touched");
    return;
  }
  chord_id_to_hex(&id, hex);
  for (i = 0; i < n; i++) {
    char c = s[i] >= 'A' && s[i] <= 'F' ? (char)(s[i] - 'A' + 'a') : s[i];
    FUZZ_CHECK(hex[i] == c, "hex does not round-trip");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  u128 want = 0;
  char *s = malloc(size + 1);
  FUZZ_CHECK(s, "out of memory");
  memcpy(s, data, size);
  s[size] = '\0';

  bool ok = ref_duration(s, &want);
  check_parser(s, units_parse_duration, ok, want, "units_parse_duration");
  ok = ref_size(s, &want);
  check_parser(s, units_parse_size, ok, want, "units_parse_size");
  ok = ref_uint(s, &want);
  check_parser(s, units_parse_uint, ok, want, "units_parse_uint");
  check_hex(s);
  if (size >= 8) {
    uint64_t ms;
    memcpy(&ms, data, sizeof(ms));
    check_format(ms);
    check_format(ms % 100000000000ull);
  }
  free(s);
  return 0;
}
