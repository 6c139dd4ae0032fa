/* SPDX-License-Identifier: MIT */
/* Finger tables from a full member list: sort the ring once, then each
 * finger is a binary search for successor(self + 2^i). */
#include "common/finger.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

/* A table for self alone: every finger, the predecessor and the one
 * successor are self. t is caller storage. Any thread. */
void finger_init_alone(struct finger_table *t, const struct chord_peer *self)
{
  struct chord_peer me = *self; /* self may point into t */

  t->self = me;
  for (size_t i = 0; i < FINGER_COUNT; i++)
    t->finger[i] = me;
  t->pred = me;
  t->has_pred = true;
  t->succ[0] = me;
  t->nsucc = 1;
}

/* Orders by id, then by address so that repeated ids sort the same way
 * whatever the input order. */
static int peer_cmp(const void *pa, const void *pb)
{
  const struct chord_peer *a = pa, *b = pb;
  int c = chord_id_cmp(&a->id, &b->id);
  if (c != 0)
    return c;
  return strncmp(a->addr, b->addr, sizeof(a->addr));
}

/* Sorts members by id (then address) in place and keeps the first entry of
 * each id, i.e. the one with the smallest address. Returns the new count.
 * Any thread. */
size_t finger_sort_unique(struct chord_peer *members, size_t n)
{
  size_t out = 0;

  if (n == 0)
    return 0;
  qsort(members, n, sizeof(*members), peer_cmp);
  for (size_t i = 1; i < n; i++) {
    if (!chord_id_eq(&members[i].id, &members[out].id)) {
      out++;
      if (out != i)
        members[out] = members[i];
    }
  }
  return out + 1;
}

/* Binary search in sorted[] (ids ascending, distinct, n > 0) for the first
 * id >= key; wraps to index 0 when every id is below key. Any thread. */
size_t finger_successor_index(const struct chord_peer *sorted, size_t n,
                              const struct chord_id *key)
{
  size_t lo = 0, hi = n;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (chord_id_cmp(&sorted[mid].id, key) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo == n ? 0 : lo;
}

/* Builds t for self from members (n entries, any order, with or without
 * self, repeated ids counted once) with a successor list of up to r
 * entries. A member with self's id stands for self: the table uses
 * self->addr for it. Returns 0, CHORD_EINVAL for NULL arguments (members
 * may be NULL when n is 0) or r outside 1..FINGER_SUCC_MAX, or
 * CHORD_ENOMEM; t is untouched on error. The only allocation is a
 * temporary copy of the ring, freed before returning. Any thread. */
int finger_build(struct finger_table *t, const struct chord_peer *self,
                 const struct chord_peer *members, size_t n, size_t r)
{
  struct chord_peer *ring, me;
  size_t m, s;

  if (!t || !self || (n > 0 && !members))
    return CHORD_EINVAL;
  if (r == 0 || r > FINGER_SUCC_MAX)
    return CHORD_EINVAL;
  if (n >= SIZE_MAX / sizeof(*ring))
    return CHORD_ENOMEM;
  ring = malloc((n + 1) * sizeof(*ring));
  if (!ring)
    return CHORD_ENOMEM;

  me = *self; /* self may point into t */
  if (n > 0)
    memcpy(ring, members, n * sizeof(*ring));
  ring[n] = me;
  m = finger_sort_unique(ring, n + 1);
  s = finger_successor_index(ring, m, &me.id);
  ring[s] = me; /* the entry kept for self's id may carry another address */
  finger_build_sorted(t, ring, m, s, r);
  free(ring);
  return 0;
}

/* Builds t for ring[s] from ring[] (m > 0 entries, ids ascending and
 * distinct) with up to r successors, without copying or sorting: O(160
 * log m). Returns 0, or CHORD_EINVAL (t untouched) for bad arguments.
 * Any thread. */
int finger_build_sorted(struct finger_table *t, const struct chord_peer *ring,
                        size_t m, size_t s, size_t r)
{
  if (!t || !ring || m == 0 || s >= m || r == 0 || r > FINGER_SUCC_MAX)
    return CHORD_EINVAL;
  const struct chord_peer *me = &ring[s];
  t->self = *me;
  for (unsigned i = 0; i < FINGER_COUNT; i++) {
    struct chord_id start;
    chord_id_add_pow2(&start, &me->id, i);
    t->finger[i] = ring[finger_successor_index(ring, m, &start)];
  }
  t->pred = ring[(s + m - 1) % m];
  t->has_pred = true;
  if (m == 1) {
    t->succ[0] = *me;
    t->nsucc = 1;
  } else {
    t->nsucc = m - 1 < r ? m - 1 : r;
    for (size_t i = 0; i < t->nsucc; i++)
      t->succ[i] = ring[(s + 1 + i) % m];
  }
  return 0;
}

/* Considers c for closest_preceding: c is a candidate when it is in
 * (self, key), i.e. its clockwise distance from self is nonzero and below
 * key_dist (zero key_dist standing for the whole ring), exactly as
 * chord_id_in_oo decides; the farthest such candidate from self wins. */
static void consider(const struct chord_peer *c, const struct chord_id *self,
                     const struct chord_id *key_dist,
                     const struct chord_peer **best, struct chord_id *best_dist)
{
  static const struct chord_id zero;
  struct chord_id dist;

  chord_id_sub(&dist, &c->id, self);
  if (chord_id_eq(&dist, &zero))
    return;
  if (!chord_id_eq(key_dist, &zero) && chord_id_cmp(&dist, key_dist) >= 0)
    return;
  if (!*best || chord_id_cmp(&dist, best_dist) > 0) {
    *best = c;
    *best_dist = dist;
  }
}

/* The candidate (a finger or a successor list entry) whose id is in
 * (self, key) and nearest to key, i.e. farthest clockwise from self; self
 * when there is none. Fingers are scanned from 159 down, but all of them:
 * a table whose fingers are not in ring order (fixed one at a time) still
 * gets the nearest entry. The pointer is into t. Any thread. */
const struct chord_peer *finger_closest_preceding(const struct finger_table *t,
                                                  const struct chord_id *key)
{
  const struct chord_peer *best = NULL;
  struct chord_id best_dist, key_dist;
  size_t nsucc = t->nsucc < FINGER_SUCC_MAX ? t->nsucc : FINGER_SUCC_MAX;

  chord_id_sub(&key_dist, key, &t->self.id);
  for (int i = FINGER_COUNT - 1; i >= 0; i--) {
    /* Most fingers repeat their neighbour: weigh each run once. */
    if (i < FINGER_COUNT - 1 &&
        chord_id_eq(&t->finger[i].id, &t->finger[i + 1].id))
      continue;
    consider(&t->finger[i], &t->self.id, &key_dist, &best, &best_dist);
  }
  for (size_t i = 0; i < nsucc; i++)
    consider(&t->succ[i], &t->self.id, &key_dist, &best, &best_dist);
  return best ? best : &t->self;
}

/* Writes the distinct finger ids, in finger order, and the lowest index
 * at which each first appears into out/idx (at most max of each; idx may
 * be NULL, out may be NULL when max is 0). Returns how many distinct
 * fingers there are, which may exceed max. Any thread. */
size_t finger_distinct(const struct finger_table *t, struct chord_peer *out,
                       unsigned *idx, size_t max)
{
  size_t count = 0;

  for (unsigned i = 0; i < FINGER_COUNT; i++) {
    bool seen = false;
    for (unsigned j = 0; j < i && !seen; j++)
      seen = chord_id_eq(&t->finger[j].id, &t->finger[i].id);
    if (seen)
      continue;
    if (count < max) {
      out[count] = t->finger[i];
      if (idx)
        idx[count] = i;
    }
    count++;
  }
  return count;
}
