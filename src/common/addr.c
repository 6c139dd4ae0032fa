/* SPDX-License-Identifier: MIT */
/* host:port endpoints. Parsing is strict: one syntax per host kind, a
 * decimal port and nothing after it, so a parsed address formats back to
 * a string that parses to the same address. */
#include "common/addr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

#define LABEL_MAX 63
#define PORT_DIGITS_MAX 5

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Whether host (len chars, no NUL needed) is only digits and dots. */
static bool all_digits_dots(const char *host, size_t len)
{
  for (size_t i = 0; i < len; i++) {
    if (!is_digit(host[i]) && host[i] != '.')
      return false;
  }
  return true;
}

/* Whether host (len chars) is a DNS name: labels of 1..63 chars of
 * [A-Za-z0-9-], not starting or ending with '-', joined by single dots. */
static bool is_dns_name(const char *host, size_t len)
{
  size_t start = 0;
  while (start <= len) {
    size_t end = start;
    while (end < len && host[end] != '.')
      end++;
    size_t n = end - start;
    if (n == 0 || n > LABEL_MAX)
      return false;
    if (host[start] == '-' || host[end - 1] == '-')
      return false;
    for (size_t i = start; i < end; i++) {
      if (!is_alnum(host[i]) && host[i] != '-')
        return false;
    }
    start = end + 1; /* past the dot; past len + 1 after the last label */
  }
  return true;
}

/* Parses the port in s (up to the NUL). 0 or CHORD_EINVAL. */
static int parse_port(const char *s, unsigned flags, uint16_t *out)
{
  unsigned long v = 0;
  size_t n = 0;

  for (; s[n] != '\0'; n++) {
    if (!is_digit(s[n]) || n >= PORT_DIGITS_MAX)
      return CHORD_EINVAL;
    v = v * 10 + (unsigned long)(s[n] - '0');
  }
  if (n == 0 || v > 65535)
    return CHORD_EINVAL;
  if (v == 0 && !(flags & ADDR_ALLOW_PORT0))
    return CHORD_EINVAL;
  *out = (uint16_t)v;
  return 0;
}

/* Parses "host:port" or "[v6]:port" into out. Returns 0, or CHORD_EINVAL
 * for NULL arguments, an empty, overlong or malformed host, an unbracketed
 * IPv6 address, a missing or malformed port, 0 (unless ADDR_ALLOW_PORT0)
 * or a port above 65535, or anything after the port. out is untouched on
 * error. The host is kept as written (no case folding). Any thread. */
int addr_parse(struct addr *out, const char *s, unsigned flags)
{
  struct addr tmp;
  const char *host, *colon;
  size_t hlen;

  if (!out || !s)
    return CHORD_EINVAL;
  memset(&tmp, 0, sizeof(tmp));

  if (s[0] == '[') {
    const char *rb = strchr(s, ']');
    if (!rb || rb[1] != ':')
      return CHORD_EINVAL;
    host = s + 1;
    hlen = (size_t)(rb - host);
    colon = rb + 1;
    if (hlen == 0 || hlen > ADDR_HOST_MAX)
      return CHORD_EINVAL;
    memcpy(tmp.host, host, hlen);
    tmp.host[hlen] = '\0';
    struct in6_addr a6;
    if (inet_pton(AF_INET6, tmp.host, &a6) != 1)
      return CHORD_EINVAL;
    tmp.kind = ADDR_IPV6;
  } else {
    colon = strchr(s, ':');
    /* A second colon means an unbracketed IPv6 address. */
    if (!colon || strchr(colon + 1, ':'))
      return CHORD_EINVAL;
    host = s;
    hlen = (size_t)(colon - host);
    if (hlen == 0 || hlen > ADDR_HOST_MAX)
      return CHORD_EINVAL;
    memcpy(tmp.host, host, hlen);
    tmp.host[hlen] = '\0';
    if (all_digits_dots(host, hlen)) {
      struct in_addr a4;
      if (inet_pton(AF_INET, tmp.host, &a4) != 1)
        return CHORD_EINVAL;
      tmp.kind = ADDR_IPV4;
    } else {
      if (!is_dns_name(host, hlen))
        return CHORD_EINVAL;
      tmp.kind = ADDR_NAME;
    }
  }

  if (parse_port(colon + 1, flags, &tmp.port) < 0)
    return CHORD_EINVAL;
  *out = tmp;
  return 0;
}

/* Writes "host:port", or "[host]:port" for IPv6, and a NUL into buf.
 * Returns 0, or CHORD_EINVAL for NULL arguments, a host without its NUL,
 * or when the result and its NUL do not fit in len bytes; buf is untouched
 * on error (never a truncated string). ADDR_STR_MAX always fits. */
int addr_format(const struct addr *a, char *buf, size_t len)
{
  char tmp[ADDR_STR_MAX];
  int n;

  if (!a || !buf)
    return CHORD_EINVAL;
  if (memchr(a->host, '\0', sizeof(a->host)) == NULL)
    return CHORD_EINVAL;
  if (a->kind == ADDR_IPV6)
    n = snprintf(tmp, sizeof(tmp), "[%s]:%u", a->host, (unsigned)a->port);
  else
    n = snprintf(tmp, sizeof(tmp), "%s:%u", a->host, (unsigned)a->port);
  if (n < 0 || (size_t)n >= sizeof(tmp) || (size_t)n >= len)
    return CHORD_EINVAL;
  memcpy(buf, tmp, (size_t)n + 1);
  return 0;
}

/* Returns 0 when s parses with flags, else CHORD_EINVAL. Any thread. */
int addr_validate(const char *s, unsigned flags)
{
  struct addr a;
  return addr_parse(&a, s, flags);
}

int addr_resolve(const struct addr *a, struct sockaddr_storage *out,
                 const char **why)
{
  struct addrinfo hints = {.ai_flags = AI_NUMERICSERV | AI_PASSIVE,
                           .ai_socktype = SOCK_STREAM},
                  *ai = NULL;
  char port[8];
  snprintf(port, sizeof(port), "%u", (unsigned)a->port);
  int rc = getaddrinfo(a->host, port, &hints, &ai);
  if (rc) {
    *why = gai_strerror(rc);
    return CHORD_EINVAL;
  }
  memset(out, 0, sizeof(*out));
  memcpy(out, ai->ai_addr, ai->ai_addrlen);
  freeaddrinfo(ai);
  *why = "";
  return 0;
}
