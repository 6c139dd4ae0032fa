/* SPDX-License-Identifier: MIT */
/* Levelled logging to stderr. Each line is formatted into one buffer and
 * written with a single write(2), so lines from threads never interleave. */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"

/* One line, newline included. At most PIPE_BUF (4096 on Linux) so a write
 * to a pipe is atomic too; longer messages are cut and end in "...". */
#define LOG_LINE_MAX 4096
#define LOG_TAG_MAX 128

static atomic_int log_level = LOG_LVL_INFO;
static char log_tag[LOG_TAG_MAX]; /* set once at start, before threads */

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
static const char *const level_words[] = {"debug", "info", "warn", "error"};

/* Sets the lowest level that is written. Any thread. */
void log_set_level(enum log_level level)
{
  atomic_store(&log_level, (int)level);
}

/* Returns the current level. Any thread. */
enum log_level log_get_level(void)
{
  return (enum log_level)atomic_load(&log_level);
}

/* Parses a level word ("debug", "info", "warn", "error"; case is ignored).
 * Returns 0, or CHORD_EINVAL for NULL or an unknown word (out untouched). */
int log_level_parse(const char *s, enum log_level *out)
{
  if (!s || !out)
    return CHORD_EINVAL;
  for (size_t i = 0; i < sizeof(level_words) / sizeof(level_words[0]); i++) {
    if (strcasecmp(s, level_words[i]) == 0) {
      *out = (enum log_level)i;
      return 0;
    }
  }
  return CHORD_EINVAL;
}

/* Copies tag (NULL clears it; longer tags are cut). Call once at start,
 * before other threads log: the tag is read without a lock. */
void log_set_tag(const char *tag)
{
  snprintf(log_tag, sizeof(log_tag), "%s", tag ? tag : "");
}

/* Writes "2026-11-25T13:44:13.123Z INFO  [tag] message\n" to stderr when
 * level is at or above the current level. Any thread; errno is kept. */
void log_write(enum log_level level, const char *fmt, ...)
{
  char line[LOG_LINE_MAX];
  struct timespec ts;
  struct tm tm;
  const char *name;
  size_t len;
  int n, saved_errno = errno;
  va_list ap;

  if ((int)level < atomic_load(&log_level))
    return;
  name =
      (int)level >= 0 && (int)level <= LOG_LVL_ERROR ? level_names[level] : "?";

  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  len = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
  n = snprintf(line + len, sizeof(line) - len, ".%03ldZ %-5s ",
               ts.tv_nsec / 1000000L, name);
  if (n > 0)
    len += (size_t)n;
  if (log_tag[0] != '\0') {
    n = snprintf(line + len, sizeof(line) - len, "[%s] ", log_tag);
    if (n > 0)
      len += (size_t)n;
  }

  /* Leave room for the newline. */
  va_start(ap, fmt);
  n = vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
  va_end(ap);
  if (n > 0) {
    if ((size_t)n >= sizeof(line) - len - 1) {
      len = sizeof(line) - 1;
      memcpy(line + len - 3, "...", 3);
    } else {
      len += (size_t)n;
    }
  }
  line[len++] = '\n';

  while (write(STDERR_FILENO, line, len) < 0 && errno == EINTR)
    ;
  errno = saved_errno;
}
