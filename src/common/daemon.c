/* SPDX-License-Identifier: MIT */
/* Daemon lifecycle shared by chord-supernode and chord-node. */
#include "common/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/err.h"
#include "common/health.h"
#include "common/log.h"

static void on_signal(uv_signal_t *h, int signum)
{
  struct daemon *d = h->data;
  if (d->stopping)
    return;
  if (d->on_signal)
    d->on_signal(d, signum);
  else
    daemon_stop(d, 0);
}

int daemon_init(struct daemon *d, size_t max_message, const struct auth *auth)
{
  int rc = CHORD_ENOMEM;
  memset(d, 0, sizeof(*d));
  d->auth = auth;
  /* Connections cost descriptors: take all the system allows (fdguard.c
   * watches what happens at the limit). */
  d->fd_limit = fdguard_raise_limit();
  /* A peer that vanishes mid-write must not kill the process. */
  signal(SIGPIPE, SIG_IGN);
  rpc_route_library_logs();
  if (uv_loop_init(&d->loop))
    return CHORD_EINTERNAL;
  d->bridge = cq_bridge_create(&d->loop);
  if (!d->bridge)
    goto fail_loop;
  struct rpc_server_opts so = {.max_message = max_message, .auth = auth};
  d->server = rpc_server_create(d->bridge, &so);
  if (!d->server)
    goto fail_bridge;
  struct rpc_client_opts co = {.max_message = max_message, .auth = auth};
  d->client = rpc_client_create(d->bridge, &co);
  if (!d->client)
    goto fail_server;
  d->metrics = metrics_new();
  if (!d->metrics || metrics_add(d->metrics, metrics_process, NULL) ||
      rpc_server_metrics(d->server, d->metrics))
    goto fail_client;
  uv_signal_init(&d->loop, &d->sigint);
  uv_signal_init(&d->loop, &d->sigterm);
  d->sigint.data = d->sigterm.data = d;
  uv_signal_start(&d->sigint, on_signal, SIGINT);
  uv_signal_start(&d->sigterm, on_signal, SIGTERM);
  return 0;

fail_client:
  metrics_free(d->metrics);
  d->metrics = NULL;
  rpc_client_shutdown(d->client, NULL, NULL);
fail_server:
  rpc_server_shutdown(d->server, NULL, NULL);
fail_bridge:
  cq_bridge_shutdown(d->bridge, NULL, NULL);
fail_loop:
  /* Runs the close callbacks that free what was made (a bridge that failed
   * half-way closes its handle too) before the loop can close. */
  uv_run(&d->loop, UV_RUN_DEFAULT);
  uv_loop_close(&d->loop);
  return rc;
}

/* Descriptors ran out, came back, or the listener died with them. */
static void on_guard(struct fdguard *g, enum fdguard_state s)
{
  struct daemon *d = g->ud;
  d->exhausted = s != FDGUARD_OK;
  if (d->on_exhausted)
    d->on_exhausted(d, d->exhausted);
  if (s != FDGUARD_DEAD || d->stopping)
    return;
  d->exit_hint = FDGUARD_EXIT_CODE;
  if (d->on_signal)
    d->on_signal(d, 0); /* as for SIGTERM: a node leaves first */
  else
    daemon_stop(d, FDGUARD_EXIT_CODE);
}

int daemon_start(struct daemon *d, const char *listen)
{
  static const char *const names[] = {"chord.v1.Node", "chord.v1.Supernode",
                                      NULL};
  int rc = health_add(d->server, &d->serving, &d->exhausted, names);
  if (rc)
    return rc;
  rc = rpc_server_listen(d->server, listen, &d->port);
  if (rc)
    return rc;
  rc = rpc_server_start(d->server);
  if (rc)
    return rc;
  d->serving = true;
  struct addr a;
  fdguard_start(&d->guard, &d->loop,
                addr_parse(&a, listen, ADDR_ALLOW_PORT0) == 0 ? a.host : "",
                d->port, on_guard, d);
  bool tls = d->auth && auth_tls(d->auth);
  bool token = d->auth && d->auth->has_cluster;
  if (!tls && !token)
    LOG_WARN("plaintext, no TLS and no cluster token: anyone who reaches "
             "port %d can read, write and delete files and change the ring "
             "(see --tls-cert and --token-file)",
             d->port);
  else if (!tls)
    LOG_WARN("plaintext, no TLS: what passes through port %d can be read "
             "and changed on the wire (see --tls-cert)",
             d->port);
  else if (!token)
    LOG_WARN("no cluster token: any holder of a certificate from the CA can "
             "change the ring (see --token-file)");
  return 0;
}

int daemon_serve_metrics(struct daemon *d, const char *listen, char *err,
                         size_t errlen)
{
  d->metrics_http = metrics_http_start(d->metrics, listen, err, errlen);
  if (!d->metrics_http)
    return CHORD_EINVAL;
  LOG_INFO("metrics on http://%s/metrics", listen);
  return 0;
}

static void on_bridge_done(void *ud)
{
  (void)ud;
}

static void on_client_done(void *ud)
{
  struct daemon *d = ud;
  cq_bridge_shutdown(d->bridge, on_bridge_done, d);
  uv_close((uv_handle_t *)&d->sigint, NULL);
  uv_close((uv_handle_t *)&d->sigterm, NULL);
}

static void on_server_done(void *ud)
{
  struct daemon *d = ud;
  /* Only now: the calls being drained may still have needed the client
   * (a forward finishing its answer). */
  rpc_client_shutdown(d->client, on_client_done, d);
}

void daemon_stop(struct daemon *d, int exit_code)
{
  if (d->stopping)
    return;
  d->stopping = true;
  d->serving = false;
  d->exit_code = exit_code;
  /* Before the server goes: its figures are read by the scrape thread. */
  metrics_http_stop(d->metrics_http);
  d->metrics_http = NULL;
  fdguard_stop(&d->guard);
  rpc_server_drain(d->server, DAEMON_DRAIN_MS, on_server_done, d);
}

int daemon_run(struct daemon *d)
{
  uv_run(&d->loop, UV_RUN_DEFAULT);
  metrics_http_stop(d->metrics_http);
  d->metrics_http = NULL;
  metrics_free(d->metrics);
  d->metrics = NULL;
  if (uv_loop_close(&d->loop) == UV_EBUSY) {
    /* A handle left open is a bug; do not exit 0 over it silently. */
    return d->exit_code ? d->exit_code : 1;
  }
  return d->exit_code;
}
