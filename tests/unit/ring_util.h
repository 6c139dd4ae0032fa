/* SPDX-License-Identifier: MIT */
/* Helpers the ring tests share: a seeded generator, random ids and peers.
 * Private to tests/unit; each function is static, one copy per test. */
#ifndef CHORD_TEST_RING_UTIL_H
#define CHORD_TEST_RING_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/finger.h"

/* splitmix64: a small deterministic generator, so runs are repeatable. */
static inline uint64_t rng_next(uint64_t *seed)
{
  uint64_t z = (*seed += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline void random_id(uint64_t *seed, struct chord_id *out)
{
  for (int i = 0; i < CHORD_ID_BYTES; i++)
    out->b[i] = (uint8_t)rng_next(seed);
}

/* Peer k with the given id and the address node-k.test:(7000 + k). */
static inline void make_peer(struct chord_peer *p, const struct chord_id *id,
                             size_t k)
{
  memset(p, 0, sizeof(*p));
  p->id = *id;
  snprintf(p->addr, sizeof(p->addr), "node-%zu.test:%zu", k, 7000 + k);
}

#endif
