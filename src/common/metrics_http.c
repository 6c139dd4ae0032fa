/* SPDX-License-Identifier: MIT */
/* The metrics endpoint: GET /metrics in the Prometheus text format, served
 * by libmicrohttpd on its own thread, so that a scrape (or a slow scraper)
 * never waits on the daemon's loop, nor the loop on it. */
#include "common/metrics_http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "common/addr.h"
#include "common/log.h"

#define HTTP_CONN_LIMIT 64  /* scrapers at once */
#define HTTP_CONN_IDLE_S 10 /* an idle keep-alive connection is closed */
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_http {
  struct MHD_Daemon *mhd;
  const struct metrics *m;
};

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
  char msg[512];
  (void)cls;
  vsnprintf(msg, sizeof(msg), fmt, ap);
  msg[strcspn(msg, "\n")] = '\0';
  LOG_WARN("metrics endpoint: %s", msg);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code,
                             char *body, size_t len, bool owned)
{
  struct MHD_Response *r = MHD_create_response_from_buffer(
      len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
  if (!r) {
    if (owned)
      free(body);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                          code == MHD_HTTP_OK ? CONTENT_TYPE
                                              : "text/plain; charset=utf-8");
  enum MHD_Result rc = MHD_queue_response(conn, code, r);
  MHD_destroy_response(r);
  return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_len, void **state)
{
  static char not_found[] = "not found: the metrics are at /metrics\n";
  static char bad_method[] = "only GET and HEAD\n";
  static char oom[] = "out of memory\n";
  struct metrics_http *h = cls;
  (void)version;
  (void)upload;
  (void)upload_len;
  (void)state;
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
    return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, bad_method,
                 sizeof(bad_method) - 1, false);
  if (strcmp(url, "/metrics") != 0)
    return reply(conn, MHD_HTTP_NOT_FOUND, not_found, sizeof(not_found) - 1,
                 false);
  struct metrics_buf b = {0};
  metrics_render(h->m, &b);
  if (b.oom) {
    free(b.p);
    return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, oom, sizeof(oom) - 1,
                 false);
  }
  return reply(conn, MHD_HTTP_OK, b.p, b.len, true);
}

struct metrics_http *metrics_http_start(const struct metrics *m,
                                        const char *listen, char *err,
                                        size_t errlen)
{
  struct addr a;
  struct sockaddr_storage ss;
  const char *why;
  struct metrics_http *h = NULL;

  if (addr_parse(&a, listen, 0)) {
    snprintf(err, errlen, "--metrics-listen %s is not a HOST:PORT address",
             listen);
    return NULL;
  }
  if (addr_resolve(&a, &ss, &why)) {
    snprintf(err, errlen, "--metrics-listen %s: %s", listen, why);
    return NULL;
  }
  h = calloc(1, sizeof(*h));
  if (!h) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  h->m = m;
  unsigned flags =
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
  if (ss.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  /* The logger first, so that every message goes through it. */
  h->mhd = MHD_start_daemon(
      flags, a.port, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
      mhd_log, NULL, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_CONNECTION_LIMIT,
      (unsigned)HTTP_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)HTTP_CONN_IDLE_S, MHD_OPTION_END);
  if (!h->mhd) {
    snprintf(err, errlen, "cannot serve metrics on %s (in use?)", listen);
    free(h);
    h = NULL;
  }
  return h;
}

void metrics_http_stop(struct metrics_http *h)
{
  if (!h)
    return;
  MHD_stop_daemon(h->mhd);
  free(h);
}
