/* SPDX-License-Identifier: MIT */
/* Zave's invariant over the simulated ring, checked against the truth
 * (who is alive), and the ideal ring the quiet phase must reach. */
#include <stdio.h>
#include <string.h>

#include "sim.h"

size_t sim_check_lower(const struct sim *s, const struct chord_id *id)
{
  size_t lo = 0, hi = s->nlive;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (chord_id_cmp(&s->node[s->live[mid]].self.id, id) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Position of the first live id > id. */
static size_t upper(const struct sim *s, const struct chord_id *id)
{
  size_t lo = 0, hi = s->nlive;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (chord_id_cmp(&s->node[s->live[mid]].self.id, id) <= 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

size_t sim_check_best(const struct sim *s, size_t n)
{
  const struct finger_table *ft = &s->node[n].ring.ft;
  for (size_t i = 0; i < ft->nsucc; i++) {
    size_t k = sim_net_index(s, &ft->succ[i]);
    if (k != SIZE_MAX && k != n && s->node[k].alive)
      return k;
  }
  return SIZE_MAX;
}

bool sim_check_live_succ(const struct sim *s, size_t *bad)
{
  for (size_t p = 0; p < s->nlive; p++) {
    if (sim_check_best(s, s->live[p]) == SIZE_MAX) {
      *bad = s->live[p];
      return false;
    }
  }
  return true;
}

/* Counts the live members strictly between a and b as skipped. */
static void skip(struct sim *s, const struct chord_id *a,
                 const struct chord_id *b)
{
  if (chord_id_eq(a, b))
    return;
  size_t lo = upper(s, a), hi = sim_check_lower(s, b);
  if (chord_id_cmp(a, b) < 0) {
    if (lo < hi) {
      s->cover[lo]++;
      s->cover[hi]--;
    }
    return;
  }
  s->cover[lo]++;
  s->cover[s->nlive]--;
  s->cover[0]++;
  s->cover[hi]--;
}

size_t sim_check_principals(struct sim *s)
{
  size_t n = 0;
  int run = 0;
  memset(s->cover, 0, (s->nlive + 1) * sizeof(*s->cover));
  for (size_t p = 0; p < s->nlive; p++) {
    const struct finger_table *ft = &s->node[s->live[p]].ring.ft;
    const struct chord_id *prev = &ft->self.id;
    for (size_t i = 0; i < ft->nsucc; i++) {
      skip(s, prev, &ft->succ[i].id);
      prev = &ft->succ[i].id;
    }
  }
  for (size_t p = 0; p < s->nlive; p++) {
    run += s->cover[p];
    n += run == 0;
  }
  return n;
}

static void describe(const struct sim *s, size_t k, char *buf, size_t len)
{
  const struct finger_table *ft = &s->node[k].ring.ft;
  char id[9];
  size_t off;
  chord_id_short(&ft->self.id, id);
  off = (size_t)snprintf(buf, len, "node %zu (%s%s) list [", k, id,
                         s->node[k].alive ? "" : ", dead");
  for (size_t i = 0; i < ft->nsucc && off < len; i++) {
    size_t j = sim_net_index(s, &ft->succ[i]);
    bool live = j != SIZE_MAX && s->node[j].alive;
    chord_id_short(&ft->succ[i].id, id);
    off += (size_t)snprintf(buf + off, len - off, "%s%zu:%s%s", i ? " " : "", j,
                            id, live ? "" : "+");
  }
  if (off < len)
    snprintf(buf + off, len - off, "] (+ = dead)");
}

static int violation(struct sim *s, const char *what, size_t a, size_t b)
{
  char da[400], db[400] = "";
  describe(s, a, da, sizeof(da));
  if (b != SIZE_MAX)
    describe(s, b, db, sizeof(db));
  snprintf(s->err, sizeof(s->err),
           "event %llu (t=%llu, %zu live): %s\n  %s%s%s",
           (unsigned long long)s->nevent, (unsigned long long)s->now, s->nlive,
           what, da, *db ? "\n  " : "", db);
  return -1;
}

/* Finds the cycles of the best-successor graph: how many, and one node
 * on the last found (*start). entry[k] = best(k). */
static size_t cycles(struct sim *s, size_t *start)
{
  size_t ncycle = 0;
  int walk = 0;
  for (size_t p = 0; p < s->nlive; p++)
    s->mark[s->live[p]] = 0;
  for (size_t p = 0; p < s->nlive; p++) {
    size_t u = s->live[p];
    if (s->mark[u])
      continue;
    walk++;
    while (!s->mark[u]) {
      s->mark[u] = walk;
      u = s->entry[u];
    }
    if (s->mark[u] == walk) {
      ncycle++;
      *start = u;
    }
  }
  return ncycle;
}

/* Checks, for the live members (Zave, arXiv 1610.01140, Sec. IV):
 * AtLeastOneLiveSuccessor, distinct ids, OrderedSuccessorLists,
 * OneRing (the best-successor graph has exactly one cycle, so every
 * member reaches it: ConnectedAppendages), OrderedRing (the cycle goes
 * once round the id space), OrderedAppendages as checked here (an
 * appendage's path of best successors reaches the ring before it would
 * pass the appendage again), and SufficientPrincipals (at least r + 1).
 * An appendage need not lie in the gap just before its ring entry: a
 * node that learned of a later joiner before an earlier one skips the
 * earlier one, which still points past the later one. */
int sim_check_invariant(struct sim *s)
{
  size_t bad, start = 0, L = s->nlive, r = s->cfg.succ;
  char what[128];
  if (!sim_check_live_succ(s, &bad))
    return violation(s, "AtLeastOneLiveSuccessor: no live successor", bad,
                     SIZE_MAX);
  for (size_t p = 0; p + 1 < L; p++)
    if (chord_id_eq(&s->node[s->live[p]].self.id,
                    &s->node[s->live[p + 1]].self.id))
      return violation(s, "duplicate id", s->live[p], s->live[p + 1]);
  for (size_t p = 0; p < L; p++) {
    size_t k = s->live[p];
    const struct finger_table *ft = &s->node[k].ring.ft;
    const struct chord_id *prev = &ft->self.id;
    for (size_t i = 0; i < ft->nsucc; i++) {
      if (!chord_id_in_oo(&ft->succ[i].id, prev, &ft->self.id))
        return violation(s, "OrderedSuccessorLists: entry out of order", k,
                         SIZE_MAX);
      prev = &ft->succ[i].id;
    }
    s->entry[k] = sim_check_best(s, k);
  }
  size_t n = cycles(s, &start);
  if (n != 1) {
    snprintf(what, sizeof(what), "OneRing: %zu cycles of best successors", n);
    return violation(s, what, start, s->entry[start]);
  }
  size_t wraps = 0, len = 0, u = start;
  for (size_t p = 0; p < L; p++)
    s->cover[s->live[p]] = 0;
  do {
    size_t v = s->entry[u];
    wraps += chord_id_cmp(&s->node[v].self.id, &s->node[u].self.id) <= 0;
    s->cover[u] = 1; /* on the ring */
    len++;
    u = v;
  } while (u != start);
  if (wraps != 1) {
    snprintf(what, sizeof(what),
             "OrderedRing: the ring of %zu goes %zu times round", len, wraps);
    return violation(s, what, start, s->entry[start]);
  }
  for (size_t p = 0; p < L; p++) {
    size_t a = s->live[p], w = a;
    while (!s->cover[w]) {
      size_t v = s->entry[w];
      if (!chord_id_in_oo(&s->node[v].self.id, &s->node[w].self.id,
                          &s->node[a].self.id))
        return violation(s, "OrderedAppendages: the path to the ring wraps", a,
                         v);
      w = v;
    }
  }
  n = sim_check_principals(s);
  if (n < r + 1) {
    snprintf(what, sizeof(what), "SufficientPrincipals: %zu < r + 1 = %zu", n,
             r + 1);
    return violation(s, what, s->live[0], SIZE_MAX);
  }
  return 0;
}

bool sim_check_ideal(struct sim *s, bool fingers)
{
  size_t L = s->nlive, want = s->cfg.succ < L - 1 ? s->cfg.succ : L - 1;
  for (size_t p = 0; p < L; p++) {
    const struct finger_table *ft = &s->node[s->live[p]].ring.ft;
    const struct sim_node *pred = &s->node[s->live[(p + L - 1) % L]];
    snprintf(s->why, sizeof(s->why), "node %zu: wrong pred or successors",
             s->live[p]);
    if (!ft->has_pred || !chord_id_eq(&ft->pred.id, &pred->self.id))
      return false;
    if (ft->nsucc != want)
      return false;
    for (size_t i = 0; i < want; i++)
      if (!chord_id_eq(&ft->succ[i].id,
                       &s->node[s->live[(p + 1 + i) % L]].self.id))
        return false;
    if (!fingers)
      continue;
    for (unsigned i = 0; i < FINGER_COUNT; i++) {
      struct chord_id key;
      chord_id_add_pow2(&key, &ft->self.id, i);
      size_t q = sim_check_lower(s, &key) % L;
      if (!chord_id_eq(&ft->finger[i].id, &s->node[s->live[q]].self.id)) {
        size_t f = sim_net_index(s, &ft->finger[i]);
        snprintf(s->why, sizeof(s->why),
                 "node %zu finger %u is node %zu%s, not node %zu", s->live[p],
                 i, f, f != SIZE_MAX && s->node[f].alive ? "" : " (dead)",
                 s->live[q]);
        return false;
      }
    }
  }
  return true;
}
