/* SPDX-License-Identifier: MIT */
/* chord-maint-sim: runs Zave's maintenance rules (src/node/maint.c) on a
 * simulated ring through seeded churn, checks her invariant after every
 * event, then counts the rounds until the ring and the fingers are ideal.
 *
 * Definitions. A member is a live node. A node's best successor is the
 * first entry of its successor list that is alive and not itself. The
 * ring is the one cycle of best successors; the other members are
 * appendages. A member m is skipped by member n's list s1..sk when m lies
 * strictly between two adjacent nodes of n, s1, ..., sk (entries dead or
 * alive); a principal is a member that no member's list skips (Zave,
 * "Reasoning about identifier spaces: how to make Chord correct", arXiv
 * 1610.01140). A failure is allowed only when afterwards every member
 * still has a live entry (also in any list answer in flight to it, as
 * her steps are atomic and ours are not; --naive drops that) and there
 * are at least r + 1 members and r + 1 principals. One round of the
 * quiet phase ends when every member has stabilized once more. The
 * invariant is a function of the successor lists and of who is alive, so
 * it is checked after every event that changed either (the others cannot
 * change its verdict). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define CONFIRM_ROUNDS 3 /* the ideal ring must then last this long */

struct result {
  bool ok;
  long succ_rounds, finger_rounds; /* -1: not reached */
  uint64_t events, lost_dead, lost_loop;
};

struct opts {
  struct sim_cfg cfg;
  size_t seeds;
  bool raw;
};

static void replay(const char *argv0, const struct sim_cfg *c)
{
  printf("replay: %s --seed %llu --nodes %zu --succ %zu --events %zu "
         "--delay %u --period %u --fingers %u%s%s\n",
         argv0, (unsigned long long)c->seed, c->nodes, c->succ, c->events,
         c->delay, c->period, c->count, c->brk ? " --break" : "",
         c->naive ? " --naive" : "");
}

/* The bounds, in quiet rounds. Stabilization repairs at least one wrong
 * successor per round, so 3N is generous for the lists; the fingers then
 * need each node's fix_fingers to visit every distinct finger (160 / count
 * calls at worst) with a route that works, hence 3N + 2 * 160 / count. */
static unsigned bound(const struct sim_cfg *c, bool fingers)
{
  unsigned b = 3 * (unsigned)c->nodes;
  return fingers ? b + 2 * (FINGER_COUNT / c->count + 1) : b;
}

/* After the run's event: the quiet phase's round bookkeeping. 0 to go
 * on, 1 when done, -1 on failure. */
static int quiet_round(struct sim *s, struct result *res, unsigned *confirm)
{
  s->new_round = false;
  if (res->succ_rounds < 0 && sim_check_ideal(s, false))
    res->succ_rounds = s->round;
  if (res->succ_rounds >= 0 && res->finger_rounds < 0 &&
      sim_check_ideal(s, true))
    res->finger_rounds = s->round;
  if (res->finger_rounds >= 0 && res->finger_rounds < (long)s->round) {
    if (!sim_check_ideal(s, true)) {
      snprintf(s->err, sizeof(s->err), "round %u: the ideal ring was lost",
               s->round);
      return -1;
    }
    if (++*confirm >= CONFIRM_ROUNDS)
      return 1;
  }
  if (res->succ_rounds < 0 && s->round > bound(&s->cfg, false)) {
    snprintf(s->err, sizeof(s->err),
             "successor lists not ideal after %u quiet rounds: %s", s->round,
             s->why);
    return -1;
  }
  if (res->finger_rounds < 0 && s->round > bound(&s->cfg, true)) {
    snprintf(s->err, sizeof(s->err),
             "fingers not ideal after %u quiet rounds: %s", s->round, s->why);
    return -1;
  }
  return 0;
}

static void run(const struct sim_cfg *cfg, struct result *res)
{
  struct sim *s = malloc(sizeof(*s));
  unsigned confirm = 0;
  int rc = 0;
  bool changed;
  res->ok = false;
  res->events = res->lost_dead = res->lost_loop = 0;
  res->succ_rounds = res->finger_rounds = -1;
  if (!s || sim_net_open(s, cfg)) {
    fprintf(stderr, "out of memory\n");
    free(s);
    return;
  }
  if (sim_check_invariant(s))
    rc = -1;
  while (rc == 0) {
    rc = sim_net_step(s, &changed);
    if (rc == 1) {
      snprintf(s->err, sizeof(s->err), "the event queue ran dry");
      rc = -1;
    }
    if (rc == 0 && changed)
      rc = sim_check_invariant(s);
    if (rc == 0 && s->quiet && s->new_round)
      rc = quiet_round(s, res, &confirm);
  }
  res->ok = rc == 1;
  res->events = s->nevent;
  res->lost_dead = s->lost_dead;
  res->lost_loop = s->lost_loop;
  if (!res->ok)
    printf("FAIL seed %llu: %s\n", (unsigned long long)cfg->seed, s->err);
  sim_net_close(s);
  free(s);
}

static int cmp_long(const void *a, const void *b)
{
  long x = *(const long *)a, y = *(const long *)b;
  return x < y ? -1 : x > y;
}

static void stats(const char *what, long *v, size_t n)
{
  if (n == 0) {
    printf("  %s: no successful run\n", what);
    return;
  }
  qsort(v, n, sizeof(*v), cmp_long);
  size_t p99 = (99 * n + 99) / 100;
  printf("  rounds to ideal %s: median %ld, p99 %ld, max %ld\n", what,
         v[(n - 1) / 2], v[p99 - 1], v[n - 1]);
}

static bool num(const char *s, unsigned long long *out)
{
  char *end;
  if (!s || !*s)
    return false;
  *out = strtoull(s, &end, 10);
  return *end == '\0';
}

static int parse(int argc, char **argv, struct opts *o)
{
  struct sim_cfg *c = &o->cfg;
  *o = (struct opts){.cfg = {.seed = 1,
                             .nodes = 100,
                             .succ = 3,
                             .events = 200,
                             .delay = 3,
                             .period = 10,
                             .count = 4},
                     .seeds = 1};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    unsigned long long v = 0;
    if (!strcmp(a, "--break")) {
      c->brk = true;
      continue;
    }
    if (!strcmp(a, "--verbose")) {
      c->verbose = true;
      continue;
    }
    if (!strcmp(a, "--naive")) {
      c->naive = true;
      continue;
    }
    if (!strcmp(a, "--raw")) {
      o->raw = true;
      continue;
    }
    if (i + 1 >= argc || !num(argv[i + 1], &v))
      return -1;
    i++;
    if (!strcmp(a, "--seed"))
      c->seed = v;
    else if (!strcmp(a, "--seeds"))
      o->seeds = (size_t)v;
    else if (!strcmp(a, "--nodes"))
      c->nodes = (size_t)v;
    else if (!strcmp(a, "--succ"))
      c->succ = (size_t)v;
    else if (!strcmp(a, "--events"))
      c->events = (size_t)v;
    else if (!strcmp(a, "--delay"))
      c->delay = (unsigned)v;
    else if (!strcmp(a, "--period"))
      c->period = (unsigned)v;
    else if (!strcmp(a, "--fingers"))
      c->count = (unsigned)v;
    else
      return -1;
  }
  if (c->succ < 1 || c->succ > FINGER_SUCC_MAX || c->nodes < c->succ + 2 ||
      c->delay < 1 || c->period < 4 || c->count < 1 || o->seeds < 1)
    return -1;
  return 0;
}

int main(int argc, char **argv)
{
  struct opts o;
  if (parse(argc, argv, &o)) {
    fprintf(
        stderr,
        "usage: %s [--seed S] [--seeds K] [--nodes N] [--succ R] "
        "[--events E]\n       [--delay D] [--period P] [--fingers C] "
        "[--break] [--naive] [--raw] [--verbose]\n  N >= R + 2, 1 <= R <= %d\n",
        argv[0], FINGER_SUCC_MAX);
    return 2;
  }
  long *sr = calloc(o.seeds, sizeof(*sr)), *fr = calloc(o.seeds, sizeof(*fr));
  size_t nok = 0, nfail = 0;
  uint64_t events = 0, lost_dead = 0, lost_loop = 0;
  if (!sr || !fr) {
    fprintf(stderr, "out of memory\n");
    free(sr);
    free(fr);
    return 2;
  }
  for (size_t i = 0; i < o.seeds; i++) {
    struct sim_cfg c = o.cfg;
    struct result res;
    c.seed = o.cfg.seed + i;
    run(&c, &res);
    events += res.events;
    lost_dead += res.lost_dead;
    lost_loop += res.lost_loop;
    if (res.ok) {
      sr[nok] = res.succ_rounds;
      fr[nok++] = res.finger_rounds;
    } else {
      nfail++;
      replay(argv[0], &c);
    }
    if (o.raw)
      printf("seed %llu %s succ %ld fingers %ld\n", (unsigned long long)c.seed,
             res.ok ? "ok" : "FAIL", res.succ_rounds, res.finger_rounds);
  }
  printf("%s: runs %zu (seeds %llu..%llu, %zu nodes, r = %zu, %zu churn "
         "events%s), failures %zu, events simulated %llu\n",
         argv[0], o.seeds, (unsigned long long)o.cfg.seed,
         (unsigned long long)(o.cfg.seed + o.seeds - 1), o.cfg.nodes,
         o.cfg.succ, o.cfg.events, o.cfg.brk ? ", --break" : "", nfail,
         (unsigned long long)events);
  printf("  lookups lost: %llu at a dead hop, %llu in a loop (%d hops)\n",
         (unsigned long long)lost_dead, (unsigned long long)lost_loop,
         SIM_MAX_HOPS);
  stats("successors", sr, nok);
  stats("fingers", fr, nok);
  free(sr);
  free(fr);
  return nfail ? 1 : 0;
}
