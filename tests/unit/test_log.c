/* SPDX-License-Identifier: MIT */
/* Unit tests for the log: a line is one line whatever the message holds
 * (a file name with a newline cannot forge another), JSON lines are valid
 * JSON strings with every field, long messages are cut within PIPE_BUF,
 * levels filter, and the flag words parse. Standard error is captured
 * through a pipe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/log.h"

#define STAMP_LEN 24 /* 2026-12-01T11:40:02.113Z */

static int saved_stderr = -1;
static int pipe_rd = -1;

static int setup(void **state)
{
  int fds[2];
  (void)state;
  if (pipe(fds))
    return -1;
  saved_stderr = dup(STDERR_FILENO);
  dup2(fds[1], STDERR_FILENO);
  close(fds[1]);
  pipe_rd = fds[0];
  log_set_tag("node 127.0.0.1:7001");
  log_set_level(LOG_LVL_INFO);
  log_set_format(LOG_FMT_TEXT);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  dup2(saved_stderr, STDERR_FILENO);
  close(saved_stderr);
  close(pipe_rd);
  log_set_format(LOG_FMT_TEXT);
  return 0;
}

/* Reads what the last log_write wrote (one write, so one read) into buf
 * and returns its length. */
static size_t take(char *buf, size_t cap)
{
  ssize_t n = read(pipe_rd, buf, cap - 1);
  assert_true(n > 0);
  buf[n] = '\0';
  return (size_t)n;
}

/* The line is exactly one line: one newline, at its end. */
static void assert_one_line(const char *line, size_t len)
{
  assert_true(len > 0 && line[len - 1] == '\n');
  assert_ptr_equal(memchr(line, '\n', len), line + len - 1);
}

static void assert_stamp(const char *s)
{
  assert_true(s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' &&
              s[19] == '.' && s[23] == 'Z');
}

static void text_line_escapes_control_characters(void **state)
{
  char buf[8192];
  (void)state;
  LOG_INFO("stored %s (%d)", "a\nb\tc\x7f", 3);
  size_t len = take(buf, sizeof(buf));
  assert_one_line(buf, len);
  assert_stamp(buf);
  assert_string_equal(buf + STAMP_LEN, " INFO  [node 127.0.0.1:7001] stored "
                                       "a\\x0ab\\x09c\\x7f (3)\n");
}

static void json_line_is_an_escaped_object(void **state)
{
  char buf[8192];
  (void)state;
  log_set_format(LOG_FMT_JSON);
  LOG_WARN("replica %s did not take \"%s\": %s", "127.0.0.1:7002", "q\"x\\y\nz",
           "bad \xff byte, \xc3\xa9 kept");
  size_t len = take(buf, sizeof(buf));
  assert_one_line(buf, len);
  assert_memory_equal(buf, "{\"time\":\"", 9);
  assert_stamp(buf + 9);
  assert_string_equal(buf + 9 + STAMP_LEN,
                      "\",\"level\":\"warn\",\"tag\":\"node 127.0.0.1:7001\","
                      "\"msg\":\"replica 127.0.0.1:7002 did not take "
                      "\\\"q\\\"x\\\\y\\nz\\\": bad \\ufffd byte, \xc3\xa9 "
                      "kept\"}\n");
  log_set_format(LOG_FMT_TEXT);
}

static void long_messages_are_cut_within_pipe_buf(void **state)
{
  static char big[10000];
  char buf[16384];
  (void)state;
  memset(big, 'x', sizeof(big) - 1);
  for (int json = 0; json < 2; json++) {
    log_set_format(json ? LOG_FMT_JSON : LOG_FMT_TEXT);
    LOG_ERROR("%s", big);
    size_t len = take(buf, sizeof(buf));
    assert_one_line(buf, len);
    assert_true(len <= 4096);
    assert_true(len > 4000);
    const char *end = json ? "...\"}\n" : "...\n";
    assert_string_equal(buf + len - strlen(end), end);
    /* Quotes escape to two bytes: still cut whole, still one line. */
    memset(big, '"', sizeof(big) - 1);
  }
  memset(big, 'x', sizeof(big) - 1);
  log_set_format(LOG_FMT_TEXT);
}

static void levels_below_the_set_one_are_dropped(void **state)
{
  char buf[512];
  (void)state;
  LOG_DEBUG("not shown");
  log_set_level(LOG_LVL_DEBUG);
  LOG_DEBUG("shown");
  size_t len = take(buf, sizeof(buf));
  log_set_level(LOG_LVL_INFO);
  assert_true(strstr(buf, "DEBUG [node 127.0.0.1:7001] shown\n") != NULL);
  assert_one_line(buf, len); /* the first line was never written */
}

static void format_and_level_words_parse(void **state)
{
  enum log_format f = LOG_FMT_TEXT;
  enum log_level l = LOG_LVL_INFO;
  (void)state;
  assert_int_equal(log_format_parse("JSON", &f), 0);
  assert_int_equal(f, LOG_FMT_JSON);
  assert_int_equal(log_format_parse("text", &f), 0);
  assert_int_equal(f, LOG_FMT_TEXT);
  assert_int_equal(log_format_parse("xml", &f), CHORD_EINVAL);
  assert_int_equal(log_format_parse(NULL, &f), CHORD_EINVAL);
  assert_int_equal(f, LOG_FMT_TEXT);
  assert_int_equal(log_level_parse("Warn", &l), 0);
  assert_int_equal(l, LOG_LVL_WARN);
  assert_int_equal(log_level_parse("loud", &l), CHORD_EINVAL);
  assert_int_equal(l, LOG_LVL_WARN);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(text_line_escapes_control_characters),
      cmocka_unit_test(json_line_is_an_escaped_object),
      cmocka_unit_test(long_messages_are_cut_within_pipe_buf),
      cmocka_unit_test(levels_below_the_set_one_are_dropped),
      cmocka_unit_test(format_and_level_words_parse),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
