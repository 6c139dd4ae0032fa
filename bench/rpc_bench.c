/* SPDX-License-Identifier: MIT */
/* chord-rpc-bench: the round trip of one small unary call (chord.v1.Node
 * Ping) through the project's RPC layer on 127.0.0.1, sequential sync calls
 * and async calls with K in flight, against an in-process server whose
 * libuv loop runs on its own thread. A benchmark, not a test. */
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>
#include <uv.h>

#include "chord/v1/node.pb-c.h"
#include "common/cq_bridge.h"
#include "common/daemon.h"
#include "common/units.h"
#include "common/err.h"
#include "common/rpc.h"

#define NODE_SVC (&chord__v1__node__descriptor)
#define BENCH_DEADLINE_MS 10000 /* per call; generous, loopback only */
#define BENCH_ROUNDS_MAX 100
#define BENCH_METHODS_MAX 64 /* handler table size */

struct bench_opts {
  uint64_t count;       /* measured calls per phase and round */
  uint64_t warmup;      /* unmeasured calls before them */
  uint64_t size;        /* Ping payload, bytes */
  uint64_t concurrency; /* async calls in flight */
  uint64_t rounds;
  bool json;
};

/* The server: a loop on its own thread. The main thread talks to it only
 * through the startup handshake (lock/cond) and uv_async_send(&stop). */
struct bench_server {
  pthread_t thread;
  uv_loop_t loop;
  uv_async_t stop; /* main -> loop: shut down; data = this */
  struct cq_bridge *bridge;
  struct rpc_server *srv;
  pthread_mutex_t lock; /* guards ready, rc, port */
  pthread_cond_t cond;
  bool ready;   /* the thread has set rc (and port) */
  int rc;       /* 0 once serving, else why it failed */
  int port;     /* the bound ephemeral port */
  int close_rc; /* uv_loop_close's result, read after join */
};

/* The async client: a second loop and bridge, run on the main thread. */
struct bench_client {
  uv_loop_t loop;
  struct cq_bridge *bridge;
  struct rpc_client *cli;
};

/* One async phase: want calls, at most K in flight. */
struct async_run;

struct async_slot {
  struct async_run *run;
  uint64_t t0; /* uv_hrtime() when the call started, ns */
};

struct async_run {
  struct bench_client *bc;
  const struct rpc_req *tmpl; /* target, method, message */
  struct async_slot *slots;   /* K of them */
  uint64_t *lat;              /* want entries, ns; NULL: not recorded */
  uint64_t want, started, done, errors;
  struct rpc_status first_error;
};

/* Figures of one round. */
struct round_figs {
  double seq_p50, seq_p90, seq_p99, seq_max; /* microseconds */
  double seq_rate;                           /* calls/s */
  double async_rate;                         /* calls/s */
  double async_p50, async_p99;               /* microseconds */
};

/* ---- server (loop thread) ----------------------------------------------- */

/* Echoes the payload. Runs on the server's loop thread. */
static void on_ping(struct rpc_srv_call *call, const ProtobufCMessage *req,
                    void *ud)
{
  const Chord__V1__PingRequest *in = (const Chord__V1__PingRequest *)req;
  Chord__V1__PingResponse out = CHORD__V1__PING_RESPONSE__INIT;
  (void)ud;
  out.payload = in->payload;
  rpc_srv_reply(call, &out.base);
}

static void server_ready(struct bench_server *s, int rc)
{
  pthread_mutex_lock(&s->lock);
  s->rc = rc;
  s->ready = true;
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->lock);
}

/* The server is gone: stop the bridge and the stop handle, after which
 * the loop has nothing left and uv_run returns. */
static void server_on_done(void *ud)
{
  struct bench_server *s = ud;
  s->srv = NULL;
  if (s->bridge)
    cq_bridge_shutdown(s->bridge, NULL, NULL);
  s->bridge = NULL;
  uv_close((uv_handle_t *)&s->stop, NULL);
}

static void server_stop(struct bench_server *s)
{
  if (s->srv)
    rpc_server_shutdown(s->srv, server_on_done, s);
  else
    server_on_done(s);
}

static void server_on_stop(uv_async_t *h)
{
  server_stop(h->data);
}

/* The server thread: sets up on its own loop, reports through
 * server_ready, serves until stop is signalled, then unwinds. */
static void *server_main(void *arg)
{
  struct bench_server *s = arg;
  rpc_handler_cb handlers[BENCH_METHODS_MAX] = {0};
  int rc = CHORD_EINTERNAL;

  if (NODE_SVC->n_methods > BENCH_METHODS_MAX) {
    server_ready(s, CHORD_EINTERNAL);
    return NULL;
  }
  for (unsigned i = 0; i < NODE_SVC->n_methods; i++)
    if (strcmp(NODE_SVC->methods[i].name, "Ping") == 0)
      handlers[i] = on_ping;
  if (uv_loop_init(&s->loop)) {
    server_ready(s, CHORD_EINTERNAL);
    return NULL;
  }
  if (uv_async_init(&s->loop, &s->stop, server_on_stop)) {
    server_ready(s, CHORD_EINTERNAL);
    goto fail_loop;
  }
  s->stop.data = s;
  s->bridge = cq_bridge_create(&s->loop);
  if (!s->bridge) {
    rc = CHORD_ENOMEM;
    goto fail_stop;
  }
  s->srv = rpc_server_create(s->bridge, NULL);
  if (!s->srv) {
    rc = CHORD_ENOMEM;
    goto fail_stop;
  }
  rc = rpc_server_add_service(s->srv, NODE_SVC, handlers, s);
  if (!rc)
    rc = rpc_server_listen(s->srv, "127.0.0.1:0", &s->port);
  if (!rc)
    rc = rpc_server_start(s->srv);
  if (rc)
    goto fail_stop;
  server_ready(s, 0);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  s->close_rc = uv_loop_close(&s->loop);
  return NULL;

fail_stop:
  /* Whatever exists is shut down through the normal path. */
  server_ready(s, rc);
  server_stop(s);
  uv_run(&s->loop, UV_RUN_DEFAULT);
fail_loop:
  s->close_rc = uv_loop_close(&s->loop);
  return NULL;
}

/* Starts the server thread and waits until it serves. 0 or an error,
 * after which the thread has been joined. Main thread. */
static int server_start(struct bench_server *s)
{
  memset(s, 0, sizeof(*s));
  if (pthread_mutex_init(&s->lock, NULL))
    return CHORD_ENOMEM;
  if (pthread_cond_init(&s->cond, NULL))
    goto fail_lock;
  if (pthread_create(&s->thread, NULL, server_main, s))
    goto fail_cond;
  pthread_mutex_lock(&s->lock);
  while (!s->ready)
    pthread_cond_wait(&s->cond, &s->lock);
  int rc = s->rc;
  pthread_mutex_unlock(&s->lock);
  if (rc) {
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    return rc;
  }
  return 0;

fail_cond:
  pthread_cond_destroy(&s->cond);
fail_lock:
  pthread_mutex_destroy(&s->lock);
  return CHORD_ENOMEM;
}

/* Stops a started server and joins its thread. 0, or CHORD_EINTERNAL
 * when its loop did not close cleanly. Main thread. */
static int server_join(struct bench_server *s)
{
  uv_async_send(&s->stop);
  pthread_join(s->thread, NULL);
  pthread_cond_destroy(&s->cond);
  pthread_mutex_destroy(&s->lock);
  return s->close_rc ? CHORD_EINTERNAL : 0;
}

/* ---- async client (main thread's loop) ---------------------------------- */

static int client_init(struct bench_client *bc)
{
  memset(bc, 0, sizeof(*bc));
  if (uv_loop_init(&bc->loop))
    return CHORD_EINTERNAL;
  bc->bridge = cq_bridge_create(&bc->loop);
  if (!bc->bridge)
    goto fail_loop;
  bc->cli = rpc_client_create(bc->bridge, NULL);
  if (!bc->cli)
    goto fail_bridge;
  return 0;

fail_bridge:
  cq_bridge_shutdown(bc->bridge, NULL, NULL);
  uv_run(&bc->loop, UV_RUN_DEFAULT);
fail_loop:
  uv_loop_close(&bc->loop);
  return CHORD_ENOMEM;
}

static void client_on_done(void *ud)
{
  struct bench_client *bc = ud;
  cq_bridge_shutdown(bc->bridge, NULL, NULL);
}

/* Shuts the client and its bridge down and closes the loop. 0, or
 * CHORD_EINTERNAL when the loop did not close cleanly. */
static int client_close(struct bench_client *bc)
{
  rpc_client_shutdown(bc->cli, client_on_done, bc);
  uv_run(&bc->loop, UV_RUN_DEFAULT);
  return uv_loop_close(&bc->loop) ? CHORD_EINTERNAL : 0;
}

static int async_start(struct async_run *a, struct async_slot *sl);

/* Records a finished call and keeps the slot busy while calls remain. */
static void async_on_done(struct rpc_result *r, void *ud)
{
  struct async_slot *sl = ud;
  struct async_run *a = sl->run;
  uint64_t t = uv_hrtime();

  if (r->status.code != GRPC_STATUS_OK) {
    if (a->errors++ == 0)
      a->first_error = r->status;
  }
  if (a->lat)
    a->lat[a->done] = t - sl->t0;
  a->done++;
  while (a->started < a->want && async_start(a, sl) != 0) {
    /* Counted as a finished, failed call: it never went out. */
    if (a->lat)
      a->lat[a->done] = 0;
    a->done++;
  }
  if (a->done == a->want)
    uv_stop(&a->bc->loop);
}

static int async_start(struct async_run *a, struct async_slot *sl)
{
  struct rpc_req r = *a->tmpl;
  int rc;
  r.deadline = rpc_deadline_in(BENCH_DEADLINE_MS);
  a->started++;
  sl->t0 = uv_hrtime();
  rc = rpc_client_call(a->bc->cli, &r, async_on_done, sl);
  if (rc && a->errors++ == 0) {
    a->first_error.code = rpc_err_to_status(rc);
    snprintf(a->first_error.message, sizeof(a->first_error.message),
             "cannot start a call: %s", chord_strerror(rc));
  }
  return rc;
}

/* Makes want calls with up to k in flight and runs the loop until every
 * one has finished. lat (want entries, or NULL) gets each latency in ns;
 * *elapsed the wall time in ns. 0, or CHORD_EUNAVAIL when any call
 * failed (the first failure is printed). */
static int async_phase(struct bench_client *bc, const struct rpc_req *tmpl,
                       struct async_slot *slots, uint64_t k, uint64_t want,
                       uint64_t *lat, uint64_t *elapsed)
{
  struct async_run a;
  uint64_t t0 = uv_hrtime();

  memset(&a, 0, sizeof(a));
  a.bc = bc;
  a.tmpl = tmpl;
  a.slots = slots;
  a.lat = lat;
  a.want = want;
  for (uint64_t i = 0; i < k && a.started < want; i++) {
    slots[i].run = &a;
    if (async_start(&a, &slots[i]) != 0)
      a.done++; /* the slot stays idle */
  }
  if (a.done < a.want)
    uv_run(&bc->loop, UV_RUN_DEFAULT);
  *elapsed = uv_hrtime() - t0;
  if (a.errors) {
    fprintf(stderr,
            "chord-rpc-bench: %llu of %llu async calls failed: "
            "%s: %s\n",
            (unsigned long long)a.errors, (unsigned long long)want,
            rpc_status_name(a.first_error.code), a.first_error.message);
    return CHORD_EUNAVAIL;
  }
  return 0;
}

/* ---- sync client (main thread) ------------------------------------------ */

/* Makes want calls one after another. lat (want entries, or NULL) gets
 * each latency in ns, *elapsed the wall time in ns. 0, or the first
 * failure's code (printed). */
static int sync_phase(struct rpc_client *cli, const struct rpc_req *tmpl,
                      uint64_t size, uint64_t want, uint64_t *lat,
                      uint64_t *elapsed)
{
  uint64_t t0 = uv_hrtime();
  struct rpc_result res;
  int rc = 0;

  for (uint64_t i = 0; i < want; i++) {
    struct rpc_req r = *tmpl;
    uint64_t t = uv_hrtime();
    r.deadline = rpc_deadline_in(BENCH_DEADLINE_MS);
    rc = rpc_client_call_sync(cli, &r, &res);
    if (lat)
      lat[i] = uv_hrtime() - t;
    if (!rc && ((Chord__V1__PingResponse *)res.resp)->payload.len != size) {
      snprintf(res.status.message, sizeof(res.status.message),
               "the echo has %zu bytes, not %llu",
               ((Chord__V1__PingResponse *)res.resp)->payload.len,
               (unsigned long long)size);
      rc = CHORD_EPROTO;
    }
    if (rc) {
      fprintf(stderr, "chord-rpc-bench: sync call %llu failed: %s: %s\n",
              (unsigned long long)i, chord_strerror(rc), res.status.message);
      rpc_result_clear(&res);
      break;
    }
    rpc_result_clear(&res);
  }
  *elapsed = uv_hrtime() - t0;
  return rc;
}

/* ---- statistics and output ---------------------------------------------- */

static int cmp_u64(const void *pa, const void *pb)
{
  uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
  return (a > b) - (a < b);
}

static int cmp_double(const void *pa, const void *pb)
{
  double a = *(const double *)pa, b = *(const double *)pb;
  return (a > b) - (a < b);
}

/* The p-th percentile (nearest rank) of sorted[0..n), ns -> us. */
static double pct_us(const uint64_t *sorted, uint64_t n, unsigned p)
{
  uint64_t rank = (n * p + 99) / 100;
  if (rank == 0)
    rank = 1;
  return (double)sorted[rank - 1] / 1000.0;
}

static double rate(uint64_t calls, uint64_t ns)
{
  return ns ? (double)calls * 1e9 / (double)ns : 0.0;
}

/* The median of field off over r[0..n) (mean of the middle two when n is
 * even). */
static double median_of(const struct round_figs *r, uint64_t n, size_t off)
{
  double v[BENCH_ROUNDS_MAX];
  for (uint64_t i = 0; i < n; i++)
    v[i] = *(const double *)((const char *)&r[i] + off);
  qsort(v, n, sizeof(v[0]), cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static void print_text(const char *label, const struct round_figs *f,
                       uint64_t k)
{
  printf("%-8s seq p50 %6.1f p90 %6.1f p99 %6.1f max %8.1f us "
         "%6.0f/s | async K=%llu %6.0f/s p50 %7.1f p99 %7.1f us\n",
         label, f->seq_p50, f->seq_p90, f->seq_p99, f->seq_max, f->seq_rate,
         (unsigned long long)k, f->async_rate, f->async_p50, f->async_p99);
}

static void print_json_figs(const struct round_figs *f)
{
  printf("{\"seq\": {\"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, "
         "\"max_us\": %.1f, \"calls_per_s\": %.0f}, "
         "\"async\": {\"calls_per_s\": %.0f, \"p50_us\": %.1f, "
         "\"p99_us\": %.1f}}",
         f->seq_p50, f->seq_p90, f->seq_p99, f->seq_max, f->seq_rate,
         f->async_rate, f->async_p50, f->async_p99);
}

/* ---- main --------------------------------------------------------------- */

static void usage(FILE *out)
{
  fprintf(out,
          "usage: chord-rpc-bench [--count N] [--warmup W] [--size BYTES]\n"
          "                       [--concurrency K] [--rounds R] [--json]\n"
          "\n"
          "Round trips of chord.v1.Node/Ping on 127.0.0.1 against an\n"
          "in-process server: N sequential sync calls after W warm-up calls\n"
          "(p50/p90/p99/max and calls/s), then N async calls with K in\n"
          "flight (calls/s, p50, p99), for R rounds, and the median of each\n"
          "figure across rounds.\n"
          "\n"
          "  --count N         measured calls per phase and round (20000)\n"
          "  --warmup W        warm-up calls before each phase (1000)\n"
          "  --size BYTES      Ping payload size (32)\n"
          "  --concurrency K   async calls in flight (64)\n"
          "  --rounds R        rounds, 1 to %d (5)\n"
          "  --json            one JSON object on standard output\n",
          BENCH_ROUNDS_MAX);
}

/* Fills o from argv. 0, 1 when --help was printed, or 2 on bad usage. */
static int parse_args(int argc, char **argv, struct bench_opts *o)
{
  enum { O_COUNT, O_WARMUP, O_SIZE, O_CONC, O_ROUNDS, O_JSON, O_HELP };
  static const struct option opts[] = {
      {"count", required_argument, NULL, O_COUNT},
      {"warmup", required_argument, NULL, O_WARMUP},
      {"size", required_argument, NULL, O_SIZE},
      {"concurrency", required_argument, NULL, O_CONC},
      {"rounds", required_argument, NULL, O_ROUNDS},
      {"json", no_argument, NULL, O_JSON},
      {"help", no_argument, NULL, O_HELP},
      {NULL, 0, NULL, 0}};
  int c;

  o->count = 20000;
  o->warmup = 1000;
  o->size = 32;
  o->concurrency = 64;
  o->rounds = 5;
  o->json = false;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    int bad = 0;
    switch (c) {
    case O_COUNT:
      bad = units_parse_uint(optarg, 1, 100000000, &o->count);
      break;
    case O_WARMUP:
      bad = units_parse_uint(optarg, 0, 100000000, &o->warmup);
      break;
    case O_SIZE: bad = units_parse_uint(optarg, 0, 16u << 20, &o->size); break;
    case O_CONC:
      bad = units_parse_uint(optarg, 1, 100000, &o->concurrency);
      break;
    case O_ROUNDS:
      bad = units_parse_uint(optarg, 1, BENCH_ROUNDS_MAX, &o->rounds);
      break;
    case O_JSON: o->json = true; break;
    case O_HELP: usage(stdout); return 1;
    default: usage(stderr); return 2;
    }
    if (bad) {
      fprintf(stderr, "chord-rpc-bench: bad value for --%s: %s\n", opts[c].name,
              optarg);
      return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "chord-rpc-bench: unexpected argument %s\n", argv[optind]);
    return 2;
  }
  return 0;
}

/* Runs one round: a sync phase then an async phase. */
static int run_round(const struct bench_opts *o, struct rpc_client *sync_cli,
                     struct bench_client *bc, const struct rpc_req *tmpl,
                     struct async_slot *slots, uint64_t *lat,
                     struct round_figs *f)
{
  uint64_t ns;
  int rc;

  rc = sync_phase(sync_cli, tmpl, o->size, o->warmup, NULL, &ns);
  if (!rc)
    rc = sync_phase(sync_cli, tmpl, o->size, o->count, lat, &ns);
  if (rc)
    return rc;
  qsort(lat, o->count, sizeof(*lat), cmp_u64);
  f->seq_p50 = pct_us(lat, o->count, 50);
  f->seq_p90 = pct_us(lat, o->count, 90);
  f->seq_p99 = pct_us(lat, o->count, 99);
  f->seq_max = pct_us(lat, o->count, 100);
  f->seq_rate = rate(o->count, ns);

  if (o->warmup) {
    rc = async_phase(bc, tmpl, slots, o->concurrency, o->warmup, NULL, &ns);
    if (rc)
      return rc;
  }
  rc = async_phase(bc, tmpl, slots, o->concurrency, o->count, lat, &ns);
  if (rc)
    return rc;
  qsort(lat, o->count, sizeof(*lat), cmp_u64);
  f->async_rate = rate(o->count, ns);
  f->async_p50 = pct_us(lat, o->count, 50);
  f->async_p99 = pct_us(lat, o->count, 99);
  return 0;
}

int main(int argc, char **argv)
{
  struct bench_opts o;
  struct bench_server srv;
  struct bench_client bc;
  struct rpc_client *sync_cli = NULL;
  struct round_figs figs[BENCH_ROUNDS_MAX], med;
  struct async_slot *slots = NULL;
  uint64_t *lat = NULL;
  uint8_t *payload = NULL;
  Chord__V1__PingRequest ping = CHORD__V1__PING_REQUEST__INIT;
  struct rpc_req tmpl;
  char target[64];
  int rc, exit_code = 1;

  rc = parse_args(argc, argv, &o);
  if (rc)
    return rc == 1 ? 0 : 2;
  lat = calloc(o.count, sizeof(*lat));
  slots = calloc(o.concurrency, sizeof(*slots));
  payload = malloc(o.size ? o.size : 1);
  if (!lat || !slots || !payload) {
    fprintf(stderr, "chord-rpc-bench: out of memory\n");
    goto fail_mem;
  }
  for (uint64_t i = 0; i < o.size; i++)
    payload[i] = (uint8_t)(i * 131 + 7);

  grpc_init();
  rc = server_start(&srv);
  if (rc) {
    fprintf(stderr, "chord-rpc-bench: cannot start the server: %s\n",
            chord_strerror(rc));
    goto fail_grpc;
  }
  snprintf(target, sizeof(target), "127.0.0.1:%d", srv.port);
  sync_cli = rpc_client_create(NULL, NULL);
  if (!sync_cli) {
    fprintf(stderr, "chord-rpc-bench: cannot create the sync client\n");
    goto fail_server;
  }
  rc = client_init(&bc);
  if (rc) {
    fprintf(stderr, "chord-rpc-bench: cannot create the async client: %s\n",
            chord_strerror(rc));
    goto fail_sync;
  }

  ping.payload.data = payload;
  ping.payload.len = o.size;
  memset(&tmpl, 0, sizeof(tmpl));
  tmpl.target = target;
  tmpl.msg = &ping.base;
  tmpl.resp_desc = &chord__v1__ping_response__descriptor;
  for (unsigned i = 0; i < NODE_SVC->n_methods; i++)
    if (strcmp(NODE_SVC->methods[i].name, "Ping") == 0)
      tmpl.method = rpc_method_path(NODE_SVC, i);
  if (!tmpl.method || strcmp(tmpl.method, "/chord.v1.Node/Ping") != 0) {
    fprintf(stderr, "chord-rpc-bench: no Ping method\n");
    goto fail_client;
  }

  if (!o.json)
    printf("chord-rpc-bench: %s, %llu-byte payload, %llu calls per phase "
           "after %llu warm-up, %llu rounds\n",
           target, (unsigned long long)o.size, (unsigned long long)o.count,
           (unsigned long long)o.warmup, (unsigned long long)o.rounds);
  for (uint64_t i = 0; i < o.rounds; i++) {
    char label[32];
    rc = run_round(&o, sync_cli, &bc, &tmpl, slots, lat, &figs[i]);
    if (rc)
      goto fail_client;
    if (!o.json) {
      snprintf(label, sizeof(label), "round %llu", (unsigned long long)i + 1);
      print_text(label, &figs[i], o.concurrency);
      fflush(stdout);
    }
  }
  med.seq_p50 = median_of(figs, o.rounds, offsetof(struct round_figs, seq_p50));
  med.seq_p90 = median_of(figs, o.rounds, offsetof(struct round_figs, seq_p90));
  med.seq_p99 = median_of(figs, o.rounds, offsetof(struct round_figs, seq_p99));
  med.seq_max = median_of(figs, o.rounds, offsetof(struct round_figs, seq_max));
  med.seq_rate =
      median_of(figs, o.rounds, offsetof(struct round_figs, seq_rate));
  med.async_rate =
      median_of(figs, o.rounds, offsetof(struct round_figs, async_rate));
  med.async_p50 =
      median_of(figs, o.rounds, offsetof(struct round_figs, async_p50));
  med.async_p99 =
      median_of(figs, o.rounds, offsetof(struct round_figs, async_p99));
  if (o.json) {
    printf("{\"target\": \"%s\", \"size\": %llu, \"count\": %llu, "
           "\"warmup\": %llu, \"concurrency\": %llu, \"rounds\": [",
           target, (unsigned long long)o.size, (unsigned long long)o.count,
           (unsigned long long)o.warmup, (unsigned long long)o.concurrency);
    for (uint64_t i = 0; i < o.rounds; i++) {
      if (i)
        fputs(", ", stdout);
      print_json_figs(&figs[i]);
    }
    printf("], \"median\": ");
    print_json_figs(&med);
    printf("}\n");
  } else {
    print_text("median", &med, o.concurrency);
  }
  exit_code = 0;

fail_client:
  if (client_close(&bc))
    fprintf(stderr, "chord-rpc-bench: the client loop did not close\n");
fail_sync:
  rpc_client_shutdown(sync_cli, NULL, NULL);
fail_server:
  if (server_join(&srv)) {
    fprintf(stderr, "chord-rpc-bench: the server loop did not close\n");
    exit_code = 1;
  }
fail_grpc:
  grpc_shutdown();
fail_mem:
  free(payload);
  free(slots);
  free(lat);
  return exit_code;
}
