/* SPDX-License-Identifier: MIT */
/* host:port endpoints: parse, validate and format. Hosts are IPv4 dotted
 * quads, IPv6 in brackets, or DNS names (RFC 1123 labels). */
#ifndef CHORD_ADDR_H
#define CHORD_ADDR_H

#include <stddef.h>
#include <stdint.h>

#define ADDR_HOST_MAX 253 /* longest host, without brackets or NUL */
/* Longest formatted endpoint with its NUL: [host]:65535 */
#define ADDR_STR_MAX (ADDR_HOST_MAX + 2 + 1 + 5 + 1)

enum addr_kind { ADDR_NAME, ADDR_IPV4, ADDR_IPV6 };

/* Flags for addr_parse. */
#define ADDR_ALLOW_PORT0 1u /* accept port 0 (listen on an ephemeral port) */

struct addr {
  char host[ADDR_HOST_MAX + 1]; /* without brackets, NUL-terminated */
  uint16_t port;
  enum addr_kind kind;
};

/* Parses "host:port" or "[v6]:port". 0, or CHORD_EINVAL for an empty,
 * overlong or malformed host, a missing, non-numeric, 0 (unless
 * ADDR_ALLOW_PORT0) or > 65535 port. out is untouched on error. */
int addr_parse(struct addr *out, const char *s, unsigned flags);
/* Formats a into buf (brackets around IPv6). 0, or CHORD_EINVAL when
 * buf is too small. */
int addr_format(const struct addr *a, char *buf, size_t len);
struct sockaddr_storage;
/* Resolves a (a numeric host, or a name through the resolver) to the
 * first socket address for a listener: 0, or CHORD_EINVAL with a reason
 * in why (gai_strerror's; not NULL). */
int addr_resolve(const struct addr *a, struct sockaddr_storage *out,
                 const char **why);
/* Whether s parses with flags (0 = yes, else CHORD_EINVAL). */
int addr_validate(const char *s, unsigned flags);

#endif
