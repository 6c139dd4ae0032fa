/* SPDX-License-Identifier: MIT */
/* Unit tests for the metrics text: histogram buckets are cumulative with
 * +Inf equal to the count and the sum in base units, a scrape larger than
 * the first buffer grows without losing a byte, collectors run in order,
 * and the process families are there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/metrics.h"

static void histogram_buckets_are_cumulative(void **state)
{
  static const uint64_t bounds[] = {1000, 5000, 20000};
  struct metrics_hist h;
  struct metrics_buf b = {0};
  (void)state;
  metrics_hist_init(&h, bounds, 3);
  metrics_hist_observe(&h, 1000);  /* on a bound: in that bucket */
  metrics_hist_observe(&h, 1001);  /* just above */
  metrics_hist_observe(&h, 30000); /* only +Inf */
  metrics_hist_write(&b, "x_seconds", "method=\"Read\"", &h);
  assert_false(b.oom);
  assert_string_equal(b.p,
                      "x_seconds_bucket{method=\"Read\",le=\"0.001000\"} 1\n"
                      "x_seconds_bucket{method=\"Read\",le=\"0.005000\"} 2\n"
                      "x_seconds_bucket{method=\"Read\",le=\"0.020000\"} 2\n"
                      "x_seconds_bucket{method=\"Read\",le=\"+Inf\"} 3\n"
                      "x_seconds_sum{method=\"Read\"} 0.032001\n"
                      "x_seconds_count{method=\"Read\"} 3\n");
  free(b.p);
  b = (struct metrics_buf){0};
  metrics_hist_write(&b, "y", "", &h);
  assert_non_null(strstr(b.p, "y_bucket{le=\"+Inf\"} 3\ny_sum 0.032001\n"
                              "y_count 3\n"));
  free(b.p);
}

static void many(struct metrics_buf *b, void *ud)
{
  int *calls = ud;
  for (int i = 0; i < 5000; i++)
    metrics_printf(b, "m_%d{k=\"%d\"} %d\n", *calls, i, i);
  (*calls)++;
}

static void a_big_scrape_grows_whole(void **state)
{
  struct metrics *m = metrics_new();
  struct metrics_buf b = {0};
  int calls = 0;
  (void)state;
  assert_non_null(m);
  assert_int_equal(metrics_add(m, many, &calls), 0);
  assert_int_equal(metrics_add(m, many, &calls), 0);
  metrics_render(m, &b);
  assert_int_equal(calls, 2);
  assert_false(b.oom);
  assert_true(b.len > 100000);
  assert_int_equal(strlen(b.p), b.len);
  /* The first collector's lines, then the second's, none cut. */
  assert_memory_equal(b.p, "m_0{k=\"0\"} 0\n", 13);
  assert_non_null(strstr(b.p, "m_0{k=\"4999\"} 4999\nm_1{k=\"0\"} 0\n"));
  assert_string_equal(b.p + b.len - 19, "m_1{k=\"4999\"} 4999\n");
  free(b.p);
  metrics_free(m);
}

static void process_families_are_there(void **state)
{
  struct metrics_buf b = {0};
  unsigned long long rss = 0;
  (void)state;
  metrics_process(&b, NULL);
  assert_non_null(strstr(b.p, "# TYPE process_resident_memory_bytes gauge\n"));
  const char *p = strstr(b.p, "\nprocess_resident_memory_bytes ");
  assert_non_null(p);
  assert_int_equal(sscanf(p, "\nprocess_resident_memory_bytes %llu", &rss), 1);
  assert_true(rss > 100000);
  assert_non_null(strstr(b.p, "\nprocess_open_fds "));
  assert_non_null(strstr(b.p, "\nprocess_cpu_seconds_total "));
  assert_non_null(strstr(b.p, "\nprocess_start_time_seconds "));
  free(b.p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(histogram_buckets_are_cumulative),
      cmocka_unit_test(a_big_scrape_grows_whole),
      cmocka_unit_test(process_families_are_there),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
