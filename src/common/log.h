/* SPDX-License-Identifier: MIT */
/* Levelled logging to stderr: one line per event with UTC time, level,
 * the process tag and the message, as text or as a JSON object.
 * Thread-safe (one write per line). */
#ifndef CHORD_LOG_H
#define CHORD_LOG_H

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };
enum log_format { LOG_FMT_TEXT, LOG_FMT_JSON };

/* Lines below level are dropped; the default is info. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "debug", "info", "warn" or "error". 0, or CHORD_EINVAL. */
int log_level_parse(const char *s, enum log_level *out);
/* Text lines (the default) or one JSON object per line. */
void log_set_format(enum log_format format);
/* "text" or "json". 0, or CHORD_EINVAL. */
int log_format_parse(const char *s, enum log_format *out);
/* A short tag for the process (e.g. "node 127.0.0.1:7001"); copied. */
void log_set_tag(const char *tag);
void log_write(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define LOG_DEBUG(...) log_write(LOG_LVL_DEBUG, __VA_ARGS__)
#define LOG_INFO(...) log_write(LOG_LVL_INFO, __VA_ARGS__)
#define LOG_WARN(...) log_write(LOG_LVL_WARN, __VA_ARGS__)
#define LOG_ERROR(...) log_write(LOG_LVL_ERROR, __VA_ARGS__)

#endif
