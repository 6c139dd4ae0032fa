/* SPDX-License-Identifier: MIT */
/* chordctl bench: drives a running cluster with a fixed number of requests
 * in flight (asynchronous calls on a libuv loop, not one thread each) and
 * reports throughput, latency percentiles, errors by status and hops. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chord/v1/node.pb-c.h"
#include "chord/v1/supernode.pb-c.h"
#include "client/bench.h"
#include "client/output.h"
#include "client/ringview.h"
#include "common/cq_bridge.h"
#include "common/daemon.h"
#include "common/units.h"
#include "common/err.h"
#include "common/name.h"

enum bench_op { OP_WRITE, OP_READ, OP_MIXED, OP_PING };

struct bench {
  struct chordctl *ctl;
  uv_loop_t loop;
  struct cq_bridge *bridge;
  struct rpc_client *cli;
  uv_timer_t progress; /* progress line on a terminal; data = this */
  enum bench_op op;
  char **targets; /* node addresses requests go to: ctl->view's */
  size_t ntargets;
  bool direct; /* a request naming a file goes to its owner in the view */
  uint64_t count, warmup; /* measured and unmeasured requests */
  unsigned concurrency;
  size_t size, names;
  uint8_t *content;      /* size bytes written by writes */
  uint64_t issued, done; /* across warm-up and measured requests */
  uint64_t rng;
  double *lat_us; /* measured latencies */
  uint64_t nlat;
  uint64_t errors[GRPC_STATUS_UNAUTHENTICATED + 1];
  char first_error[RPC_MESSAGE_MAX + 32];
  uint64_t hops_sum, hops_n;
  double t_start, t_end; /* seconds, of the measured part */
  bool stopping, tty;
  bool prefill;            /* write every name once, in order */
  uint64_t prefill_failed; /* of those writes (first_error has the first) */
};

struct bench_req {
  struct bench *b;
  double t0;
  bool measured;
  bool is_read, is_ping;
};

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(struct bench *b)
{
  uint64_t x = b->rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  b->rng = x;
  return x;
}

static const char *op_name(enum bench_op op)
{
  static const char *const names[] = {"write", "read", "mixed", "ping"};
  return names[op];
}

static void issue(struct bench *b);

static void on_done(struct rpc_result *r, void *ud)
{
  struct bench_req *q = ud;
  struct bench *b = q->b;
  double t = now_s();
  b->done++;
  if (q->measured) {
    b->lat_us[b->nlat++] = (t - q->t0) * 1e6;
    b->t_end = t;
    if (r->status.code != GRPC_STATUS_OK) {
      unsigned c = (unsigned)r->status.code;
      if (c > GRPC_STATUS_UNAUTHENTICATED)
        c = GRPC_STATUS_UNKNOWN;
      if (!b->first_error[0])
        snprintf(b->first_error, sizeof(b->first_error), "%s: %s",
                 rpc_status_name(r->status.code), r->status.message);
      b->errors[c]++;
    } else if (r->resp && !q->is_ping) {
      uint32_t hops = q->is_read ? ((Chord__V1__ReadResponse *)r->resp)->hops
                                 : ((Chord__V1__WriteResponse *)r->resp)->hops;
      b->hops_sum += hops;
      b->hops_n++;
    }
  } else if (b->prefill && r->status.code != GRPC_STATUS_OK) {
    if (!b->prefill_failed)
      snprintf(b->first_error, sizeof(b->first_error), "%s: %s",
               rpc_status_name(r->status.code), r->status.message);
    b->prefill_failed++;
  }
  free(q);
  if (b->issued < b->warmup + b->count)
    issue(b);
  else if (b->done == b->issued && !b->stopping) {
    b->stopping = true;
    uv_stop(&b->loop);
  }
}

/* Starts the next request to a random node. */
static void issue(struct bench *b)
{
  struct bench_req *q = calloc(1, sizeof(*q));
  char name[64];
  if (!q)
    abort(); /* a benchmark that cannot allocate 40 bytes cannot report */
  q->b = b;
  q->measured = b->issued >= b->warmup;
  if (q->measured && b->issued == b->warmup)
    b->t_start = now_s();
  b->issued++;
  const char *target = b->targets[rnd(b) % b->ntargets];
  int len =
      snprintf(name, sizeof(name), "bench-%" PRIu64,
               b->prefill ? (b->issued - 1) % b->names : rnd(b) % b->names);
  enum bench_op op = b->op;
  if (op == OP_MIXED)
    op = rnd(b) % 2 ? OP_READ : OP_WRITE;
  if (b->direct && op != OP_PING)
    target = b->targets[ringview_owner(&b->ctl->view, name, (size_t)len)];
  Chord__V1__WriteRequest w = CHORD__V1__WRITE_REQUEST__INIT;
  Chord__V1__File f = CHORD__V1__FILE__INIT;
  Chord__V1__ReadRequest rd = CHORD__V1__READ_REQUEST__INIT;
  Chord__V1__PingRequest p = CHORD__V1__PING_REQUEST__INIT;
  struct rpc_req r = {.target = target,
                      .deadline = rpc_deadline_in(b->ctl->timeout_ms)};
  switch (op) {
  case OP_WRITE:
    f.name = name;
    f.content.data = b->content;
    f.content.len = b->size;
    w.file = &f;
    r.method = "/chord.v1.Node/Write";
    r.msg = &w.base;
    r.resp_desc = &chord__v1__write_response__descriptor;
    break;
  case OP_READ:
    rd.name = name;
    r.method = "/chord.v1.Node/Read";
    r.msg = &rd.base;
    r.resp_desc = &chord__v1__read_response__descriptor;
    q->is_read = true;
    break;
  default:
    r.method = "/chord.v1.Node/Ping";
    r.msg = &p.base;
    r.resp_desc = &chord__v1__ping_response__descriptor;
    q->is_ping = true;
    break;
  }
  q->t0 = now_s();
  int rc = rpc_client_call(b->cli, &r, on_done, q);
  if (rc) {
    struct rpc_result res;
    memset(&res, 0, sizeof(res));
    res.status.code = rpc_err_to_status(rc);
    snprintf(res.status.message, sizeof(res.status.message), "%s",
             chord_strerror(rc));
    on_done(&res, q);
  }
}

static void on_progress(uv_timer_t *t)
{
  struct bench *b = t->data;
  double el = now_s() - b->t_start;
  uint64_t measured = b->done > b->warmup ? b->done - b->warmup : 0;
  fprintf(stderr, "\rbench: %" PRIu64 "/%" PRIu64 " requests, %.0f/s   ",
          measured, b->count, el > 0 && measured ? (double)measured / el : 0);
}

static int dbl_cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(const double *v, uint64_t n, double p)
{
  if (!n)
    return 0;
  double idx = p * (double)(n - 1);
  return v[(uint64_t)(idx + 0.5)];
}

/* The addresses to spread requests over: --node, or every member of the
 * ring view (which --route direct also sends each request by). */
static int get_targets(struct bench *b)
{
  int rc = ringview_load(b->ctl, "bench", &b->ctl->view);
  if (rc)
    return rc;
  b->targets = b->ctl->view.addrs;
  b->ntargets = b->ctl->view.n;
  b->direct = b->ctl->route == ROUTE_DIRECT && b->ctl->view.ids;
  return 0;
}

/* Runs `n` requests of op with conc in flight; measured ones after skip. */
static void run_phase(struct bench *b, enum bench_op op, uint64_t skip,
                      uint64_t n)
{
  b->op = op;
  b->issued = b->done = 0;
  b->warmup = skip;
  b->count = n;
  b->stopping = false;
  b->t_start = now_s();
  uint64_t first = b->concurrency < skip + n ? b->concurrency : skip + n;
  for (uint64_t i = 0; i < first; i++)
    issue(b);
  if (b->tty && n >= 1000)
    uv_timer_start(&b->progress, on_progress, 1000, 1000);
  uv_run(&b->loop, UV_RUN_DEFAULT);
  uv_timer_stop(&b->progress);
  if (b->tty && n >= 1000)
    fprintf(stderr, "\r%60s\r", "");
}

static void on_client_down(void *ud)
{
  struct bench *b = ud;
  cq_bridge_shutdown(b->bridge, NULL, NULL);
}

static void report(struct bench *b)
{
  struct chordctl *ctl = b->ctl;
  uint64_t nerr = 0;
  qsort(b->lat_us, b->nlat, sizeof(double), dbl_cmp);
  double secs = b->t_end > b->t_start ? b->t_end - b->t_start : 0;
  double ops = secs > 0 ? (double)b->nlat / secs : 0, sum = 0;
  for (uint64_t i = 0; i < b->nlat; i++)
    sum += b->lat_us[i];
  for (size_t c = 0; c <= GRPC_STATUS_UNAUTHENTICATED; c++)
    nerr += b->errors[c];
  double hops = b->hops_n ? (double)b->hops_sum / (double)b->hops_n : 0;
  double p50 = pct(b->lat_us, b->nlat, .5), p90 = pct(b->lat_us, b->nlat, .9);
  double p99 = pct(b->lat_us, b->nlat, .99);
  double mx = b->nlat ? b->lat_us[b->nlat - 1] : 0;
  if (ctl->json) {
    printf("{\"command\": \"bench\", \"op\": \"%s\", \"count\": %" PRIu64
           ", \"concurrency\": %u, \"size\": %zu, \"nodes\": %zu, "
           "\"seconds\": %.3f, \"ops_per_s\": %.1f, \"mean_us\": %.1f, "
           "\"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, "
           "\"max_us\": %.1f, \"ok\": %" PRIu64 ", \"errors\": {",
           op_name(b->op), b->nlat, b->concurrency, b->size, b->ntargets, secs,
           ops, b->nlat ? sum / (double)b->nlat : 0, p50, p90, p99, mx,
           b->nlat - nerr);
    const char *sep = "";
    for (size_t c = 0; c <= GRPC_STATUS_UNAUTHENTICATED; c++) {
      if (b->errors[c]) {
        printf("%s\"%s\": %" PRIu64, sep, rpc_status_name((grpc_status_code)c),
               b->errors[c]);
        sep = ", ";
      }
    }
    printf("}, \"mean_hops\": %.3f, \"route\": \"%s\"}\n", hops,
           b->direct ? "direct" : "ring");
    return;
  }
  printf("bench %s: %" PRIu64 " requests, %u in flight, %zu bytes, %zu "
         "node(s), %s route, %.2f s\n",
         op_name(b->op), b->nlat, b->concurrency, b->size, b->ntargets,
         b->direct ? "direct" : "ring", secs);
  printf("  throughput  %.0f requests/s\n", ops);
  printf("  latency     p50 %.0f us  p90 %.0f us  p99 %.0f us  max %.0f us\n",
         p50, p90, p99, mx);
  if (b->op != OP_PING)
    printf("  hops        %.2f on average\n", hops);
  if (nerr) {
    printf("  errors      %" PRIu64 ":", nerr);
    for (size_t c = 0; c <= GRPC_STATUS_UNAUTHENTICATED; c++)
      if (b->errors[c])
        printf(" %s %" PRIu64, rpc_status_name((grpc_status_code)c),
               b->errors[c]);
    printf(" (first: %s)\n", b->first_error);
  } else {
    printf("  errors      none\n");
  }
}

/* Reads bench's options from argv[1..argc) into b (which holds the
 * defaults) and sets *lat_file to --latencies, if given. 0, or
 * OUTPUT_EXIT_USAGE after saying what is wrong. */
static int parse_options(struct bench *b, int argc, char **argv,
                         const char **lat_file)
{
  static const struct option opts[] = {
      {"op", required_argument, NULL, 'o'},
      {"count", required_argument, NULL, 'n'},
      {"concurrency", required_argument, NULL, 'c'},
      {"size", required_argument, NULL, 's'},
      {"names", required_argument, NULL, 'k'},
      {"warmup", required_argument, NULL, 'w'},
      {"latencies", required_argument, NULL, 'l'},
      {NULL, 0, NULL, 0}};
  struct chordctl *ctl = b->ctl;
  uint64_t v;
  int c;

  optind = 1;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'o':
      if (!strcmp(optarg, "write"))
        b->op = OP_WRITE;
      else if (!strcmp(optarg, "read"))
        b->op = OP_READ;
      else if (!strcmp(optarg, "mixed"))
        b->op = OP_MIXED;
      else if (!strcmp(optarg, "ping"))
        b->op = OP_PING;
      else
        return output_usage(ctl, "bench",
                            "--op takes write, read, mixed or ping");
      break;
    case 'n':
    case 'c':
    case 'k':
    case 'w':
      if (units_parse_uint(optarg, c == 'w' ? 0 : 1,
                           c == 'c' ? 4096 : 100000000, &v))
        return output_usage(ctl, "bench", "bad number: %s", optarg);
      if (c == 'n')
        b->count = v;
      else if (c == 'c')
        b->concurrency = (unsigned)v;
      else if (c == 'k')
        b->names = (size_t)v;
      else
        b->warmup = v;
      break;
    case 's':
      if (units_parse_size(optarg, 0,
                           ctl->max_size < CHORDCTL_MAX_CHUNK
                               ? ctl->max_size
                               : CHORDCTL_MAX_CHUNK,
                           &v))
        return output_usage(ctl, "bench",
                            "--size must be a size up to --max-size and 64M");
      b->size = (size_t)v;
      break;
    case 'l': *lat_file = optarg; break;
    default: return output_usage(ctl, "bench", "unknown option");
    }
  }
  if (optind < argc)
    return output_usage(ctl, "bench", "unexpected argument %s", argv[optind]);
  return 0;
}

/* Writes every measured latency, in microseconds, one a line, to path.
 * 0, or OUTPUT_EXIT_FAILURE after saying it could not. */
static int save_latencies(struct bench *b, const char *path)
{
  FILE *f = fopen(path, "w");
  if (!f) {
    output_error(b->ctl, "bench: cannot write %s", path);
    return OUTPUT_EXIT_FAILURE;
  }
  for (uint64_t i = 0; i < b->nlat; i++)
    fprintf(f, "%.1f\n", b->lat_us[i]);
  if (fclose(f)) {
    output_error(b->ctl, "bench: cannot write %s", path);
    return OUTPUT_EXIT_FAILURE;
  }
  return 0;
}

/* Runs the bench command: parses its options (argv[0] is "bench"), finds
 * the target nodes (--node, or every member from the supernode), writes
 * the names first for read and mixed, runs the measured requests on its
 * own loop and client, and prints the report. Returns an exit code (enum
 * output_exit): OUTPUT_EXIT_UNREACHABLE when every request failed. Uses
 * ctl->rpc only to list the members. Main thread. */
int bench_run(struct chordctl *ctl, int argc, char **argv)
{
  struct bench *b = calloc(1, sizeof(*b));
  const char *lat_file = NULL;
  int ex = OUTPUT_EXIT_OK;
  if (!b) {
    output_error(ctl, "bench: out of memory");
    return OUTPUT_EXIT_FAILURE;
  }
  b->ctl = ctl;
  b->op = OP_READ;
  b->count = 10000;
  b->concurrency = 1;
  b->size = 1024;
  b->names = 1000;
  b->warmup = 100;
  b->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
  ex = parse_options(b, argc, argv, &lat_file);
  if (ex)
    goto out;
  b->tty = isatty(2) && !ctl->json;
  b->content = malloc(b->size ? b->size : 1);
  b->lat_us = malloc((b->count ? b->count : 1) * sizeof(double));
  if (!b->content || !b->lat_us) {
    output_error(ctl, "bench: out of memory");
    ex = OUTPUT_EXIT_FAILURE;
    goto out;
  }
  for (size_t i = 0; i < b->size; i++)
    b->content[i] = (uint8_t)rnd(b);
  ex = get_targets(b);
  if (ex)
    goto out;

  if (uv_loop_init(&b->loop)) {
    ex = OUTPUT_EXIT_FAILURE;
    goto out;
  }
  b->bridge = cq_bridge_create(&b->loop);
  struct rpc_client_opts co = {.max_message = CHORDCTL_MAX_MESSAGE,
                               .auth = &ctl->auth};
  b->cli = b->bridge ? rpc_client_create(b->bridge, &co) : NULL;
  if (!b->cli) {
    output_error(ctl, "bench: cannot set up the RPC client");
    ex = OUTPUT_EXIT_FAILURE;
    goto out_loop;
  }
  uv_timer_init(&b->loop, &b->progress);
  b->progress.data = b;

  enum bench_op op = b->op;
  uint64_t count = b->count, warmup = b->warmup;
  if (op == OP_READ || op == OP_MIXED) {
    /* Reads need the names to exist: write each once, unmeasured. */
    b->prefill = true;
    run_phase(b, OP_WRITE, b->names, 0);
    b->prefill = false;
    if (b->prefill_failed) {
      /* The reads of those names would only measure NOT_FOUND. */
      output_error(ctl,
                   "bench: %llu of %llu names could not be written "
                   "first (%s)",
                   (unsigned long long)b->prefill_failed,
                   (unsigned long long)b->names, b->first_error);
      ex = OUTPUT_EXIT_FAILURE;
      goto stop;
    }
  }
  run_phase(b, op, warmup, count);
  report(b);
  if (lat_file)
    ex = save_latencies(b, lat_file);
  uint64_t nerr = 0;
  for (size_t k = 0; k <= GRPC_STATUS_UNAUTHENTICATED; k++)
    nerr += b->errors[k];
  if (nerr == b->nlat && b->nlat)
    ex = OUTPUT_EXIT_UNREACHABLE; /* nothing worked */

stop:
  uv_close((uv_handle_t *)&b->progress, NULL);
  rpc_client_shutdown(b->cli, on_client_down, b);
  uv_run(&b->loop, UV_RUN_DEFAULT);
out_loop:
  if (b->bridge && !b->cli) {
    cq_bridge_shutdown(b->bridge, NULL, NULL);
    uv_run(&b->loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(&b->loop);
out:
  free(b->content);
  free(b->lat_us);
  free(b);
  return ex;
}
