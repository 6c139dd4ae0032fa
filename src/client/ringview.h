/* SPDX-License-Identifier: MIT */
/* chordctl's view of the ring: the members sorted by id, from the
 * supernode's ListNodes or a cache file, so that a request can go straight
 * to the node that owns its key (--route direct) and a chunked transfer
 * can spread its chunks by owner. A view may be stale: the node it picks
 * routes the request on as any node does, and what replies say refreshes
 * the view. */
#ifndef CHORD_CLIENT_RINGVIEW_H
#define CHORD_CLIENT_RINGVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/chord_id.h"

#define RINGVIEW_DEFAULT_TTL_MS 10000

struct chordctl;

struct ringview {
  char **addrs;         /* owned; by id when ids is set */
  struct chord_id *ids; /* NULL when the view is --node alone */
  size_t n, cap;
  int64_t fetched_ms; /* wall-clock ms of the member list's fetch */
  bool loaded;        /* filled (from the supernode, a file or --node) */
  bool changed;       /* differs from the cache file */
};

/* Fills v (empty) with --node alone, or the members from the --ring-cache
 * file when it is younger than the TTL and names the same supernode, or
 * else from the supernode's ListNodes, or, when the supernode cannot be
 * reached, from the cache file however old (with a warning). 0, or an
 * exit code after printing "what: why". */
int ringview_load(struct chordctl *ctl, const char *what, struct ringview *v);
/* The index of the member owning the key SHA-1(name[0..len)): the first
 * id at or after it, wrapping; 0 for a view without ids. */
size_t ringview_owner(const struct ringview *v, const char *name, size_t len);
/* Adds the member (id, addr), replacing one with the same id or address.
 * 0, or CHORD_EINVAL (bad id or address) or CHORD_ENOMEM. */
int ringview_learn(struct ringview *v, const void *id, size_t idlen,
                   const char *addr);
/* Drops the member at addr (found dead); nothing when absent. */
void ringview_forget(struct ringview *v, const char *addr);
/* Writes v to the --ring-cache file when it changed (a temporary file,
 * then rename). 0, or -1 after a warning on stderr: a cache that cannot
 * be written is not the command's failure. */
int ringview_save(struct chordctl *ctl, const struct ringview *v);
void ringview_free(struct ringview *v);

#endif
