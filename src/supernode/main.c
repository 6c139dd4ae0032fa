/* SPDX-License-Identifier: MIT */
/* chord-supernode: argument parsing, wiring and the expiry timer. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/err.h"
#include "common/log.h"
#include "common/units.h"
#include "supernode/identity.h"
#include "supernode/supernode.h"

#define SN_DURATION_MAX_MS ((uint64_t)24 * 3600 * 1000) /* a day */

static void usage(FILE *f)
{
  fprintf(f,
          "usage: chord-supernode [options]\n"
          "\n"
          "The chord membership registry: serialises joins, tracks live\n"
          "nodes by their heartbeats, hands clients a random node.\n"
          "\n"
          "  --listen HOST:PORT        address to serve on (127.0.0.1:7000)\n"
          "  --lease DURATION          join lock lease (10s)\n"
          "  --heartbeat DURATION      heartbeat interval asked of nodes (1s)\n"
          "  --heartbeat-timeout DUR   silence before a node is dropped (4s)\n"
          "  --log-level LEVEL         debug, info, warn or error "
          "(info)\n"
          "  --log-format FORMAT       text, or json: one object a line "
          "(text)\n"
          "  --metrics-listen H:P      serve Prometheus metrics at "
          "http://H:P/metrics (off)\n" AUTH_HELP "  --help, --version\n"
          "\n" UNITS_HELP);
}

static bool still_known(void *ud, const struct chord_id *id)
{
  return registry_knows(ud, id);
}

static void on_expire(uv_timer_t *t)
{
  struct supernode *sn = t->data;
  registry_expire(sn->reg);
  identities_prune(sn->ids, still_known, sn->reg);
  size_t n = registry_count(sn->reg);
  if (n < sn->last_count) {
    LOG_WARN("dropped %zu silent member(s), %zu members", sn->last_count - n,
             n);
    metrics_inc(&sn->dropped, sn->last_count - n);
  }
  sn->last_count = n;
  atomic_store_explicit(&sn->members, n, memory_order_relaxed);
}

static void on_stop_signal(struct daemon *d, int signum)
{
  struct supernode *sn = d->ud;
  if (signum)
    LOG_INFO("signal %d: shutting down", signum);
  else
    LOG_INFO("shutting down to restart");
  uv_timer_stop(&sn->expire_timer);
  uv_close((uv_handle_t *)&sn->expire_timer, NULL);
  daemon_stop(d, d->exit_hint);
}

int main(int argc, char **argv)
{
  struct supernode sn;
  const char *listen = "127.0.0.1:7000";
  const char *metrics_listen = NULL;
  int rc, exit_code = 1;
  enum {
    OPT_LISTEN = 256,
    OPT_LEASE,
    OPT_HB,
    OPT_HB_TIMEOUT,
    OPT_LOG,
    OPT_LOG_FORMAT,
    OPT_METRICS,
    OPT_HELP,
    OPT_VERSION,
    OPT_AUTH /* AUTH_NOPTS values from here */
  };
  static const struct option opts[] = {
      {"listen", required_argument, NULL, OPT_LISTEN},
      {"lease", required_argument, NULL, OPT_LEASE},
      {"heartbeat", required_argument, NULL, OPT_HB},
      {"heartbeat-timeout", required_argument, NULL, OPT_HB_TIMEOUT},
      {"log-level", required_argument, NULL, OPT_LOG},
      {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
      {"metrics-listen", required_argument, NULL, OPT_METRICS},
      {"help", no_argument, NULL, OPT_HELP},
      {"version", no_argument, NULL, OPT_VERSION},
      AUTH_LONG_OPTIONS(OPT_AUTH),
      {NULL, 0, NULL, 0}};
  struct auth_opts ao = {0};
  char err[256];

  memset(&sn, 0, sizeof(sn));
  sn.lease_ms = 10000;
  sn.heartbeat_interval_ms = 1000;
  sn.heartbeat_timeout_ms = 4000;
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    enum log_level lvl;
    enum log_format fmt;
    switch (c) {
    case OPT_LISTEN: listen = optarg; break;
    case OPT_LEASE:
      if (units_parse_duration(optarg, 1, SN_DURATION_MAX_MS, &sn.lease_ms))
        goto bad_value;
      break;
    case OPT_HB:
      if (units_parse_duration(optarg, 1, SN_DURATION_MAX_MS,
                               &sn.heartbeat_interval_ms))
        goto bad_value;
      break;
    case OPT_HB_TIMEOUT:
      if (units_parse_duration(optarg, 1, SN_DURATION_MAX_MS,
                               &sn.heartbeat_timeout_ms))
        goto bad_value;
      break;
    case OPT_LOG:
      if (log_level_parse(optarg, &lvl))
        goto bad_value;
      log_set_level(lvl);
      break;
    case OPT_METRICS:
      if (addr_validate(optarg, 0))
        goto bad_value;
      metrics_listen = optarg;
      break;
    case OPT_LOG_FORMAT:
      if (log_format_parse(optarg, &fmt))
        goto bad_value;
      log_set_format(fmt);
      break;
    case OPT_AUTH:
    case OPT_AUTH + 1:
    case OPT_AUTH + 2:
    case OPT_AUTH + 3:
    case OPT_AUTH + 4:
    case OPT_AUTH + 5: auth_opts_set(&ao, c - OPT_AUTH, optarg); break;
    case OPT_HELP: usage(stdout); return 0;
    case OPT_VERSION: printf("chord-supernode %s\n", CHORD_VERSION); return 0;
    default: usage(stderr); return 2;
    }
    continue;
  bad_value:
    fprintf(stderr, "chord-supernode: bad value for --%s: %s\n",
            opts[c - OPT_LISTEN].name, optarg);
    return 2;
  }
  if (optind < argc) {
    fprintf(stderr, "chord-supernode: unexpected argument %s\n", argv[optind]);
    usage(stderr);
    return 2;
  }
  if (addr_validate(listen, ADDR_ALLOW_PORT0)) {
    fprintf(stderr, "chord-supernode: --listen %s is not a valid host:port\n",
            listen);
    return 2;
  }
  auth_opts_from_env(&ao);
  if (auth_load(&sn.auth, &ao, err, sizeof(err))) {
    fprintf(stderr, "chord-supernode: %s\n", err);
    return 2;
  }

  char tag[ADDR_STR_MAX + 16];
  snprintf(tag, sizeof(tag), "supernode %s", listen);
  log_set_tag(tag);
  grpc_init();
  struct registry_opts ro = {.lease_ms = sn.lease_ms,
                             .heartbeat_timeout_ms = sn.heartbeat_timeout_ms};
  sn.reg = registry_create(&ro);
  sn.ids = identities_create();
  if (!sn.reg || !sn.ids) {
    LOG_ERROR("out of memory");
    goto out_grpc;
  }
  rc = daemon_init(&sn.d, 0, &sn.auth);
  if (rc) {
    LOG_ERROR("cannot start: %s", chord_strerror(rc));
    goto out_reg;
  }
  sn.d.ud = &sn;
  sn.d.on_signal = on_stop_signal;
  rc = sn_svc_register(&sn);
  if (!rc)
    rc = daemon_start(&sn.d, listen);
  if (rc) {
    LOG_ERROR("cannot serve on %s: %s", listen,
              rc == CHORD_EINVAL ? "address unavailable or in use"
                                 : chord_strerror(rc));
    daemon_stop(&sn.d, 1);
    daemon_run(&sn.d);
    goto out_reg;
  }
  snprintf(err, sizeof(err), "out of memory");
  if (metrics_listen &&
      (sn_metrics_start(&sn) ||
       daemon_serve_metrics(&sn.d, metrics_listen, err, sizeof(err)))) {
    LOG_ERROR("cannot start: %s", err);
    daemon_stop(&sn.d, 1);
    daemon_run(&sn.d);
    goto out_reg;
  }
  uv_timer_init(&sn.d.loop, &sn.expire_timer);
  sn.expire_timer.data = &sn;
  uint64_t tick = sn.heartbeat_timeout_ms / 4 ? sn.heartbeat_timeout_ms / 4 : 1;
  uv_timer_start(&sn.expire_timer, on_expire, tick, tick);
  LOG_INFO(
      "serving on port %d (lease %llums, heartbeat %llums, timeout %llums)",
      sn.d.port, (unsigned long long)sn.lease_ms,
      (unsigned long long)sn.heartbeat_interval_ms,
      (unsigned long long)sn.heartbeat_timeout_ms);
  exit_code = daemon_run(&sn.d);
  LOG_INFO("stopped");

out_reg:
  registry_destroy(sn.reg);
  identities_destroy(sn.ids);
out_grpc:
  grpc_shutdown();
  auth_free(&sn.auth);
  return exit_code;
}
