/* SPDX-License-Identifier: MIT */
/* Levelled logging to stderr, as text or as one JSON object per line. Each
 * line is formatted into one buffer and written with a single write(2), so
 * lines from threads never interleave. */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/escape.h"

/* One line, newline included, text or JSON. At most PIPE_BUF (4096 on
 * Linux) so a write to a pipe is atomic too; longer messages are cut and
 * end in "...". */
#define LOG_LINE_MAX 4096
#define LOG_TAG_MAX 128

static atomic_int log_level = LOG_LVL_INFO;
static atomic_int log_format = LOG_FMT_TEXT;
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

/* Sets how lines are written: text (the default) or JSON. Any thread. */
void log_set_format(enum log_format format)
{
  atomic_store(&log_format, (int)format);
}

/* Parses "text" or "json" (case is ignored). Returns 0, or CHORD_EINVAL
 * for NULL or another word (out untouched). */
int log_format_parse(const char *s, enum log_format *out)
{
  if (!s || !out)
    return CHORD_EINVAL;
  if (strcasecmp(s, "text") == 0)
    *out = LOG_FMT_TEXT;
  else if (strcasecmp(s, "json") == 0)
    *out = LOG_FMT_JSON;
  else
    return CHORD_EINVAL;
  return 0;
}

/* Copies tag (NULL clears it; longer tags are cut). Call once at start,
 * before other threads log: the tag is read without a lock. */
void log_set_tag(const char *tag)
{
  snprintf(log_tag, sizeof(log_tag), "%s", tag ? tag : "");
}

/* Formats the message of a line into msg (cut with "..." when longer);
 * returns its length. */
static size_t format_message(char *msg, size_t cap, const char *fmt, va_list ap)
{
  int n = vsnprintf(msg, cap, fmt, ap);
  if (n < 0) {
    msg[0] = '\0';
    return 0;
  }
  if ((size_t)n >= cap) {
    memcpy(msg + cap - 4, "...", 4);
    return cap - 1;
  }
  return (size_t)n;
}

/* The text line: "2026-11-25T13:44:13.123Z INFO  [tag] message\n". */
static size_t text_line(char *line, size_t cap, const char *stamp,
                        enum log_level level, const char *msg, size_t mlen)
{
  int n = snprintf(line, cap, "%s %-5s ", stamp, level_names[level]);
  size_t len = n > 0 ? (size_t)n : 0;
  if (log_tag[0] != '\0') {
    n = snprintf(line + len, cap - len, "[%s] ", log_tag);
    if (n > 0)
      len += (size_t)n;
  }
  /* A control character (a newline in a file name, say) is written as
   * \xNN, so that no message can forge or break a line. Keep room for
   * "..." and the newline. */
  for (size_t i = 0; i < mlen; i++) {
    unsigned char c = (unsigned char)msg[i];
    bool ctl = c < 0x20 || c == 0x7f;
    if (len + (ctl ? 4 : 1) + 4 > cap) {
      memcpy(line + len, "...", 3);
      len += 3;
      break;
    }
    if (ctl)
      len += (size_t)snprintf(line + len, cap - len, "\\x%02x", c);
    else
      line[len++] = (char)c;
  }
  line[len++] = '\n';
  return len;
}

/* The JSON line: {"time":"...","level":"info","tag":"...","msg":"..."}
 * with the tag and message escaped (control characters, quotes, bytes that
 * are not UTF-8), so that any JSON reader takes every line. */
static size_t json_line(char *line, size_t cap, const char *stamp,
                        enum log_level level, const char *msg, size_t mlen)
{
  int n = snprintf(line, cap, "{\"time\":\"%s\",\"level\":\"%s\"", stamp,
                   level_words[level]);
  size_t len = n > 0 ? (size_t)n : 0;
  if (log_tag[0] != '\0') {
    memcpy(line + len, ",\"tag\":", 7);
    len += 7;
    len += escape_buf(line + len, LOG_TAG_MAX * 6, log_tag, strlen(log_tag),
                      true, true);
  }
  memcpy(line + len, ",\"msg\":", 7);
  len += 7;
  /* Keep room for "}", the newline and escape_buf's NUL. */
  len += escape_buf(line + len, cap - len - 2, msg, mlen, true, true);
  line[len++] = '}';
  line[len++] = '\n';
  return len;
}

/* Writes one line to stderr, as text or JSON, when level is at or above
 * the current level. Any thread; errno is kept. */
void log_write(enum log_level level, const char *fmt, ...)
{
  char msg[LOG_LINE_MAX], line[LOG_LINE_MAX];
  char stamp[40];
  struct timespec ts;
  struct tm tm;
  size_t len, mlen;
  int saved_errno = errno;
  va_list ap;

  if ((int)level < atomic_load(&log_level))
    return;
  if ((int)level < 0 || (int)level > LOG_LVL_ERROR)
    level = LOG_LVL_ERROR;

  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  len = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(stamp + len, sizeof(stamp) - len, ".%03ldZ", ts.tv_nsec / 1000000L);

  va_start(ap, fmt);
  mlen = format_message(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (atomic_load(&log_format) == LOG_FMT_JSON)
    len = json_line(line, sizeof(line), stamp, level, msg, mlen);
  else
    len = text_line(line, sizeof(line), stamp, level, msg, mlen);

  while (write(STDERR_FILENO, line, len) < 0 && errno == EINTR)
    ;
  errno = saved_errno;
}
