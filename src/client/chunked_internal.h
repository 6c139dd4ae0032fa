/* SPDX-License-Identifier: MIT */
/* chordctl's private header shared by chunked.c (writes) and
 * chunked_read.c: one transfer's state and the helpers both use. */
#ifndef CHORD_CLIENT_CHUNKED_INTERNAL_H
#define CHORD_CLIENT_CHUNKED_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "chord/v1/common.pb-c.h"
#include "client/chordctl.h"
#include "client/pool.h"
#include "common/chord_id.h"
#include "common/name.h"
#include "common/rpc.h"

#define CHUNKED_HASH_LEN NAME_CHUNK_HASH_BYTES

/* One transfer's shared state (the pool's ud). */
struct xfer {
  struct chordctl *ctl;
  const char *name;
  uint8_t *hashes; /* CHUNKED_HASH_LEN per chunk: written (write) or expected */
  uint64_t nhashes, cap;
  const Chord__V1__Manifest *m; /* read: the manifest followed */
  const char **nodes;           /* ctl->view's members, by id (or --node) */
  size_t nnodes;
};

/* out = SHA-256 of data[0..len). Any thread. */
void chunked_sha256(const uint8_t *data, size_t len,
                    uint8_t out[CHUNKED_HASH_LEN]);
/* Fills x->nodes with the nodes the chunks go through: --node, or every
 * member of the ring view (ctl->view, loaded when needed), by id. 0, or an
 * exit code after printing why. */
int chunked_entry_nodes(struct xfer *x, const char *what);
/* The index in x->nodes of the node owning name[0..len) by the list (the
 * successor of its key): where a chunk goes first, so that it takes no
 * hop when the list is current; 0 without ids. */
size_t chunked_first_node(const struct xfer *x, const char *name, size_t len);
/* Frees what x holds. */
void chunked_xfer_free(struct xfer *x);
/* Reports a failed slot; returns its exit code. Main thread. */
int chunked_slot_error(struct chordctl *ctl, const char *what,
                       const struct pool_slot *s);

#endif
