/* SPDX-License-Identifier: MIT */
/* Escaping of strings from users and peers, for chordctl's output and the
 * daemons' JSON log lines: quotes, backslashes and control characters are
 * escaped, valid UTF-8 goes through as is. */
#include "common/escape.h"

#include <string.h>

#include "common/codec.h"

#define ESC_MAX 8 /* longest escape of one character, with its NUL */

/* Escapes the character that starts s[0..len) (len > 0) into out, with a
 * NUL, and returns how many bytes of s it used. Quotes, backslashes and
 * control characters are escaped; valid UTF-8 goes through as is; a byte
 * that is not UTF-8 becomes \xNN in text and U+FFFD in JSON. */
static size_t encode_char(const unsigned char *s, size_t len, bool json,
                          char out[ESC_MAX])
{
  unsigned char c = s[0];
  size_t n;

  switch (c) {
  case '"': strcpy(out, "\\\""); return 1;
  case '\\': strcpy(out, "\\\\"); return 1;
  case '\n': strcpy(out, "\\n"); return 1;
  case '\r': strcpy(out, "\\r"); return 1;
  case '\t': strcpy(out, "\\t"); return 1;
  default: break;
  }
  if (c < 0x20 || c == 0x7f) {
    snprintf(out, ESC_MAX, json ? "\\u%04x" : "\\x%02x", (unsigned)c);
    return 1;
  }
  if (c < 0x80) {
    out[0] = (char)c;
    out[1] = '\0';
    return 1;
  }
  n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
  if (n > 1 && n <= len && codec_utf8_valid(s, n)) {
    memcpy(out, s, n);
    out[n] = '\0';
    return n;
  }
  if (json)
    strcpy(out, "\\ufffd");
  else
    snprintf(out, ESC_MAX, "\\x%02x", (unsigned)c);
  return 1;
}

/* Writes s[0..len) to f with every character escaped as encode_char does:
 * json picks \uNNNN and U+FFFD over \xNN. Write errors are left in f's
 * error flag. Any thread, one f at a time. */
void escape_put(FILE *f, const char *s, size_t len, bool json)
{
  const unsigned char *u = (const unsigned char *)s;
  char e[ESC_MAX];
  size_t i = 0;
  while (i < len) {
    i += encode_char(u + i, len - i, json, e);
    fputs(e, f);
  }
}

/* Writes s[0..len) escaped for text, or for a JSON string when json (and
 * between double quotes when quote), into buf of cap >= 8 bytes, always
 * NUL-terminated; when it does not fit, it is cut at a whole character and
 * ends with "...". Returns the length written. Any thread. */
size_t escape_buf(char *buf, size_t cap, const char *s, size_t len, bool quote,
                  bool json)
{
  const unsigned char *u = (const unsigned char *)s;
  char e[ESC_MAX];
  size_t pos = 0, i = 0;

  if (quote)
    buf[pos++] = '"';
  while (i < len) {
    size_t took = encode_char(u + i, len - i, json, e);
    size_t el = strlen(e);
    /* Keep room for "...", the closing quote and the NUL. */
    if (pos + el + 5 > cap) {
      memcpy(buf + pos, "...", 3);
      pos += 3;
      break;
    }
    memcpy(buf + pos, e, el);
    pos += el;
    i += took;
  }
  if (quote)
    buf[pos++] = '"';
  buf[pos] = '\0';
  return pos;
}

/* escape_buf with quotes: the form every error message uses for a name, a
 * path or an address that came from outside. cap >= 8. Any thread. */
void escape_quote(char *buf, size_t cap, const char *s, size_t len)
{
  escape_buf(buf, cap, s, len, true, false);
}
