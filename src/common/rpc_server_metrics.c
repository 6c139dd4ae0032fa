/* SPDX-License-Identifier: MIT */
/* The server's figures for the metrics endpoint: answers by method and
 * status, time from arrival to answer, and calls in flight. Counted on the
 * loop with relaxed atomic adds; read by the scrape thread. */
#include <stdio.h>
#include <string.h>

#include "common/rpc.h"
#include "common/rpc_server_internal.h"

void rpc__srv_stats_answered(struct rpc_srv_call *c, grpc_status_code code)
{
  struct rpc_server *s = c->srv;
  atomic_fetch_sub_explicit(&s->in_flight, 1, memory_order_relaxed);
  if (!c->m)
    return;
  unsigned k = (unsigned)code < RPC_NCODES ? (unsigned)code : 2; /* UNKNOWN */
  metrics_inc(&c->m->stats.codes[k], 1);
  metrics_hist_observe(&c->m->stats.seconds,
                       (uv_hrtime() - c->start_ns) / 1000u);
}

/* The labels of m: service="chord.v1.Node",method="Read". */
static void method_labels(const struct srv_method *m, char *out, size_t cap)
{
  const char *p = m->path[0] == '/' ? m->path + 1 : m->path;
  const char *slash = strchr(p, '/');
  if (!slash)
    snprintf(out, cap, "service=\"\",method=\"%s\"", p);
  else
    snprintf(out, cap, "service=\"%.*s\",method=\"%s\"", (int)(slash - p), p,
             slash + 1);
}

static void collect(struct metrics_buf *b, void *ud)
{
  const struct rpc_server *s = ud;
  char l[256], lc[300];
  metrics_family(b, "chord_rpc_requests_total", "counter",
                 "Calls answered, by service, method and gRPC status.");
  for (size_t i = 0; i < s->nmethods; i++) {
    const struct srv_method *m = &s->methods[i];
    method_labels(m, l, sizeof(l));
    for (unsigned k = 0; k < RPC_NCODES; k++) {
      uint64_t v = metrics_get(&m->stats.codes[k]);
      if (!v && k != GRPC_STATUS_OK)
        continue; /* every series of a method that has answered */
      snprintf(lc, sizeof(lc), "%s,code=\"%s\"", l,
               rpc_status_name((grpc_status_code)k));
      metrics_sample(b, "chord_rpc_requests_total", lc, v);
    }
  }
  metrics_family(b, "chord_rpc_request_duration_seconds", "histogram",
                 "Time from a call's arrival to its answer.");
  for (size_t i = 0; i < s->nmethods; i++) {
    const struct srv_method *m = &s->methods[i];
    if (!metrics_get(&m->stats.seconds.count))
      continue;
    method_labels(m, l, sizeof(l));
    metrics_hist_write(b, "chord_rpc_request_duration_seconds", l,
                       &m->stats.seconds);
  }
  metrics_family(b, "chord_rpc_in_flight", "gauge",
                 "Calls received and not yet answered.");
  metrics_sample(b, "chord_rpc_in_flight", "", metrics_get(&s->in_flight));
}

int rpc_server_metrics(struct rpc_server *s, struct metrics *m)
{
  return metrics_add(m, collect, s);
}
