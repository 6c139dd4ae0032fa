/* SPDX-License-Identifier: MIT */
/* Routing simulation: rings of 2^3 .. 2^16 nodes in memory, routed with the
 * daemons' own finger tables (finger.c) and routing decision (ring.c), to
 * compare path lengths and load balance with the Chord paper (Stoica et
 * al., SIGCOMM 2001, Figs. 8 and 10). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/chord_id.h"
#include "common/daemon.h"
#include "common/units.h"
#include "common/finger.h"
#include "node/ring.h"

#define SIM_MAX_HOPS 1000

/* splitmix64: a small, seedable generator for reproducible rings. */
static uint64_t rng_next(uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void rng_id(uint64_t *s, struct chord_id *id)
{
  uint8_t buf[16];
  uint64_t a = rng_next(s), b = rng_next(s);
  memcpy(buf, &a, 8);
  memcpy(buf + 8, &b, 8);
  /* Ids as the daemons make them: SHA-1 of something. */
  chord_id_sha1(id, buf, sizeof(buf));
}

static int u64_cmp(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int dbl_cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* A ring of n random members, sorted and distinct. */
static struct chord_peer *make_ring(uint64_t *seed, size_t n, size_t *m)
{
  struct chord_peer *p = calloc(n, sizeof(*p));
  if (!p)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    rng_id(seed, &p[i].id);
    snprintf(p[i].addr, sizeof(p[i].addr), "sim-%zu:1", i);
  }
  *m = finger_sort_unique(p, n);
  return p;
}

/* The routing state of member s, as a daemon holding the full list has it
 * (the member list is shared, not copied). */
static void view_of(struct ring *r, const struct chord_peer *ring, size_t m,
                    size_t s)
{
  finger_build_sorted(&r->ft, ring, m, s, 3);
  r->members = (struct chord_peer *)ring;
  r->nmembers = m;
  r->has_pred2 = m >= 3;
  if (r->has_pred2)
    r->pred2 = ring[(s + m - 2) % m];
}

struct route_result {
  unsigned paper_hops; /* messages until the key's predecessor answers */
  unsigned owner_hops; /* forwards until the owner (the daemons' count) */
};

/* Routes key from member start as the daemons do. Returns 0, or -1 on a
 * loop (never expected). */
static int route(struct ring *r, const struct chord_peer *ring, size_t m,
                 size_t start, const struct chord_id *key,
                 struct route_result *out)
{
  size_t owner = finger_successor_index(ring, m, key);
  size_t pred = (owner + m - 1) % m;
  size_t cur = start;
  bool paper_done = false;
  out->paper_hops = out->owner_hops = 0;
  /* The paper counts the query's path to the node whose successor owns
   * the key: it answers with that successor. A start at the owner or its
   * predecessor costs no message. */
  if (cur == owner || cur == pred)
    paper_done = true;
  for (unsigned h = 0; h < SIM_MAX_HOPS; h++) {
    const struct chord_peer *next;
    view_of(r, ring, m, cur);
    if (ring_route(r, key, &next) == RING_LOCAL) {
      if (cur != owner)
        return -1;
      return 0;
    }
    cur = finger_successor_index(ring, m, &next->id);
    out->owner_hops++;
    if (!paper_done) {
      out->paper_hops++;
      if (cur == pred || cur == owner)
        paper_done = true;
    }
  }
  return -1;
}

struct hop_stats {
  size_t n, lookups;
  double mean, p1, p99, owner_mean, half_log2;
};

static int simulate_hops(size_t n, uint64_t seed, size_t max_lookups,
                         struct hop_stats *st)
{
  size_t m, lookups = 100 * n < max_lookups ? 100 * n : max_lookups;
  struct chord_peer *ring = make_ring(&seed, n, &m);
  struct ring *r = calloc(1, sizeof(*r));
  unsigned *hops = calloc(lookups, sizeof(*hops));
  double sum = 0, osum = 0;
  int rc = -1;
  if (!ring || !r || !hops)
    goto out;
  for (size_t k = 0; k < lookups; k++) {
    struct chord_id key;
    struct route_result res;
    rng_id(&seed, &key);
    size_t start = (size_t)(rng_next(&seed) % m);
    if (route(r, ring, m, start, &key, &res))
      goto out;
    hops[k] = res.paper_hops;
    sum += res.paper_hops;
    osum += res.owner_hops;
  }
  /* Percentiles of small integers: sort a copy as doubles. */
  double *d = malloc(lookups * sizeof(*d));
  if (!d)
    goto out;
  for (size_t k = 0; k < lookups; k++)
    d[k] = hops[k];
  qsort(d, lookups, sizeof(*d), dbl_cmp);
  st->n = m;
  st->lookups = lookups;
  st->mean = sum / (double)lookups;
  st->owner_mean = osum / (double)lookups;
  st->p1 = d[(size_t)(0.01 * (double)(lookups - 1))];
  st->p99 = d[(size_t)(0.99 * (double)(lookups - 1))];
  st->half_log2 = 0.5 * log2((double)m);
  free(d);
  rc = 0;
out:
  free(ring);
  free(r);
  free(hops);
  return rc;
}

struct load_stats {
  size_t nodes, keys;
  double mean, p1, p99, max;
};

/* Keys per node for `keys` random keys on `n` random ids; with out, also
 * writes every node's count there, ascending, one a line (for plotting). */
static int simulate_load(size_t n, size_t keys, uint64_t seed, const char *out,
                         struct load_stats *st)
{
  size_t m;
  struct chord_peer *ring = make_ring(&seed, n, &m);
  uint64_t *count = calloc(n, sizeof(*count));
  int rc = -1;
  if (!ring || !count)
    goto out;
  for (size_t k = 0; k < keys; k++) {
    struct chord_id key;
    rng_id(&seed, &key);
    count[finger_successor_index(ring, m, &key)]++;
  }
  qsort(count, m, sizeof(*count), u64_cmp);
  st->nodes = m;
  st->keys = keys;
  st->mean = (double)keys / (double)m;
  st->p1 = (double)count[(size_t)(0.01 * (double)(m - 1))];
  st->p99 = (double)count[(size_t)(0.99 * (double)(m - 1))];
  st->max = (double)count[m - 1];
  if (out) {
    FILE *f = fopen(out, "w");
    if (!f)
      goto out;
    for (size_t i = 0; i < m; i++)
      fprintf(f, "%llu\n", (unsigned long long)count[i]);
    if (fclose(f))
      goto out;
  }
  rc = 0;
out:
  free(ring);
  free(count);
  return rc;
}

static void usage(FILE *f)
{
  fprintf(f, "usage: chord-sim [--min-exp E] [--max-exp E] [--lookups N]\n"
             "                 [--load-nodes N] [--load-keys K] [--seed S]\n"
             "                 [--csv] [--check N] [--load-out FILE]\n"
             "\n"
             "Routes random keys through in-memory rings of 2^min .. 2^max\n"
             "nodes (default 3 .. 16) with the daemons' finger and routing\n"
             "code, and reports path lengths next to the Chord paper's\n"
             "1/2 log2 N, then the key load per node.\n"
             "  --lookups N   lookups per ring, at most 100 per node (10000)\n"
             "  --check N     only ring size N: exit 0 when the mean path is\n"
             "                within 10%% of 1/2 log2 N, else 1\n"
             "  --csv         comma-separated output for plotting\n"
             "  --load-out F  also write each node's key count to F,\n"
             "                ascending, one a line\n"
             "Path length counts the messages until the key's predecessor\n"
             "answers, as the paper does; 'to owner' adds the final hop the\n"
             "daemons make to the owner when the predecessor is not it.\n");
}

int main(int argc, char **argv)
{
  unsigned min_exp = 3, max_exp = 16;
  size_t lookups = 10000, load_nodes = 10000, load_keys = 500000;
  size_t check = 0;
  uint64_t seed = 2001;
  bool csv = false;
  const char *load_out = NULL;
  static const struct option opts[] = {
      {"min-exp", required_argument, NULL, 'a'},
      {"max-exp", required_argument, NULL, 'b'},
      {"lookups", required_argument, NULL, 'l'},
      {"load-nodes", required_argument, NULL, 'n'},
      {"load-keys", required_argument, NULL, 'k'},
      {"seed", required_argument, NULL, 's'},
      {"csv", no_argument, NULL, 'c'},
      {"check", required_argument, NULL, 'x'},
      {"load-out", required_argument, NULL, 'o'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    uint64_t v = 0, lo = 0, hi = UINT64_MAX;
    switch (c) { /* the numeric options' ranges */
    case 'a':
    case 'b':
      lo = 1;
      hi = 24;
      break;
    case 'l':
    case 'n':
    case 'k':
      lo = 1;
      hi = (uint64_t)1 << 30;
      break;
    case 'x':
      lo = 2;
      hi = (uint64_t)1 << 24;
      break;
    case 's': break;
    case 'o': load_out = optarg; continue;
    case 'c': csv = true; continue;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
    if (units_parse_uint(optarg, lo, hi, &v)) {
      const struct option *o = opts;
      while (o->val != c)
        o++;
      fprintf(stderr, "chord-sim: --%s takes a number from %llu to %llu\n",
              o->name, (unsigned long long)lo, (unsigned long long)hi);
      return 2;
    }
    switch (c) {
    case 'a': min_exp = (unsigned)v; break;
    case 'b': max_exp = (unsigned)v; break;
    case 'l': lookups = (size_t)v; break;
    case 'n': load_nodes = (size_t)v; break;
    case 'k': load_keys = (size_t)v; break;
    case 's': seed = v; break;
    case 'x': check = (size_t)v; break;
    }
  }
  if (min_exp > max_exp) {
    usage(stderr);
    return 2;
  }

  if (check) {
    struct hop_stats st;
    if (simulate_hops(check, seed, lookups, &st)) {
      fprintf(stderr, "chord-sim: routing failed (loop or memory)\n");
      return 1;
    }
    double dev = fabs(st.mean - st.half_log2) / st.half_log2;
    printf("N=%zu lookups=%zu mean path %.3f, 1/2 log2 N = %.3f, "
           "deviation %.1f%% (limit 10%%)\n",
           st.n, st.lookups, st.mean, st.half_log2, 100 * dev);
    return dev <= 0.10 ? 0 : 1;
  }

  if (csv)
    printf("nodes,lookups,mean,p1,p99,half_log2,to_owner_mean\n");
  else
    printf("%8s %8s %8s %6s %6s %10s %8s %9s\n", "nodes", "lookups", "mean",
           "p1", "p99", "½log2(N)", "ratio", "to owner");
  for (unsigned e = min_exp; e <= max_exp; e++) {
    struct hop_stats st;
    if (simulate_hops((size_t)1 << e, seed + e, lookups, &st)) {
      fprintf(stderr, "chord-sim: routing failed at N=2^%u\n", e);
      return 1;
    }
    if (csv)
      printf("%zu,%zu,%.4f,%.0f,%.0f,%.4f,%.4f\n", st.n, st.lookups, st.mean,
             st.p1, st.p99, st.half_log2, st.owner_mean);
    else
      printf("%8zu %8zu %8.3f %6.0f %6.0f %10.3f %8.3f %9.3f\n", st.n,
             st.lookups, st.mean, st.p1, st.p99, st.half_log2,
             st.mean / st.half_log2, st.owner_mean);
  }

  struct load_stats ls;
  if (simulate_load(load_nodes, load_keys, seed, load_out, &ls)) {
    fprintf(stderr, "chord-sim: out of memory or cannot write %s\n",
            load_out ? load_out : "the load file");
    return 1;
  }
  if (csv)
    printf("\nload_nodes,keys,mean,p1,p99,max\n%zu,%zu,%.2f,%.0f,%.0f,%.0f\n",
           ls.nodes, ls.keys, ls.mean, ls.p1, ls.p99, ls.max);
  else
    printf("\nload: %zu nodes, %zu keys: mean %.1f keys/node, 1st pct %.0f, "
           "99th pct %.0f (%.2fx mean), max %.0f (%.2fx mean)\n",
           ls.nodes, ls.keys, ls.mean, ls.p1, ls.p99, ls.p99 / ls.mean, ls.max,
           ls.max / ls.mean);
  return 0;
}
