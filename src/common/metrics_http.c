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

#include "common/http.h"

#define HTTP_CONN_LIMIT 64  /* scrapers at once */
#define HTTP_CONN_IDLE_S 10 /* an idle keep-alive connection is closed */
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_http {
  struct MHD_Daemon *mhd;
  const struct metrics *m;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code,
                             const char *body, size_t len, bool owned)
{
  return http_respond(conn, code,
                      code == MHD_HTTP_OK ? CONTENT_TYPE
                                          : "text/plain; charset=utf-8",
                      body, len, owned);
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
  struct metrics_http *h = calloc(1, sizeof(*h));
  if (!h) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  h->m = m;
  h->mhd = http_start(listen, "metrics", on_request, h, HTTP_CONN_LIMIT,
                      HTTP_CONN_IDLE_S, err, errlen);
  if (!h->mhd) {
    free(h);
    return NULL;
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
