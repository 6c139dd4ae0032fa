/* SPDX-License-Identifier: MIT */
/* Finger tables built from a full member list: finger[i] =
 * successor(self + 2^i), predecessor, successor list, and routing's
 * closest preceding finger. Pure: no I/O; finger_build allocates a
 * temporary copy of the member list, finger_build_sorted nothing. */
#ifndef CHORD_FINGER_H
#define CHORD_FINGER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/addr.h"
#include "common/chord_id.h"

#define FINGER_COUNT CHORD_ID_BITS
#define FINGER_SUCC_MAX 16 /* longest successor list */

/* A ring member as routing sees it. */
struct chord_peer {
  struct chord_id id;
  char addr[ADDR_STR_MAX];
};

struct finger_table {
  struct chord_peer self;
  struct chord_peer finger[FINGER_COUNT]; /* successor(self + 2^i) */
  struct chord_peer pred;                 /* valid when has_pred */
  bool has_pred;
  struct chord_peer succ[FINGER_SUCC_MAX]; /* nsucc entries, nearest first */
  size_t nsucc;
};

/* A table for a ring of self alone: every finger, the predecessor and the
 * one successor are self. */
void finger_init_alone(struct finger_table *t, const struct chord_peer *self);

/* Builds t for self from members (any order, self may or may not be among
 * them, duplicates of one id are counted once) with a successor list of
 * min(r, distinct others) entries, or self alone when there are no others.
 * 0, or CHORD_EINVAL when r is 0 or > FINGER_SUCC_MAX, or CHORD_ENOMEM.
 * t is untouched on error. */
int finger_build(struct finger_table *t, const struct chord_peer *self,
                 const struct chord_peer *members, size_t n, size_t r);

/* As finger_build for ring[s], from ring[] (m > 0 entries, ids ascending
 * and distinct) as it is: no copy, no sort, no allocation. 0 or
 * CHORD_EINVAL. */
int finger_build_sorted(struct finger_table *t, const struct chord_peer *ring,
                        size_t m, size_t s, size_t r);

/* The finger that most closely precedes key: the entry f with f.id in
 * (self, key) that is nearest to key, or self when there is none. Never
 * returns a node past key. */
const struct chord_peer *finger_closest_preceding(const struct finger_table *t,
                                                  const struct chord_id *key);

/* Index of the member whose id is the successor of key (the first id >= key
 * clockwise) in sorted[], ids ascending and distinct; n must be > 0. */
size_t finger_successor_index(const struct chord_peer *sorted, size_t n,
                              const struct chord_id *key);

/* Sorts members by id in place and drops repeated ids; returns the new n. */
size_t finger_sort_unique(struct chord_peer *members, size_t n);

/* Writes the distinct finger entries, in finger order, with the lowest
 * index at which each first appears, into out/idx (each max entries; idx
 * may be NULL). Returns how many there are (may exceed max). */
size_t finger_distinct(const struct finger_table *t, struct chord_peer *out,
                       unsigned *idx, size_t max);

#endif
