/* SPDX-License-Identifier: MIT */
/* chord-node: arguments, the store, wiring the modules together, and the
 * signal that starts the graceful leave. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chord/v1/node.pb-c.h"
#include "common/addr.h"
#include "common/err.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/name.h"
#include "common/units.h"
#include "node/node.h"

#define LEAVE_LIMIT_MS 15000 /* a leave that takes longer is cut short */
#define NODE_DURATION_MAX_MS ((uint64_t)24 * 3600 * 1000) /* a day */

static void usage(FILE *f)
{
  fprintf(
      f,
      "usage: chord-node --listen HOST:PORT [options]\n"
      "\n"
      "A chord ring member: joins through the supernode, stores the files\n"
      "whose keys it owns and routes the rest along its finger table.\n"
      "\n"
      "  --listen HOST:PORT       address to serve on (required)\n"
      "  --supernode HOST:PORT    the supernode ($CHORD_SUPERNODE, else\n"
      "                           127.0.0.1:7000)\n"
      "  --advertise HOST:PORT    address others dial (the listen address)\n"
      "  --id HEX                 40 hex digits (SHA-1 of the advertised\n"
      "                           address)\n"
      "  --store mem|dir          storage backend (mem)\n"
      "  --data-dir DIR           directory of the dir store\n"
      "  --max-file-size SIZE     largest file accepted (64M)\n"
      "  --rpc-timeout DURATION   deadline of ring-internal calls (3s)\n"
      "  --forward-timeout DUR    deadline of a forward when the caller set\n"
      "                           none (30s)\n"
      "  --hop-limit N            hops before a request fails (32)\n"
      "  --successors N           successor list length r (4)\n"
      "  --stabilize-interval DUR maintenance tick: stabilize, check the\n"
      "                           predecessor, fix fingers (1s)\n"
      "  --hop-timeout DURATION   longest wait for one hop before routing\n"
      "                           around it (2s)\n"
      "  --replicas R             copies of each file: the owner and its next\n"
      "                           R-1 successors; at most --successors (3)\n"
      "  --repair-interval DUR    anti-entropy with the replicas, at the\n"
      "                           latest (30s; at once on a ring change)\n"
      "  --max-inflight SIZE      write content held at once while stored\n"
      "                           and replicated; more is refused with\n"
      "                           RESOURCE_EXHAUSTED (1G)\n"
      "  --tombstone-grace DUR    how long a deleted file's tombstone is "
      "kept;\n"
      "                           longer than any node stays away (24h)\n"
      "  --chunk-grace DURATION   a chunk no manifest lists is deleted once\n"
      "                           unreferenced this long; a chunked write\n"
      "                           must finish within 9/10 of it (1h)\n"
      "  --max-object-size SIZE   largest chunked file accepted (1T)\n"
      "  --join-retries N         attempts to reach the supernode (10)\n"
      "  --join-timeout DURATION  longest wait while others join (120s)\n"
      "  --log-level LEVEL        debug, info, warn or error (info)\n"
      "  --log-format FORMAT      text, or json: one object a line (text)\n"
      "  --metrics-listen H:P     serve Prometheus metrics at\n"
      "                           http://H:P/metrics (off)\n" AUTH_HELP
      "  --help, --version\n"
      "\n" UNITS_HELP
      "SIGINT/SIGTERM: hand files to the successor, leave, exit 0.\n");
}

static void on_leave_limit(uv_timer_t *t)
{
  struct node *n = t->data;
  LOG_WARN("leave did not finish within %d ms: stopping anyway",
           LEAVE_LIMIT_MS);
  node_stop(n, 1);
}

static void on_stop_signal(struct daemon *d, int signum)
{
  struct node *n = d->ud;
  if (n->leave_requested) {
    LOG_WARN("second signal %d: stopping now", signum);
    node_stop(n, 1);
    return;
  }
  n->leave_requested = true;
  if (signum)
    LOG_INFO("signal %d: leaving the ring", signum);
  else
    LOG_INFO("leaving the ring to restart");
  uv_timer_start(&n->leave_timer, on_leave_limit, LEAVE_LIMIT_MS, 0);
  membership_leave_start(n);
}

static int parse_args(struct node *n, int argc, char **argv)
{
  enum {
    O_LISTEN = 256,
    O_SUPERNODE,
    O_ADVERTISE,
    O_ID,
    O_STORE,
    O_DATA,
    O_MAXFILE,
    O_RPC_TIMEOUT,
    O_FWD_TIMEOUT,
    O_HOPS,
    O_SUCC,
    O_RETRIES,
    O_JOIN_TIMEOUT,
    O_LOG,
    O_LOG_FORMAT,
    O_METRICS,
    O_HELP,
    O_VERSION,
    O_HOP_TIMEOUT,
    O_STABILIZE,
    O_REPLICAS,
    O_REPAIR,
    O_GRACE,
    O_INFLIGHT,
    O_CHUNK_GRACE,
    O_MAX_OBJECT,
    O_AUTH /* AUTH_NOPTS values from here */
  };
  static const struct option opts[] = {
      {"listen", required_argument, NULL, O_LISTEN},
      {"supernode", required_argument, NULL, O_SUPERNODE},
      {"advertise", required_argument, NULL, O_ADVERTISE},
      {"id", required_argument, NULL, O_ID},
      {"store", required_argument, NULL, O_STORE},
      {"data-dir", required_argument, NULL, O_DATA},
      {"max-file-size", required_argument, NULL, O_MAXFILE},
      {"rpc-timeout", required_argument, NULL, O_RPC_TIMEOUT},
      {"forward-timeout", required_argument, NULL, O_FWD_TIMEOUT},
      {"hop-limit", required_argument, NULL, O_HOPS},
      {"successors", required_argument, NULL, O_SUCC},
      {"join-retries", required_argument, NULL, O_RETRIES},
      {"join-timeout", required_argument, NULL, O_JOIN_TIMEOUT},
      {"log-level", required_argument, NULL, O_LOG},
      {"log-format", required_argument, NULL, O_LOG_FORMAT},
      {"metrics-listen", required_argument, NULL, O_METRICS},
      {"help", no_argument, NULL, O_HELP},
      {"version", no_argument, NULL, O_VERSION},
      {"hop-timeout", required_argument, NULL, O_HOP_TIMEOUT},
      {"stabilize-interval", required_argument, NULL, O_STABILIZE},
      {"replicas", required_argument, NULL, O_REPLICAS},
      {"repair-interval", required_argument, NULL, O_REPAIR},
      {"tombstone-grace", required_argument, NULL, O_GRACE},
      {"max-inflight", required_argument, NULL, O_INFLIGHT},
      {"chunk-grace", required_argument, NULL, O_CHUNK_GRACE},
      {"max-object-size", required_argument, NULL, O_MAX_OBJECT},
      AUTH_LONG_OPTIONS(O_AUTH),
      {NULL, 0, NULL, 0}};
  struct node_opts *o = &n->o;
  const char *env = getenv("CHORD_SUPERNODE");
  uint64_t v;
  int c;

  snprintf(o->supernode, sizeof(o->supernode), "%s",
           env && *env ? env : "127.0.0.1:7000");
  o->store_kind = "mem";
  o->max_file = NAME_DEFAULT_MAX_FILE;
  o->rpc_timeout_ms = 3000;
  o->forward_timeout_ms = 30000;
  o->hop_limit = 32;
  o->succ_len = 4;
  o->hop_timeout_ms = 2000;
  o->stabilize_ms = 1000;
  o->join_retries = 10;
  o->join_timeout_ms = 120000;
  o->page_bytes = 4u << 20;
  o->replicas = 3;
  o->repair_ms = 30000;
  o->tomb_grace_ms = (uint64_t)24 * 3600 * 1000;
  o->max_inflight = (uint64_t)1 << 30;
  o->chunk_grace_ms = 3600 * 1000;
  o->max_object = MANIFEST_DEFAULT_MAX_OBJECT;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    enum log_level lvl;
    enum log_format fmt;
    int bad = 0;
    switch (c) {
    case O_LISTEN:
    case O_SUPERNODE:
    case O_ADVERTISE: {
      char *dst = c == O_LISTEN      ? o->listen
                  : c == O_SUPERNODE ? o->supernode
                                     : o->advertise;
      bad = strlen(optarg) >= ADDR_STR_MAX ||
            addr_validate(optarg, c == O_LISTEN ? ADDR_ALLOW_PORT0 : 0);
      if (!bad)
        strcpy(dst, optarg);
      break;
    }
    case O_ID:
      bad = chord_id_from_hex(&o->id, optarg) != 0;
      o->id_fixed = true;
      break;
    case O_STORE:
      bad = strcmp(optarg, "mem") && strcmp(optarg, "dir");
      o->store_kind = optarg;
      break;
    case O_DATA: o->data_dir = optarg; break;
    case O_MAXFILE:
      bad = units_parse_size(optarg, 0, (uint64_t)1 << 30, &v);
      o->max_file = v;
      break;
    case O_RPC_TIMEOUT:
      bad = units_parse_duration(optarg, 1, NODE_DURATION_MAX_MS,
                                 &o->rpc_timeout_ms);
      break;
    case O_FWD_TIMEOUT:
      bad = units_parse_duration(optarg, 1, NODE_DURATION_MAX_MS,
                                 &o->forward_timeout_ms);
      break;
    case O_HOPS:
      bad = units_parse_uint(optarg, 1, 1024, &v);
      o->hop_limit = (unsigned)v;
      break;
    case O_SUCC:
      bad = units_parse_uint(optarg, 1, FINGER_SUCC_MAX, &v);
      o->succ_len = (unsigned)v;
      break;
    case O_RETRIES:
      bad = units_parse_uint(optarg, 1, 1000000, &v);
      o->join_retries = (unsigned)v;
      break;
    case O_JOIN_TIMEOUT:
      bad = units_parse_duration(optarg, 0, NODE_DURATION_MAX_MS,
                                 &o->join_timeout_ms);
      break;
    case O_HOP_TIMEOUT:
      bad = units_parse_duration(optarg, 1, NODE_DURATION_MAX_MS,
                                 &o->hop_timeout_ms);
      break;
    case O_STABILIZE:
      bad = units_parse_duration(optarg, 10, NODE_DURATION_MAX_MS,
                                 &o->stabilize_ms);
      break;
    case O_REPLICAS:
      bad = units_parse_uint(optarg, 1, FINGER_SUCC_MAX, &v);
      o->replicas = (unsigned)v;
      break;
    case O_REPAIR:
      bad = units_parse_duration(optarg, 100, NODE_DURATION_MAX_MS,
                                 &o->repair_ms);
      break;
    case O_GRACE:
      bad = units_parse_duration(optarg, 1, 365 * NODE_DURATION_MAX_MS,
                                 &o->tomb_grace_ms);
      break;
    case O_INFLIGHT:
      bad = units_parse_size(optarg, 1, (uint64_t)1 << 40, &o->max_inflight);
      break;
    case O_CHUNK_GRACE:
      bad = units_parse_duration(optarg, 100, 365 * NODE_DURATION_MAX_MS,
                                 &o->chunk_grace_ms);
      break;
    case O_MAX_OBJECT:
      bad = units_parse_size(optarg, 1, (uint64_t)1 << 50, &o->max_object);
      break;
    case O_LOG:
      bad = log_level_parse(optarg, &lvl) != 0;
      if (!bad)
        log_set_level(lvl);
      break;
    case O_METRICS:
      bad = addr_validate(optarg, 0) != 0;
      o->metrics_listen = optarg;
      break;
    case O_LOG_FORMAT:
      bad = log_format_parse(optarg, &fmt) != 0;
      if (!bad)
        log_set_format(fmt);
      break;
    case O_AUTH:
    case O_AUTH + 1:
    case O_AUTH + 2:
    case O_AUTH + 3:
    case O_AUTH + 4:
    case O_AUTH + 5: auth_opts_set(&o->auth, c - O_AUTH, optarg); break;
    case O_HELP: usage(stdout); return 1;
    case O_VERSION: printf("chord-node %s\n", CHORD_VERSION); return 1;
    default: usage(stderr); return 2;
    }
    if (bad) {
      fprintf(stderr, "chord-node: bad value for --%s: %s\n",
              opts[c - O_LISTEN].name, optarg);
      return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "chord-node: unexpected argument %s\n", argv[optind]);
    return 2;
  }
  if (!o->listen[0]) {
    fprintf(stderr, "chord-node: --listen HOST:PORT is required\n");
    return 2;
  }
  if (o->replicas > o->succ_len) {
    fprintf(stderr,
            "chord-node: --replicas %u is more than --successors %u: the "
            "replicas are the first successors\n",
            o->replicas, o->succ_len);
    return 2;
  }
  if (strcmp(o->store_kind, "dir") == 0 && !o->data_dir) {
    fprintf(stderr, "chord-node: --store dir needs --data-dir DIR\n");
    return 2;
  }
  /* Messages are capped at max_file plus an envelope (rpc.c); a page of
   * several files must fit under the same cap, so pages are no bigger
   * than one largest file. */
  if (o->page_bytes > o->max_file)
    o->page_bytes = o->max_file;
  /* Last: nothing after it may fail, so a bad argument leaks nothing. */
  auth_opts_from_env(&o->auth);
  char err[256];
  if (auth_load(&n->auth, &o->auth, err, sizeof(err))) {
    fprintf(stderr, "chord-node: %s\n", err);
    return 2;
  }
  return 0;
}

/* The address others dial: --advertise, else the listen address with the
 * bound port; a wildcard listen address needs --advertise. */
static int resolve_self(struct node *n)
{
  struct addr a;
  if (n->o.advertise[0]) {
    snprintf(n->self.addr, sizeof(n->self.addr), "%s", n->o.advertise);
  } else {
    if (addr_parse(&a, n->o.listen, ADDR_ALLOW_PORT0))
      return CHORD_EINVAL;
    if (!strcmp(a.host, "0.0.0.0") || !strcmp(a.host, "::")) {
      LOG_ERROR("listening on %s: give --advertise HOST:PORT, the address "
                "other nodes can dial",
                n->o.listen);
      return CHORD_EINVAL;
    }
    a.port = (uint16_t)n->d.port;
    addr_format(&a, n->self.addr, sizeof(n->self.addr));
  }
  if (n->o.id_fixed)
    n->self.id = n->o.id;
  else
    chord_id_sha1_str(&n->self.id, n->self.addr);
  return 0;
}

/* Registers every Node method's handler with the daemon's server. */
static int register_handlers(struct node *n)
{
  /* The file calls are the client face; the rest is the ring's. */
  static const struct {
    const char *name;
    rpc_handler_cb cb;
    enum auth_level need;
  } table[] = {
      {"Read", svc_on_read, AUTH_CLIENT},
      {"Write", svc_on_write, AUTH_CLIENT},
      {"Delete", svc_on_delete, AUTH_CLIENT},
      {"Lookup", svc_on_lookup, AUTH_CLIENT},
      {"UpdateDHT", svc_on_update_dht, AUTH_RING},
      {"FindSuccessor", svc_on_find_successor, AUTH_RING},
      {"GetPredecessor", svc_on_get_predecessor, AUTH_RING},
      {"Notify", svc_on_notify, AUTH_RING},
      {"GetSuccessorList", svc_on_get_successor_list, AUTH_RING},
      {"TransferKeys", svc_on_transfer_keys, AUTH_RING},
      {"Replicate", svc_on_replicate, AUTH_RING},
      {"Fetch", svc_on_fetch, AUTH_RING},
      {"SyncDigest", svc_on_sync_digest, AUTH_RING},
      {"Ping", svc_on_ping, AUTH_RING},
      /* Its key listing needs the cluster token (svc_status.c). */
      {"Status", svc_on_status, AUTH_CLIENT},
  };
  const ProtobufCServiceDescriptor *svc = &chord__v1__node__descriptor;
  rpc_handler_cb h[32] = {0};
  unsigned char need[32];
  if (svc->n_methods > sizeof(h) / sizeof(h[0]))
    return CHORD_EINTERNAL;
  for (unsigned i = 0; i < svc->n_methods; i++) {
    need[i] = AUTH_RING;
    for (size_t k = 0; k < sizeof(table) / sizeof(table[0]); k++)
      if (strcmp(svc->methods[i].name, table[k].name) == 0) {
        h[i] = table[k].cb;
        need[i] = (unsigned char)table[k].need;
      }
  }
  int rc = rpc_server_add_service(n->d.server, svc, h, n);
  if (!rc)
    rpc_server_guard(n->d.server, svc, need);
  return rc;
}

/* Opens the store the options name. NULL after logging why. */
static struct store *open_store(const struct node_opts *o)
{
  struct store *s;
  int rc;
  if (strcmp(o->store_kind, "dir") == 0) {
    s = store_open_dir(o->data_dir, &rc);
    if (!s)
      LOG_ERROR("cannot open the data directory %s: %s", o->data_dir,
                chord_strerror(rc));
    return s;
  }
  s = store_open_mem();
  if (!s)
    LOG_ERROR("out of memory");
  return s;
}

/* Sets up every module's part of n on the daemon's loop. */
static void wire(struct node *n)
{
  uv_loop_t *loop = &n->d.loop;
  n->d.ud = n;
  n->d.on_signal = on_stop_signal;
  n->started_ms = node_now_ms();
  jobs_init(&n->jobs, loop, strcmp(store_backend_name(n->store), "mem") == 0);
  handoff_init(&n->give);
  membership_init(&n->mem, loop, n);
  maintain_init(&n->maintain, loop, n);
  repair_init(&n->repair, loop, n);
  chunk_gc_init(&n->chunk_gc, loop, n);
  pull_init(&n->pull, loop);
  n->pull.timer.data = n;
  uv_timer_init(loop, &n->leave_timer);
  n->leave_timer.data = n;
}

int main(int argc, char **argv)
{
  static struct node n; /* large (finger tables); off the stack */
  int rc, exit_code = 1;
  char hex[CHORD_ID_HEX_LEN + 1];

  rc = parse_args(&n, argc, argv);
  if (rc)
    return rc == 1 ? 0 : rc;
  char tag[ADDR_STR_MAX + 8];
  snprintf(tag, sizeof(tag), "node %s",
           n.o.advertise[0] ? n.o.advertise : n.o.listen);
  log_set_tag(tag);
  srand((unsigned)(node_now_ms() ^ (uint64_t)getpid()));

  if (auth_secret_new(n.secret, sizeof(n.secret))) {
    LOG_ERROR("no randomness for the node's secret");
    auth_free(&n.auth);
    return 1;
  }
  n.incarnation = auth_incarnation(n.secret, sizeof(n.secret));
  n.store = open_store(&n.o);
  if (!n.store) {
    auth_free(&n.auth);
    return 1;
  }
  grpc_init();
  rc = daemon_init(&n.d, n.o.max_file, &n.auth);
  if (rc) {
    LOG_ERROR("cannot start: %s", chord_strerror(rc));
    goto fail_daemon;
  }
  wire(&n);
  node_metrics_init(&n);
  ring_init(&n.ring, &n.self, n.o.succ_len);
  rc = register_handlers(&n);
  if (!rc)
    rc = daemon_start(&n.d, n.o.listen);
  if (rc) {
    LOG_ERROR("cannot serve on %s: %s", n.o.listen,
              rc == CHORD_EINVAL ? "address unavailable or in use"
                                 : chord_strerror(rc));
    goto fail_run;
  }
  /* Health says SERVING only once the node is a member (PostJoin). */
  n.d.serving = false;
  if (n.o.metrics_listen) {
    char err[256] = "out of memory";
    if (node_metrics_start(&n) ||
        daemon_serve_metrics(&n.d, n.o.metrics_listen, err, sizeof(err))) {
      LOG_ERROR("cannot start: %s", err);
      goto fail_run;
    }
  }
  if (resolve_self(&n))
    goto fail_run;
  snprintf(tag, sizeof(tag), "node %s", n.self.addr);
  log_set_tag(tag);
  ring_init(&n.ring, &n.self, n.o.succ_len);
  chord_id_to_hex(&n.self.id, hex);
  uint64_t keys, bytes;
  store_stats(n.store, &keys, &bytes);
  /* New versions go above every one stored, whatever the clock did. */
  node_version_seen(&n, store_max_version(n.store));
  LOG_INFO("serving on port %d as %s (id %s, %s store, %llu keys); "
           "supernode %s",
           n.d.port, n.self.addr, hex, store_backend_name(n.store),
           (unsigned long long)keys, n.o.supernode);
  membership_join_start(&n);
  exit_code = daemon_run(&n.d);
  LOG_INFO("stopped");
  goto cleanup;

fail_run:
  node_stop(&n, 1);
  daemon_run(&n.d);
cleanup:
  ring_close(&n.ring);
  pull_close(&n.pull);
  push_close(&n.push);
  handoff_clear(&n.give);
  repair_close(&n.repair);
  chunk_gc_close(&n.chunk_gc);
  repair_gc_close(&n.gc);
fail_daemon:
  store_close(n.store);
  grpc_shutdown();
  auth_free(&n.auth);
  return exit_code;
}
