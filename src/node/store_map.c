/* SPDX-License-Identifier: MIT */
/* The key -> pointer hash map both store backends index with: open
 * addressing, linear probing, backward-shift deletion, keyed hash. */
#define STORE__BACKEND
#include "node/store.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/err.h"

/* Slots allocated by the first insert; the map doubles before more than
 * 3/4 of its slots are used. */
#define MAP_MIN_CAP 16

/* Keys are SHA-1 outputs, but names are chosen by clients, who could grind
 * names whose keys share a bucket. A per-map random seed mixed through a
 * bijective finaliser (splitmix64) makes the bucket unpredictable. */
static size_t map_slot(const struct store__map *m, const struct chord_id *key)
{
  uint64_t x;

  memcpy(&x, key->b, sizeof(x));
  x ^= m->seed;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return (size_t)x & (m->cap - 1);
}

/* Sets up an empty map (no allocation). Any thread, on its own map. */
void store__map_init(struct store__map *m)
{
  memset(m, 0, sizeof(*m));
  if (getrandom(&m->seed, sizeof(m->seed), GRND_NONBLOCK) !=
      (ssize_t)sizeof(m->seed)) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    m->seed = (uint64_t)(uintptr_t)m ^ (uint64_t)ts.tv_nsec ^
              ((uint64_t)ts.tv_sec << 32);
  }
}

/* Frees the slot array; the values belong to the caller. */
void store__map_free(struct store__map *m)
{
  free(m->slots);
  m->slots = NULL;
  m->cap = m->n = 0;
}

/* Index of key's slot, or of the free slot where it would go. The map
 * always has a free slot, so the probe ends. */
static size_t map_find(const struct store__map *m, const struct chord_id *key)
{
  size_t i = map_slot(m, key);

  while (m->slots[i].val && !chord_id_eq(&m->slots[i].key, key))
    i = (i + 1) & (m->cap - 1);
  return i;
}

/* Ensures n entries fit under the load limit: 0, or CHORD_ENOMEM with the
 * map unchanged. */
int store__map_reserve(struct store__map *m, size_t n)
{
  size_t cap = m->cap ? m->cap : MAP_MIN_CAP;
  struct store__map grown;

  if (n > SIZE_MAX / 4)
    return CHORD_ENOMEM;
  while (n * 4 > cap * 3) {
    if (cap > SIZE_MAX / 2 / sizeof(struct store__slot))
      return CHORD_ENOMEM;
    cap *= 2;
  }
  if (cap == m->cap)
    return 0;
  grown = *m;
  grown.cap = cap;
  grown.slots = calloc(cap, sizeof(*grown.slots));
  if (!grown.slots)
    return CHORD_ENOMEM;
  for (size_t i = 0; i < m->cap; i++) {
    if (m->slots[i].val)
      grown.slots[map_find(&grown, &m->slots[i].key)] = m->slots[i];
  }
  free(m->slots);
  *m = grown;
  return 0;
}

/* Returns the value under key, or NULL. */
void *store__map_get(const struct store__map *m, const struct chord_id *key)
{
  if (!m->n)
    return NULL;
  return m->slots[map_find(m, key)].val;
}

/* Sets key to val, *old (may be NULL) to the value it replaces or NULL.
 * 0, or CHORD_ENOMEM with the map unchanged. */
int store__map_set(struct store__map *m, const struct chord_id *key, void *val,
                   void **old)
{
  size_t i;
  int rc;

  rc = store__map_reserve(m, m->n + 1);
  if (rc)
    return rc;
  i = map_find(m, key);
  if (old)
    *old = m->slots[i].val;
  if (!m->slots[i].val) {
    m->slots[i].key = *key;
    m->n++;
  }
  m->slots[i].val = val;
  return 0;
}

/* Removes key with backward-shift deletion (no tombstones): every later
 * entry of the probe run whose home slot is not cyclically in (hole, j]
 * moves into the hole. Returns the removed value or NULL. */
void *store__map_del(struct store__map *m, const struct chord_id *key)
{
  size_t mask = m->cap - 1, hole, j;
  void *val;

  if (!m->n)
    return NULL;
  hole = map_find(m, key);
  val = m->slots[hole].val;
  if (!val)
    return NULL;
  m->slots[hole].val = NULL;
  m->n--;
  for (j = (hole + 1) & mask; m->slots[j].val; j = (j + 1) & mask) {
    size_t home = map_slot(m, &m->slots[j].key);
    /* The entry at j may move to hole unless home lies in (hole, j]. */
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      m->slots[hole] = m->slots[j];
      m->slots[j].val = NULL;
      hole = j;
    }
  }
  return val;
}

/* Returns the next value at or after slot *pos (setting *key), advancing
 * *pos, or NULL at the end. */
void *store__map_next(const struct store__map *m, size_t *pos,
                      const struct chord_id **key)
{
  for (; *pos < m->cap; (*pos)++) {
    if (m->slots[*pos].val) {
      *key = &m->slots[*pos].key;
      return m->slots[(*pos)++].val;
    }
  }
  return NULL;
}
