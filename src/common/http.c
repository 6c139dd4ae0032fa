/* SPDX-License-Identifier: MIT */
/* The small HTTP servers: start one at a HOST:PORT, queue a reply. */
#include "common/http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/addr.h"
#include "common/log.h"

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
  char msg[512];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  msg[strcspn(msg, "\n")] = '\0';
  LOG_WARN("%s: %s", (const char *)cls, msg);
}

struct MHD_Daemon *http_start(const char *listen, const char *what,
                              MHD_AccessHandlerCallback handler, void *cls,
                              unsigned conns, unsigned idle_s, char *err,
                              size_t errlen)
{
  struct addr a;
  struct sockaddr_storage ss;
  const char *why;
  if (addr_parse(&a, listen, 0)) {
    snprintf(err, errlen, "%s is not a HOST:PORT address", listen);
    return NULL;
  }
  if (addr_resolve(&a, &ss, &why)) {
    snprintf(err, errlen, "%s: %s", listen, why);
    return NULL;
  }
  unsigned flags =
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
  if (ss.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  /* The logger first, so that every message goes through it. */
  struct MHD_Daemon *d = MHD_start_daemon(
      flags, a.port, NULL, NULL, handler, cls, MHD_OPTION_EXTERNAL_LOGGER,
      mhd_log, (void *)what, MHD_OPTION_SOCK_ADDR, &ss,
      MHD_OPTION_CONNECTION_LIMIT, conns, MHD_OPTION_CONNECTION_TIMEOUT, idle_s,
      MHD_OPTION_END);
  if (!d)
    snprintf(err, errlen, "cannot serve %s on %s (in use?)", what, listen);
  return d;
}

enum MHD_Result http_respond(struct MHD_Connection *conn, unsigned code,
                             const char *type, const void *body, size_t len,
                             bool owned)
{
  struct MHD_Response *r = MHD_create_response_from_buffer(
      len, (void *)body,
      owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
  if (!r) {
    if (owned)
      free((void *)body);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  enum MHD_Result rc = MHD_queue_response(conn, code, r);
  MHD_destroy_response(r);
  return rc;
}
