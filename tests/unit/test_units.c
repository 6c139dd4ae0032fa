/* SPDX-License-Identifier: MIT */
/* Unit tests for units: every program reads durations, sizes and counts
 * the same way (a bare duration is seconds, k/K/m/M/g/G everywhere), bad
 * text is refused with the output untouched, and formatted durations
 * parse back to the same value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/units.h"

#define DAY_MS ((uint64_t)24 * 3600 * 1000)
#define UNTOUCHED 0x5a5a5a5a5a5a5a5aull

static uint64_t dur(const char *s)
{
  uint64_t v = UNTOUCHED;
  if (units_parse_duration(s, 0, UINT64_MAX, &v))
    fail_msg("refused duration \"%s\"", s);
  return v;
}

static void assert_dur_refused(const char *s, uint64_t lo, uint64_t hi)
{
  uint64_t v = UNTOUCHED;
  if (units_parse_duration(s, lo, hi, &v) != CHORD_EINVAL)
    fail_msg("accepted duration \"%s\"", s ? s : "(null)");
  assert_true(v == UNTOUCHED);
}

static uint64_t size(const char *s)
{
  uint64_t v = UNTOUCHED;
  if (units_parse_size(s, 0, UINT64_MAX, &v))
    fail_msg("refused size \"%s\"", s);
  return v;
}

static void assert_size_refused(const char *s, uint64_t lo, uint64_t hi)
{
  uint64_t v = UNTOUCHED;
  if (units_parse_size(s, lo, hi, &v) != CHORD_EINVAL)
    fail_msg("accepted size \"%s\"", s ? s : "(null)");
  assert_true(v == UNTOUCHED);
}

static void test_units_duration_units(void **state)
{
  (void)state;
  assert_true(dur("10") == 10000); /* bare: seconds */
  assert_true(dur("0") == 0);
  assert_true(dur("250ms") == 250);
  assert_true(dur("2s") == 2000);
  assert_true(dur("1.5s") == 1500);
  assert_true(dur("1.5") == 1500);
  assert_true(dur("0.0015s") == 1); /* rounded down to whole ms */
  assert_true(dur("2m") == 120000);
  assert_true(dur("1h") == 3600000);
  assert_true(dur("0.5m") == 30000);
}

static void test_units_duration_refused(void **state)
{
  (void)state;
  const char *bad[] = {
      NULL,  "",   "s",   "ms",   "-1",    "+1",
      " 1",  "1 ", "1.",  ".5",   "1.5.2", "1sec",
      "1S",  "1d", "1e3", "0x10", "1ms5",  "99999999999999999999",
      "1s\n"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_dur_refused(bad[i], 0, UINT64_MAX);
  /* Range limits are the caller's. */
  assert_dur_refused("0", 1, DAY_MS);
  assert_dur_refused("0.0001s", 1, DAY_MS);
  assert_dur_refused("25h", 1, DAY_MS);
  /* The fraction counts toward overflow: this wrapped to about 28 minutes
   * before (found by fuzz/fuzz_units.c). */
  assert_dur_refused("5124095576030.9h", 0, UINT64_MAX);
  uint64_t v;
  assert_int_equal(units_parse_duration("24h", 1, DAY_MS, &v), 0);
  assert_true(v == DAY_MS);
}

static void test_units_size_units(void **state)
{
  (void)state;
  assert_true(size("1024") == 1024);
  assert_true(size("7B") == 7);
  assert_true(size("64k") == 64 << 10);
  assert_true(size("64K") == 64 << 10);
  assert_true(size("64KiB") == 64 << 10);
  assert_true(size("3m") == 3u << 20);
  assert_true(size("3M") == 3u << 20);
  assert_true(size("3MiB") == 3u << 20);
  assert_true(size("1g") == 1u << 30);
  assert_true(size("1G") == 1u << 30);
  assert_true(size("1GiB") == 1u << 30);
}

static void test_units_size_refused(void **state)
{
  (void)state;
  const char *bad[] = {NULL,
                       "",
                       "K",
                       "-1",
                       "+1",
                       "1.5M",
                       "1kb",
                       "1KB",
                       "1T",
                       "1 K",
                       "1Ki",
                       "0x10",
                       "99999999999999999999",
                       "17179869184G"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_size_refused(bad[i], 0, UINT64_MAX);
  assert_size_refused("2G", 0, (uint64_t)1 << 30);
  assert_size_refused("0", 1, 100);
}

static void test_units_uint(void **state)
{
  (void)state;
  uint64_t v = UNTOUCHED;
  assert_int_equal(units_parse_uint("42", 1, 100, &v), 0);
  assert_true(v == 42);
  const char *bad[] = {NULL, "", "0", "101", "-5", "+5", "5k", "5 ", "x"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    v = UNTOUCHED;
    if (units_parse_uint(bad[i], 1, 100, &v) != CHORD_EINVAL)
      fail_msg("accepted count \"%s\"", bad[i] ? bad[i] : "(null)");
    assert_true(v == UNTOUCHED);
  }
}

/* Every formatted duration parses back to the same milliseconds, and the
 * common ones read as a person writes them. */
static void test_units_format_round_trips(void **state)
{
  (void)state;
  char buf[32];
  struct {
    uint64_t ms;
    const char *text;
  } known[] = {{0, "0s"},       {250, "250ms"},   {1000, "1s"},
               {1500, "1.5s"},  {10000, "10s"},   {120000, "2m"},
               {3600000, "1h"}, {1001, "1001ms"}, {90000, "90s"}};
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
    units_format_duration(buf, sizeof(buf), known[i].ms);
    assert_string_equal(buf, known[i].text);
  }
  uint64_t seed = 12345;
  for (int i = 0; i < 20000; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t ms = (seed >> 20) % (3 * DAY_MS);
    if (i % 4 == 0)
      ms -= ms % 1000;
    units_format_duration(buf, sizeof(buf), ms);
    uint64_t back = UNTOUCHED;
    if (units_parse_duration(buf, 0, UINT64_MAX, &back) || back != ms)
      fail_msg("%llu ms formats as \"%s\", which parses to %llu",
               (unsigned long long)ms, buf, (unsigned long long)back);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_units_duration_units),
      cmocka_unit_test(test_units_duration_refused),
      cmocka_unit_test(test_units_size_units),
      cmocka_unit_test(test_units_size_refused),
      cmocka_unit_test(test_units_uint),
      cmocka_unit_test(test_units_format_round_trips),
  };
  return cmocka_run_group_tests_name("units", tests, NULL, NULL);
}
