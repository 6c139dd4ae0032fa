/* SPDX-License-Identifier: MIT */
/* Hand-off bookkeeping: the range moving to another node, the keys that
 * change while it moves, parking while the last changes are read, and
 * dropping our copies once the range has moved. */
#include "node/handoff.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "node/jobs.h"
#include "node/node.h"

void handoff_init(struct handoff *h)
{
  memset(h, 0, sizeof(*h));
  h->parked_tail = &h->parked;
}

/* Frees the change set and forgets the range; the hold and the parked
 * requests are left as they are (handoff_unpark ends those). */
void handoff_clear(struct handoff *h)
{
  free(h->changed);
  h->changed = NULL;
  h->nchanged = h->capchanged = 0;
  h->active = false;
  memset(&h->to, 0, sizeof(h->to));
  memset(&h->from, 0, sizeof(h->from));
  memset(&h->upto, 0, sizeof(h->upto));
  h->last_ms = 0;
}

void handoff_begin(struct handoff *h, const struct chord_peer *to,
                   const struct chord_id *from, const struct chord_id *upto,
                   uint64_t now_ms)
{
  handoff_clear(h);
  h->active = true;
  h->to = *to;
  h->from = *from;
  h->upto = *upto;
  h->last_ms = now_ms;
}

bool handoff_is(const struct handoff *h, const struct chord_peer *to,
                const struct chord_id *from, const struct chord_id *upto)
{
  return h->active && chord_id_eq(&h->to.id, &to->id) &&
         chord_id_eq(&h->from, from) && chord_id_eq(&h->upto, upto);
}

bool handoff_covers(const struct handoff *h, const struct chord_id *key)
{
  return h->active && chord_id_in_oc(key, &h->from, &h->upto);
}

/* Records key once in the change set when it is in the range. With
 * expire_idle, a hand-off whose taker has not called for HANDOFF_IDLE_MS
 * is dropped instead (it died or gave up), so that changes are not kept
 * for it forever. 0 with *what set, or CHORD_ENOMEM (nothing recorded: the
 * caller must not let the change be lost silently). */
int handoff_touch(struct handoff *h, const struct chord_id *key,
                  uint64_t now_ms, bool expire_idle, enum handoff_touch *what)
{
  *what = HANDOFF_OUTSIDE;
  if (!handoff_covers(h, key))
    return 0;
  if (expire_idle && now_ms - h->last_ms > HANDOFF_IDLE_MS) {
    handoff_clear(h);
    *what = HANDOFF_EXPIRED;
    return 0;
  }
  *what = HANDOFF_RECORDED;
  for (size_t i = 0; i < h->nchanged; i++)
    if (chord_id_eq(&h->changed[i], key))
      return 0;
  if (h->nchanged == h->capchanged) {
    size_t ncap = h->capchanged ? h->capchanged * 2 : 64;
    struct chord_id *k = realloc(h->changed, ncap * sizeof(*k));
    if (!k)
      return CHORD_ENOMEM;
    h->changed = k;
    h->capchanged = ncap;
  }
  h->changed[h->nchanged++] = *key;
  return 0;
}

void handoff_take_changes(struct handoff *h, struct chord_id **keys, size_t *n)
{
  *keys = h->changed;
  *n = h->nchanged;
  h->changed = NULL;
  h->nchanged = h->capchanged = 0;
}

/* A change (write or delete) to the held range waits, even one that comes
 * direct: served now, it would land in a change list the release is about
 * to discard with the range. Reads are never parked. */
bool handoff_must_park(const struct handoff *h, const struct chord_id *key,
                       bool mutating)
{
  return h->hold && mutating && handoff_covers(h, key);
}

static void parked_on_cancel(struct rpc_srv_call *call, void *ud)
{
  struct handoff *h = ud;
  for (struct handoff_parked **pp = &h->parked; *pp; pp = &(*pp)->next) {
    if ((*pp)->call == call) {
      struct handoff_parked *p = *pp;
      *pp = p->next;
      if (h->parked_tail == &p->next)
        h->parked_tail = pp;
      free(p);
      return;
    }
  }
}

/* Queues the request; if the server answers the call itself meanwhile
 * (shutdown), it leaves the queue. 0 or CHORD_ENOMEM (not parked: the
 * caller answers it). */
int handoff_park(struct handoff *h, struct rpc_srv_call *call,
                 const ProtobufCMessage *req, rpc_handler_cb handler, void *ud)
{
  struct handoff_parked *p = calloc(1, sizeof(*p));
  if (!p)
    return CHORD_ENOMEM;
  p->call = call;
  p->req = req;
  p->handler = handler;
  p->ud = ud;
  *h->parked_tail = p;
  h->parked_tail = &p->next;
  rpc_srv_on_cancel(call, parked_on_cancel, h);
  return 0;
}

/* Ends the hold and hands every parked request to its handler again, in
 * arrival order. A handler may park its request again; it then waits for
 * the next unpark. */
void handoff_unpark(struct handoff *h)
{
  struct handoff_parked *list = h->parked;
  h->hold = false;
  h->parked = NULL;
  h->parked_tail = &h->parked;
  while (list) {
    struct handoff_parked *p = list;
    list = p->next;
    rpc_srv_on_cancel(p->call, NULL, NULL);
    p->handler(p->call, p->req, p->ud);
    free(p);
  }
}

size_t handoff_parked_count(const struct handoff *h)
{
  size_t n = 0;
  for (const struct handoff_parked *p = h->parked; p; p = p->next)
    n++;
  return n;
}

/* Dropping a handed range: the store job. */
struct drop {
  struct job j;
  struct chord_id from, upto;
};

static void drop_work(struct job *j)
{
  struct drop *d = (struct drop *)j;
  struct chord_id *keys = NULL;
  size_t nk = 0;
  if (store_keys_in(j->n->store, &d->from, &d->upto, &keys, &nk))
    return;
  for (size_t i = 0; i < nk; i++)
    store_del(j->n->store, &keys[i]);
  free(keys);
}

static void drop_done(struct job *j)
{
  free(j);
}

/* Our copies of a range another node now serves would come back, deleted
 * or stale, if this node returned with a dir store: they go. */
int handoff_drop_range(struct jobs *js, struct node *n,
                       const struct chord_id *from, const struct chord_id *upto)
{
  struct drop *d = calloc(1, sizeof(*d));
  if (!d)
    return CHORD_ENOMEM;
  d->j.n = n;
  d->j.work = drop_work;
  d->j.done = drop_done;
  d->from = *from;
  d->upto = *upto;
  jobs_submit(js, &d->j);
  return 0;
}
