/* SPDX-License-Identifier: MIT */
/* A range on its way to another node (to a joiner, or from a leaving node
 * to its successor): the range, the keys changed while it moves, the hold
 * on changes while the last of them are read, and the requests parked
 * meanwhile. Loop thread only. */
#ifndef CHORD_NODE_HANDOFF_H
#define CHORD_NODE_HANDOFF_H

#include <stdbool.h>
#include <stdint.h>

#include "common/finger.h"
#include "common/rpc.h"

#define HANDOFF_IDLE_MS 60000 /* a joiner silent this long is gone */

struct jobs;
struct node;

/* A request parked while a hand-off settles, replayed afterwards. */
struct handoff_parked {
  struct rpc_srv_call *call;
  const ProtobufCMessage *req;
  rpc_handler_cb handler;
  void *ud;
  struct handoff_parked *next;
};

struct handoff {
  bool active;
  struct chord_peer to;       /* who takes the range */
  struct chord_id from, upto; /* the range (from, upto] */
  struct chord_id *changed;   /* keys written or deleted meanwhile */
  size_t nchanged, capchanged;
  uint64_t last_ms; /* the taker's last request */
  bool hold;        /* park changes to the held range */
  struct handoff_parked *parked, **parked_tail;
};

enum handoff_touch {
  HANDOFF_OUTSIDE,  /* the key is not in an active hand-off's range */
  HANDOFF_RECORDED, /* recorded, to be sent again at the end */
  HANDOFF_EXPIRED,  /* the taker was idle too long: hand-off dropped */
};

/* An idle hand-off with nothing parked. */
void handoff_init(struct handoff *h);
/* Forgets the range and the changes (parked requests stay). */
void handoff_clear(struct handoff *h);
/* Starts handing (from, upto] to `to` (any previous one is forgotten). */
void handoff_begin(struct handoff *h, const struct chord_peer *to,
                   const struct chord_id *from, const struct chord_id *upto,
                   uint64_t now_ms);
/* Whether h is active for exactly this taker and range. */
bool handoff_is(const struct handoff *h, const struct chord_peer *to,
                const struct chord_id *from, const struct chord_id *upto);
/* Whether key is in an active hand-off's range. */
bool handoff_covers(const struct handoff *h, const struct chord_id *key);
/* Records a change of key (expire_idle: drop a hand-off whose taker has
 * been silent HANDOFF_IDLE_MS). CHORD_ENOMEM when it cannot be recorded. */
int handoff_touch(struct handoff *h, const struct chord_id *key,
                  uint64_t now_ms, bool expire_idle, enum handoff_touch *what);
/* Moves the change set out (caller frees *keys). */
void handoff_take_changes(struct handoff *h, struct chord_id **keys, size_t *n);
/* Whether a request for key must be parked now. */
bool handoff_must_park(const struct handoff *h, const struct chord_id *key,
                       bool mutating);
/* Parks a request until handoff_unpark. 0 or CHORD_ENOMEM. */
int handoff_park(struct handoff *h, struct rpc_srv_call *call,
                 const ProtobufCMessage *req, rpc_handler_cb handler, void *ud);
/* Lifts the hold and replays every parked request, oldest first. */
void handoff_unpark(struct handoff *h);
/* Parked requests. */
size_t handoff_parked_count(const struct handoff *h);
/* Deletes our copies of (from, upto] with a store job (the range is the
 * taker's now). CHORD_ENOMEM when the job cannot be made. */
int handoff_drop_range(struct jobs *js, struct node *n,
                       const struct chord_id *from,
                       const struct chord_id *upto);

#endif
