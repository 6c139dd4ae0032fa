/* SPDX-License-Identifier: MIT */
/* chordctl, the command line of the chord file store: global flags, the
 * table of subcommands and their help, and the gRPC set-up around the one
 * command a run executes. */
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>

#include "client/serve.h"
#include "client/args.h"
#include "client/bench.h"
#include "client/chordctl.h"
#include "client/commands.h"
#include "common/escape.h"
#include "client/output.h"
#include "common/addr.h"
#include "common/name.h"
#include "common/units.h"

/* One subcommand. To add one, write its function and add a row. */
struct command {
  const char *name;
  int (*run)(struct chordctl *ctl, int argc, char **argv);
  bool net;             /* talks to the cluster: needs gRPC and a client */
  const char *synopsis; /* its arguments, for usage lines */
  const char *summary;  /* one line for the command list */
  const char *details;  /* the body of `help NAME` */
};

static int run_help(struct chordctl *ctl, int argc, char **argv);

static const struct command commands[] = {
    {"write", commands_write, true, "NAME [FILE]",
     "store FILE (or standard input) as NAME",
     "Stores the content of FILE, or of standard input when FILE is absent\n"
     "or -, as the file NAME (1 to 1024 bytes of UTF-8; names starting with\n"
     "@chunk/ are reserved). Content up to --chunk-size goes as one file.\n"
     "Larger content is streamed as chunks (--window of them in flight,\n"
     "through every node the supernode lists) and then a manifest, the\n"
     "commit point: readers see the old file or the new one, never a mix,\n"
     "and a write cut short leaves no file (its chunks are collected).\n"
     "Memory stays near --window x --chunk-size whatever the size. Content\n"
     "over --max-size is refused (exit 4). Prints the node that owns NAME,\n"
     "the hops the request took and the copies: how many nodes (the owner\n"
     "included) held the write when it was acknowledged, the replica count\n"
     "unless the ring has fewer nodes; for a chunked file also the chunks,\n"
     "seconds and MB/s. A progress line shows on a terminal (not with\n"
     "--quiet). Put -- before a NAME that starts with a dash.\n"
     "\n"
     "With --json: {command, name, size, owner {id, addr}, hops, version,\n"
     "copies, chunks, seconds, mb_per_s} (chunks 0 for a plain file).\n"},
    {"read", commands_read, true, "NAME [-o FILE]",
     "print the file NAME, or save it to FILE",
     "Fetches the file NAME. Without -o (or with -o -) its content goes to\n"
     "standard output, byte for byte and nothing else, so\n"
     "`chordctl read NAME > out` is exact. With -o FILE the content is\n"
     "written to a temporary file next to FILE, synced and renamed over\n"
     "FILE, so FILE is never left half-written; then a line tells where it\n"
     "came from. A chunked file is fetched --window chunks at a time, each\n"
     "checked against its SHA-256 and the whole against the manifest's; a\n"
     "missing or corrupt chunk fails the read (exit 5) and leaves FILE\n"
     "untouched. Files over --max-size are refused (exit 4).\n"
     "\n"
     "With --json: {command, name, size, owner {id, addr}, hops, version,\n"
     "chunks, seconds, mb_per_s} plus \"output\": FILE with -o FILE, or the\n"
     "content in base64 as \"content_base64\" without -o (a chunked file\n"
     "needs -o; -o - is refused with --json).\n"
     "\n"
     "Options:\n"
     "  -o, --output FILE   save the content to FILE\n"},
    {"delete", commands_delete, true, "NAME", "remove the file NAME",
     "Removes the file NAME from the ring (a tombstone, replicated like a\n"
     "write) and prints the owner, the hops and the copies that hold the\n"
     "tombstone. Exit 1 when there is no such file.\n"
     "\n"
     "With --json: {command, name, owner {id, addr}, hops, version,\n"
     "copies}.\n"},
    {"lookup", commands_lookup, true, "NAME",
     "show the owner of NAME and the path to it",
     "Shows the key of NAME (SHA-1, 40 hex digits), the node that owns it,\n"
     "the hops a request takes and the path: every node visited, the\n"
     "first one first and the owner last, and the route the request took\n"
     "(direct: to the owner in the member list, see --route; ring: through\n"
     "a node the supernode picked; node: --node). Reads or writes nothing.\n"
     "\n"
     "With --json: {command, name, key, owner {id, addr}, hops, route,\n"
     "path [{id, addr}]}.\n"},
    {"bench", bench_run, true,
     "[--op OP] [--count N] [--concurrency C] [--size S]",
     "measure throughput, latency and hops against the cluster",
     "Sends --count requests (10000), each to its name's owner in the\n"
     "member list (the direct route; with --route ring, through random\n"
     "members; or only --node) with --concurrency requests in flight (1),\n"
     "driven\n"
     "asynchronously on one thread, after --warmup unmeasured ones (100),\n"
     "and reports requests per second, latency p50/p90/p99/max, errors by\n"
     "status and the mean hop count. read and mixed first write each of\n"
     "the --names names (1000) once; mixed is half reads, half writes;\n"
     "ping is one RPC to one node, the cost of a single hop. A progress\n"
     "line shows on a terminal. Exit 3 when every request failed.\n"
     "\n"
     "With --json: {command, op, count, concurrency, size, nodes, seconds,\n"
     "ops_per_s, mean_us, p50_us, p90_us, p99_us, max_us, ok, errors\n"
     "{STATUS: n}, mean_hops, route}.\n"
     "\n"
     "Options:\n"
     "  --op OP             write, read, mixed or ping (read)\n"
     "  --count N           measured requests (10000)\n"
     "  --concurrency C     requests in flight (1)\n"
     "  --size SIZE         bytes per written file (1024)\n"
     "  --names N           distinct names (1000)\n"
     "  --warmup N          unmeasured requests first (100)\n"
     "  --latencies FILE    write every latency (microseconds), one a line\n"
     "\n" UNITS_HELP},
    {"ring", commands_ring, true, "", "list the ring's members and their load",
     "Lists the members the supernode knows, in ring order (by id), with\n"
     "the keys each holds as primary (owner) and as replica, its bytes,\n"
     "the keys its last repair found a replica missing (UNDER) and\n"
     "whether repair is running; then the totals: files (primaries),\n"
     "copies (every live key held) and bytes. A member that does not\n"
     "answer is shown as unreachable; that is not an error. With --node,\n"
     "walks the ring from that node along the successors instead, without\n"
     "the supernode.\n"
     "\n"
     "With --json: {command, nodes [{id, addr, reachable, joined, keys,\n"
     "primary_keys, replica_keys, under_replicated, repair_running, bytes}\n"
     "or {id, addr, reachable: false, error {status, message}}], count,\n"
     "unreachable, files, keys, bytes}.\n"},
    {"status", commands_status, true, "[HOST:PORT] [--all-fingers]",
     "show one node's state",
     "Shows the state of the node at HOST:PORT (default: --node): its id,\n"
     "whether it has joined, its predecessor, successor list and fingers,\n"
     "the keys (primary and replica) and tombstones it holds, its bytes,\n"
     "the replica count, under-replicated keys, repair's state and\n"
     "totals, its version and uptime. Fingers are listed once per\n"
     "distinct node, with the lowest index that points to it.\n"
     "\n"
     "With --json: {command, node {id, addr}, joined, version, uptime_ms,\n"
     "keys, bytes, replicas, primary_keys, replica_keys, tombstones,\n"
     "under_replicated, repair {running, rounds, pushed, pulled,\n"
     "bytes_sent}, predecessor, successors [..], fingers [{index, node}],\n"
     "dead [..], calls_received, maintenance_sent}.\n"
     "\n"
     "Options:\n"
     "  --all-fingers   list all 160 finger entries\n"},
    {"health", commands_health, true, "[HOST:PORT]",
     "check that a daemon is serving",
     "Asks the daemon at HOST:PORT (default: --node, else the supernode)\n"
     "whether it is serving, through the standard gRPC health service\n"
     "(grpc.health.v1.Health/Check, service \"\"). Works with a node and\n"
     "with the supernode, so it can be a container's health check.\n"
     "Exit 0 when SERVING, 3 when the daemon cannot be reached or does\n"
     "not answer within --timeout, 5 when it answers NOT_SERVING (or any\n"
     "other status).\n"
     "\n"
     "With --json: {command, addr, status, serving}.\n"},
    {"serve", serve_run, false, "[--listen HOST:PORT]",
     "serve the live ring page",
     "Serves a web page that draws the ring as a circle and refreshes\n"
     "itself every 2 s: each member at its id's angle with its key range,\n"
     "keys, bytes and health; the fingers and successors of the member\n"
     "clicked; the path of a lookup typed into the page. Open\n"
     "http://HOST:PORT/ (127.0.0.1:8080 by default). The page's data is\n"
     "this chordctl's own --json output (ring, status --all-fingers,\n"
     "lookup) at /api/ring, /api/status?node=H:P and /api/lookup?name=N,\n"
     "run with the same options (supernode, TLS, token). Runs until\n"
     "SIGINT or SIGTERM.\n"
     "\n"
     "Options:\n"
     "  --listen HOST:PORT  where to serve (127.0.0.1:8080)\n"},
    {"help", run_help, false, "[COMMAND]", "show this help or a command's",
     "Shows the general help, or the help of COMMAND.\n"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
  for (size_t i = 0; i < NCOMMANDS; i++) {
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  }
  return NULL;
}

/* ---- help --------------------------------------------------------------- */

static void print_usage(FILE *f)
{
  char line[64];
  fputs("Usage: chordctl [OPTIONS] COMMAND [ARGS]\n"
        "\n"
        "The command line of the chord file store.\n"
        "\n"
        "Commands:\n",
        f);
  for (size_t i = 0; i < NCOMMANDS; i++) {
    snprintf(line, sizeof(line), "%s %s", commands[i].name,
             commands[i].synopsis);
    if (strlen(line) > 28)
      fprintf(f, "  %s\n  %-28s %s\n", line, "", commands[i].summary);
    else
      fprintf(f, "  %-28s %s\n", line, commands[i].summary);
  }
  fputs("\n"
        "Options (before the command):\n"
        "  --supernode HOST:PORT  the supernode (default: "
        "$" CHORDCTL_SUPERNODE_ENV ", else\n"
        "                         " CHORDCTL_DEFAULT_SUPERNODE ")\n"
        "  --node HOST:PORT       talk to this node, without the supernode\n"
        "  --timeout DURATION     deadline of each call, a second more per\n"
        "                         MiB it sends (default 10s)\n"
        "  --json                 print one JSON object on standard output\n"
        "                         instead of text; errors stay on stderr\n"
        "  --max-size SIZE        largest file written or read, chunked or\n"
        "                         not (default 1T)\n"
        "  --chunk-size SIZE      files larger than this are stored as chunks\n"
        "                         of this size, 4K to 64M (default 1M; more\n"
        "                         for files over 65536 chunks)\n"
        "  --window N             chunks in flight at once, 1 to 64 (8)\n"
        "  --route direct|ring    direct: send a request naming a file\n"
        "                         straight to its owner in the member list\n"
        "                         (one round trip); ring: through a node the\n"
        "                         supernode picks, along the fingers\n"
        "                         ($" CHORDCTL_ROUTE_ENV "; default direct)\n"
        "  --ring-cache FILE      keep the member list in FILE between runs\n"
        "                         ($" CHORDCTL_RING_CACHE_ENV
        "; default: none)\n"
        "  --ring-ttl DURATION    how long a cached member list is used\n"
        "                         before it is fetched again (10s)\n"
        "  -q, --quiet            no progress line for big transfers\n"
        "  --token-file FILE      token sent with every call: the cluster's,\n"
        "                         or the client token ($CHORD_TOKEN_FILE)\n"
        "  --tls-cert FILE, --tls-key FILE, --tls-ca FILE\n"
        "                         mutual TLS: this client's certificate and\n"
        "                         key, and the cluster's CA, PEM\n"
        "                         ($CHORD_TLS_CERT, $CHORD_TLS_KEY,\n"
        "                         $CHORD_TLS_CA)\n"
        "  --tls-server-name NAME the name server certificates must carry\n"
        "                         ($CHORD_TLS_SERVER_NAME; default: the "
        "host)\n"
        "  -h, --help             show this help; COMMAND --help for a "
        "command\n"
        "  --version              show the version\n"
        "\n" UNITS_HELP "\n"
        "Exit status: 0 done, 1 no such file, 2 usage error, 3 cluster\n"
        "unreachable or timed out, 4 input refused (bad name, too large),\n"
        "5 any other failure, 6 not allowed (no token, a wrong one).\n"
        "Errors are one line on standard error.\n",
        f);
}

static void print_command_help(const struct command *c, FILE *f)
{
  fprintf(f, "Usage: chordctl [OPTIONS] %s%s%s\n\n%s", c->name,
          c->synopsis[0] ? " " : "", c->synopsis, c->details);
}

static int run_help(struct chordctl *ctl, int argc, char **argv)
{
  const struct command *c;
  char q[64];
  if (argc > 2)
    return output_usage(ctl, "help", "help: expected at most one COMMAND");
  if (argc == 1) {
    print_usage(stdout);
    return OUTPUT_EXIT_OK;
  }
  c = find_command(argv[1]);
  if (!c) {
    escape_quote(q, sizeof(q), argv[1], strlen(argv[1]));
    return output_usage(ctl, NULL, "help: unknown command %s", q);
  }
  print_command_help(c, stdout);
  return OUTPUT_EXIT_OK;
}

/* ---- flags -------------------------------------------------------------- */

/* Takes --token-file or a --tls-* flag at argv[*i]: true
 * when it is one of them (*val NULL when its value is missing). */
static bool auth_flag(struct chordctl *ctl, int argc, char **argv, int *i,
                      const char **val)
{
  static const char *const names[] = {"--token-file", "--tls-cert", "--tls-key",
                                      "--tls-ca", "--tls-server-name"};
  static const int index[] = {0, 2, 3, 4, 5}; /* auth_opts_set's order */
  for (int k = 0; k < 5; k++)
    if (args_flag_value(argc, argv, i, names[k], val)) {
      if (*val)
        auth_opts_set(&ctl->auth_opts, index[k], *val);
      return true;
    }
  return false;
}

/* What the global flags ask for besides a command. */
enum action { ACT_COMMAND, ACT_HELP, ACT_VERSION };

/* Parses the global flags into ctl and sets *next to the index of the
 * command. 0, or OUTPUT_EXIT_USAGE after saying what is wrong. */
static int parse_flags(struct chordctl *ctl, int argc, char **argv, int *next,
                       enum action *act)
{
  const char *sn = NULL, *val, *env;
  bool route_set = false;
  uint64_t ms;
  char q[64];
  int i;

  *act = ACT_COMMAND;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (a[0] != '-' || a[1] == '\0')
      break;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      *act = ACT_HELP;
      return 0;
    }
    if (strcmp(a, "--version") == 0) {
      *act = ACT_VERSION;
      return 0;
    }
    if (strcmp(a, "--json") == 0) {
      ctl->json = true;
      continue;
    }
    if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
      ctl->quiet = true;
      continue;
    }
    val = NULL;
    if (args_flag_value(argc, argv, &i, "--supernode", &val)) {
      if (val && addr_validate(val, 0) == 0) {
        sn = val;
        continue;
      }
    } else if (args_flag_value(argc, argv, &i, "--node", &val)) {
      if (val && addr_validate(val, 0) == 0) {
        ctl->node = val;
        continue;
      }
    } else if (args_flag_value(argc, argv, &i, "--timeout", &val)) {
      if (val &&
          units_parse_duration(val, 1, CHORDCTL_MAX_TIMEOUT_MS, &ms) == 0) {
        ctl->timeout_ms = (int64_t)ms;
        continue;
      }
    } else if (args_flag_value(argc, argv, &i, "--max-size", &val)) {
      if (val && units_parse_size(val, 0, CHORDCTL_MAX_SIZE_LIMIT,
                                  &ctl->max_size) == 0)
        continue;
    } else if (args_flag_value(argc, argv, &i, "--chunk-size", &val)) {
      if (val && units_parse_size(val, CHORDCTL_MIN_CHUNK, CHORDCTL_MAX_CHUNK,
                                  &ctl->chunk_size) == 0)
        continue;
    } else if (args_flag_value(argc, argv, &i, "--window", &val)) {
      uint64_t w;
      if (val && units_parse_uint(val, 1, CHORDCTL_MAX_WINDOW, &w) == 0) {
        ctl->window = (unsigned)w;
        continue;
      }
    } else if (args_flag_value(argc, argv, &i, "--route", &val)) {
      if (val && (strcmp(val, "direct") == 0 || strcmp(val, "ring") == 0)) {
        ctl->route = val[0] == 'd' ? ROUTE_DIRECT : ROUTE_RING;
        route_set = true;
        continue;
      }
    } else if (args_flag_value(argc, argv, &i, "--ring-cache", &val)) {
      if (val && val[0]) {
        ctl->ring_cache = val;
        continue;
      }
    } else if (args_flag_value(argc, argv, &i, "--ring-ttl", &val)) {
      if (val &&
          units_parse_duration(val, 0, CHORDCTL_MAX_TIMEOUT_MS, &ms) == 0) {
        ctl->ring_ttl_ms = (int64_t)ms;
        continue;
      }
    } else if (auth_flag(ctl, argc, argv, &i, &val)) {
      if (val)
        continue;
    } else {
      escape_quote(q, sizeof(q), a, strlen(a));
      return output_usage(ctl, NULL, "unknown option %s", q);
    }
    /* A known flag with a missing or bad value. */
    if (!val)
      return output_usage(ctl, NULL, "%s needs a value", a);
    escape_quote(q, sizeof(q), val, strlen(val));
    if (strncmp(a, "--timeout", 9) == 0)
      return output_usage(ctl, NULL,
                          "--timeout %s is not a duration such as 500ms, "
                          "5s, 2m or 10, up to a day",
                          q);
    if (strncmp(a, "--max-size", 10) == 0)
      return output_usage(ctl, NULL,
                          "--max-size %s is not a size such as 1048576, "
                          "512K, 64M or 2T, up to 1P",
                          q);
    if (strncmp(a, "--chunk-size", 12) == 0)
      return output_usage(ctl, NULL,
                          "--chunk-size %s is not a size from 4K to 64M", q);
    if (strncmp(a, "--route", 7) == 0)
      return output_usage(ctl, NULL, "--route %s is not direct or ring", q);
    if (strncmp(a, "--ring-ttl", 10) == 0)
      return output_usage(ctl, NULL,
                          "--ring-ttl %s is not a duration such as 10s", q);
    if (strncmp(a, "--ring-cache", 12) == 0)
      return output_usage(ctl, NULL, "--ring-cache needs a file name");
    if (strncmp(a, "--window", 8) == 0)
      return output_usage(ctl, NULL, "--window %s is not a number from 1 to 64",
                          q);
    return output_usage(ctl, NULL, "%s %s is not a HOST:PORT address",
                        strncmp(a, "--node", 6) == 0 ? "--node" : "--supernode",
                        q);
  }
  if (sn && ctl->node)
    return output_usage(ctl, NULL, "--supernode and --node exclude each other");
  env = getenv(CHORDCTL_SUPERNODE_ENV);
  if (sn) {
    ctl->supernode = sn;
  } else if (env && env[0]) {
    ctl->supernode = env; /* checked when a command needs it */
    ctl->supernode_from_env = true;
  } else {
    ctl->supernode = CHORDCTL_DEFAULT_SUPERNODE;
  }
  env = getenv(CHORDCTL_RING_CACHE_ENV);
  if (!ctl->ring_cache && env && env[0])
    ctl->ring_cache = env;
  env = getenv(CHORDCTL_ROUTE_ENV);
  if (!route_set && env && env[0]) {
    if (strcmp(env, "direct") != 0 && strcmp(env, "ring") != 0) {
      escape_quote(q, sizeof(q), env, strlen(env));
      return output_usage(ctl, NULL,
                          CHORDCTL_ROUTE_ENV " %s is not direct or ring", q);
    }
    ctl->route = env[0] == 'd' ? ROUTE_DIRECT : ROUTE_RING;
  }
  *next = i;
  return 0;
}

/* ---- main --------------------------------------------------------------- */

/* Runs a command that talks to the cluster: gRPC and the sync client live
 * exactly as long as the command. */
static int run_net(struct chordctl *ctl, const struct command *c, int argc,
                   char **argv)
{
  struct rpc_client_opts o = {.max_message = CHORDCTL_MAX_MESSAGE,
                              .auth = &ctl->auth};
  char err[256];
  int rc;

  /* The client token file is the daemons' (what they accept); chordctl
   * sends the one --token-file names. */
  auth_opts_from_env(&ctl->auth_opts);
  ctl->auth_opts.client_token_file = NULL;
  if (auth_load(&ctl->auth, &ctl->auth_opts, err, sizeof(err))) {
    output_error(ctl, "%s", err);
    return OUTPUT_EXIT_USAGE;
  }
  rpc_route_library_logs();
  grpc_init();
  ctl->rpc = rpc_client_create(NULL, &o);
  if (!ctl->rpc) {
    output_error(ctl, "cannot set up the RPC client (TLS files rejected, or "
                      "out of memory)");
    rc = OUTPUT_EXIT_FAILURE;
  } else {
    rc = c->run(ctl, argc, argv);
    ringview_save(ctl, &ctl->view);
    ringview_free(&ctl->view);
    rpc_client_shutdown(ctl->rpc, NULL, NULL);
    ctl->rpc = NULL;
  }
  grpc_shutdown();
  auth_free(&ctl->auth);
  return rc;
}

int main(int argc, char **argv)
{
  struct chordctl ctl = {
      .timeout_ms = CHORDCTL_DEFAULT_TIMEOUT_MS,
      .max_size = CHORDCTL_DEFAULT_MAX_SIZE,
      .chunk_size = CHORDCTL_DEFAULT_CHUNK,
      .window = CHORDCTL_DEFAULT_WINDOW,
      .route = ROUTE_DIRECT,
      .ring_ttl_ms = RINGVIEW_DEFAULT_TTL_MS,
  };
  const struct command *c;
  enum action act;
  char q[64];
  int i = argc, rc;

  /* Chunk-sized buffers come and go by the thousand: with a fixed
   * threshold malloc maps them and gives them back on free, instead of
   * raising its threshold and keeping freed ones in each thread's arena,
   * so memory stays near --window x --chunk-size. */
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  rc = parse_flags(&ctl, argc, argv, &i, &act);
  if (rc)
    return rc;
  ctl.global_argc = i;
  ctl.global_argv = argv;
  if (act == ACT_HELP) {
    print_usage(stdout);
  } else if (act == ACT_VERSION) {
    puts("chordctl " CHORD_VERSION);
  } else if (i >= argc) {
    return output_usage(&ctl, NULL, "no command given");
  } else if (!(c = find_command(argv[i]))) {
    escape_quote(q, sizeof(q), argv[i], strlen(argv[i]));
    return output_usage(&ctl, NULL, "unknown command %s", q);
  } else if (args_wants_help(argc - i, argv + i)) {
    print_command_help(c, stdout);
  } else if (c->net) {
    rc = run_net(&ctl, c, argc - i, argv + i);
  } else {
    rc = c->run(&ctl, argc - i, argv + i);
  }
  /* Output that could not be written is a failure, even on success. */
  errno = 0;
  if ((fflush(stdout) != 0 || ferror(stdout)) && rc == 0) {
    output_error(&ctl, "cannot write to standard output%s%s", errno ? ": " : "",
                 errno ? strerror(errno) : "");
    rc = OUTPUT_EXIT_FAILURE;
  }
  return rc;
}
