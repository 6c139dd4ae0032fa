/* SPDX-License-Identifier: MIT */
/* A joiner taking its range over from its successor: TransferKeys page by
 * page, then the release with the changes made meanwhile, renewing the
 * join lease on the way. */
#ifndef CHORD_NODE_PULL_H
#define CHORD_NODE_PULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "common/finger.h"

struct node;

typedef void (*pull_done_cb)(struct node *n);

struct pull {
  uv_timer_t timer;           /* retries */
  struct chord_peer succ;     /* who hands us our range; addr "" if none */
  bool hold;                  /* park requests for (pred, self] */
  struct chord_peer *members; /* the list to install once released */
  size_t nmembers;
  unsigned attempts;             /* failures in a row */
  uint8_t after[CHORD_ID_BYTES]; /* last key of the previous page */
  bool have_after, releasing;
  uint64_t lease_ms; /* the join lock's lease */
  uint64_t lease_at; /* when it was last granted or renewed */
  size_t pulled;     /* entries taken over */
  pull_done_cb done;
};

/* Sets up the retry timer on loop. */
void pull_init(struct pull *p, uv_loop_t *loop);
/* Frees the pending member list. */
void pull_close(struct pull *p);
/* Pulls our range from our successor in members (k > 0, self excluded;
 * taken over by the pull), then installs members, becomes JOINED and
 * calls done. Always starts from the first page. lease_ms: the join
 * lease to keep renewed (0: none). */
void pull_start(struct node *n, struct chord_peer *members, size_t k,
                uint64_t lease_ms, pull_done_cb done);

#endif
