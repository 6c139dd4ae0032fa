/* SPDX-License-Identifier: MIT */
/* A leaving node handing its range to its successor: Replicate page by
 * page, then the changes made meanwhile with the range held still. */
#ifndef CHORD_NODE_PUSH_H
#define CHORD_NODE_PUSH_H

#include <stdbool.h>
#include <stddef.h>

#include "node/jobs.h"

struct node;
struct push_page;

/* handed: the successor has every file (else they stay only here). */
typedef void (*push_done_cb)(struct node *n, bool handed, const char *why);

struct push {
  size_t pushed;           /* entries sent */
  struct push_page *final; /* the final page, waiting for jobs */
  struct jobs_waiter wait;
  push_done_cb done;
};

/* Hands (pred, self] to the first successor (n->give is set up here),
 * then calls done. Cleans up after itself whatever the outcome. */
void push_start(struct node *n, push_done_cb done);
/* Frees a final page still waiting (the node stopped first). */
void push_close(struct push *p);

#endif
