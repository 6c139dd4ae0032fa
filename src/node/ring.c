/* SPDX-License-Identifier: MIT */
/* The node's ring state with a setter for each part, dead marks, and
 * routing that skips dead peers. A full member list is installed through
 * the same setters. */
#include "node/ring.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"

static size_t clamp_len(size_t n)
{
  if (n == 0)
    return 1;
  return n > FINGER_SUCC_MAX ? FINGER_SUCC_MAX : n;
}

/* A ring of self alone: self is its own predecessor, successor and every
 * finger. r is caller storage; ring_close frees what it gathers. */
void ring_init(struct ring *r, const struct chord_peer *self, size_t succ_len)
{
  memset(r, 0, sizeof(*r));
  finger_init_alone(&r->ft, self);
  r->succ_len = clamp_len(succ_len);
}

/* Frees the installed member list; r may be initialised again. */
void ring_close(struct ring *r)
{
  free(r->members);
  r->members = NULL;
  r->nmembers = 0;
}

/* Sets the predecessor, or forgets it when p is NULL. */
void ring_set_pred(struct ring *r, const struct chord_peer *p)
{
  if (p) {
    r->ft.pred = *p;
    r->ft.has_pred = true;
  } else {
    memset(&r->ft.pred, 0, sizeof(r->ft.pred));
    r->ft.has_pred = false;
  }
}

/* Sets the predecessor's predecessor, or forgets it when p is NULL. */
void ring_set_pred2(struct ring *r, const struct chord_peer *p)
{
  if (p) {
    r->pred2 = *p;
    r->has_pred2 = true;
  } else {
    memset(&r->pred2, 0, sizeof(r->pred2));
    r->has_pred2 = false;
  }
}

/* Sets the successor list to the first min(n, succ_len) of list; with n 0
 * the list is self alone. list may overlap r's own list. */
void ring_set_successors(struct ring *r, const struct chord_peer *list,
                         size_t n)
{
  struct chord_peer tmp[FINGER_SUCC_MAX];
  if (n > r->succ_len)
    n = r->succ_len;
  if (n == 0) {
    tmp[0] = r->ft.self;
    n = 1;
  } else {
    memcpy(tmp, list, n * sizeof(*tmp));
  }
  memcpy(r->ft.succ, tmp, n * sizeof(*tmp));
  r->ft.nsucc = n;
}

/* Sets finger i; an index out of range is ignored. */
void ring_set_finger(struct ring *r, unsigned i, const struct chord_peer *p)
{
  if (i < FINGER_COUNT)
    r->ft.finger[i] = *p;
}

bool ring_is_dead(const struct ring *r, const struct chord_id *id)
{
  for (size_t i = 0; i < r->ndead; i++)
    if (chord_id_eq(&r->dead[i], id))
      return true;
  return false;
}

/* Remembers id as dead (once). The marks are kept oldest first; when
 * RING_DEAD_MAX are remembered, the oldest is dropped. Self is never
 * marked. */
void ring_mark_dead(struct ring *r, const struct chord_id *id)
{
  if (chord_id_eq(id, &r->ft.self.id) || ring_is_dead(r, id))
    return;
  if (r->ndead == RING_DEAD_MAX) {
    memmove(&r->dead[0], &r->dead[1], (RING_DEAD_MAX - 1) * sizeof(r->dead[0]));
    memmove(&r->dead_age[0], &r->dead_age[1],
            (RING_DEAD_MAX - 1) * sizeof(r->dead_age[0]));
    r->ndead--;
  }
  r->dead_age[r->ndead] = 0;
  r->dead[r->ndead++] = *id;
}

/* The oldest marks are first, so the expired ones are a prefix. */
void ring_age_dead(struct ring *r, unsigned max_age)
{
  size_t gone = 0;
  for (size_t i = 0; i < r->ndead; i++)
    if (++r->dead_age[i] >= max_age)
      gone = i + 1;
  if (!gone)
    return;
  memmove(&r->dead[0], &r->dead[gone], (r->ndead - gone) * sizeof(r->dead[0]));
  memmove(&r->dead_age[0], &r->dead_age[gone],
          (r->ndead - gone) * sizeof(r->dead_age[0]));
  r->ndead -= gone;
}

/* Forgets a dead mark; the others keep their order. */
void ring_mark_alive(struct ring *r, const struct chord_id *id)
{
  for (size_t i = 0; i < r->ndead; i++) {
    if (!chord_id_eq(&r->dead[i], id))
      continue;
    memmove(&r->dead[i], &r->dead[i + 1],
            (r->ndead - i - 1) * sizeof(r->dead[0]));
    memmove(&r->dead_age[i], &r->dead_age[i + 1],
            (r->ndead - i - 1) * sizeof(r->dead_age[0]));
    r->ndead--;
    return;
  }
}

const struct chord_peer *ring_first_live_successor(const struct ring *r)
{
  for (size_t i = 0; i < r->ft.nsucc; i++)
    if (!ring_is_dead(r, &r->ft.succ[i].id))
      return &r->ft.succ[i];
  return NULL;
}

/* Installs members (n entries, any order, with or without self) as the
 * whole ring: fingers, predecessor, its predecessor and the successor
 * list are computed from the list and set one by one. Members with self's
 * id stand for self and keep self's address. 0, or CHORD_ENOMEM with r
 * unchanged. */
int ring_install(struct ring *r, const struct chord_peer *self,
                 const struct chord_peer *members, size_t n)
{
  struct finger_table ft;
  struct chord_peer *list = malloc((n + 1) * sizeof(*list));
  size_t k;
  int rc;
  if (!list)
    return CHORD_ENOMEM;
  list[0] = *self;
  k = 1;
  for (size_t i = 0; i < n; i++)
    if (!chord_id_eq(&members[i].id, &self->id))
      list[k++] = members[i];
  k = finger_sort_unique(list, k);
  rc = finger_build(&ft, self, list, k, r->succ_len);
  if (rc) {
    free(list);
    return rc;
  }
  free(r->members);
  r->members = list;
  r->nmembers = k;
  r->ft.self = *self;
  ring_set_pred(r, &ft.pred);
  ring_set_successors(r, ft.succ, ft.nsucc);
  for (unsigned i = 0; i < FINGER_COUNT; i++)
    ring_set_finger(r, i, &ft.finger[i]);
  if (k >= 3) {
    size_t me = finger_successor_index(list, k, &self->id);
    ring_set_pred2(r, &list[(me + k - 2) % k]);
  } else {
    ring_set_pred2(r, NULL);
  }
  return 0;
}

/* Installs the current member list plus p. 0 or CHORD_ENOMEM (r
 * unchanged). */
int ring_add_member(struct ring *r, const struct chord_peer *p)
{
  size_t k = r->nmembers;
  struct chord_peer *list = malloc((k + 1) * sizeof(*list));
  int rc;
  if (!list)
    return CHORD_ENOMEM;
  if (k)
    memcpy(list, r->members, k * sizeof(*list));
  list[k] = *p;
  rc = ring_install(r, &r->ft.self, list, k + 1);
  free(list);
  return rc;
}

bool ring_owns(const struct ring *r, const struct chord_id *key)
{
  return chord_id_in_oc(key, &r->ft.pred.id, &r->ft.self.id);
}

/* Counts p when it is live, in (key, self) and not counted yet. */
static void count_before(const struct ring *r, const struct chord_peer *p,
                         const struct chord_id *key, struct chord_id *seen,
                         unsigned *n)
{
  if (!chord_id_in_oo(&p->id, key, &r->ft.self.id) || ring_is_dead(r, &p->id))
    return;
  for (unsigned i = 0; i < *n; i++)
    if (chord_id_eq(&seen[i], &p->id))
      return;
  seen[(*n)++] = p->id;
}

unsigned ring_known_before(const struct ring *r, const struct chord_id *key,
                           unsigned limit)
{
  const struct finger_table *ft = &r->ft;
  struct chord_id seen[FINGER_SUCC_MAX + 2];
  unsigned n = 0;
  if (limit > FINGER_SUCC_MAX)
    limit = FINGER_SUCC_MAX;
  if (ft->has_pred && n < limit)
    count_before(r, &ft->pred, key, seen, &n);
  if (r->has_pred2 && n < limit)
    count_before(r, &r->pred2, key, seen, &n);
  for (size_t i = 0; i < ft->nsucc && n < limit; i++)
    count_before(r, &ft->succ[i], key, seen, &n);
  for (int i = FINGER_COUNT - 1; i >= 0 && n < limit; i--)
    count_before(r, &ft->finger[i], key, seen, &n);
  return n;
}

bool ring_served_range(const struct ring *r, struct chord_id *lo,
                       struct chord_id *hi)
{
  const struct finger_table *ft = &r->ft;
  if (!ft->has_pred || chord_id_eq(&ft->pred.id, &ft->self.id))
    return false;
  *hi = ft->self.id;
  *lo = ft->pred.id;
  if (ring_is_dead(r, &ft->pred.id) && r->has_pred2 &&
      !chord_id_eq(&r->pred2.id, &ft->self.id))
    *lo = r->pred2.id;
  return true;
}

bool ring_pred_owns(const struct ring *r, const struct chord_id *key)
{
  /* A pred2 equal to us or to pred would stretch the range round the
   * ring: no shortcut then. */
  return r->has_pred2 && !chord_id_eq(&r->pred2.id, &r->ft.self.id) &&
         !chord_id_eq(&r->pred2.id, &r->ft.pred.id) &&
         !chord_id_eq(&r->ft.pred.id, &r->ft.self.id) &&
         chord_id_in_oc(key, &r->pred2.id, &r->ft.pred.id);
}

/* Considers c: a live peer in (self, key) nearer to key than *best. */
static void consider(const struct ring *r, const struct chord_peer *c,
                     const struct chord_id *key, const struct chord_peer **best)
{
  if (!chord_id_in_oo(&c->id, &r->ft.self.id, key) || ring_is_dead(r, &c->id))
    return;
  if (!*best || chord_id_in_oo(&(*best)->id, &r->ft.self.id, &c->id))
    *best = c;
}

/* The live finger or successor in (self, key) nearest to key; NULL when
 * there is none. With no dead marks this is finger_closest_preceding. */
static const struct chord_peer *closest_live(const struct ring *r,
                                             const struct chord_id *key)
{
  const struct chord_peer *best = NULL;
  if (r->ndead == 0) {
    best = finger_closest_preceding(&r->ft, key);
    return chord_id_eq(&best->id, &r->ft.self.id) ? NULL : best;
  }
  for (int i = FINGER_COUNT - 1; i >= 0; i--) {
    if (i < FINGER_COUNT - 1 &&
        chord_id_eq(&r->ft.finger[i].id, &r->ft.finger[i + 1].id))
      continue;
    consider(r, &r->ft.finger[i], key, &best);
  }
  for (size_t i = 0; i < r->ft.nsucc; i++)
    consider(r, &r->ft.succ[i], key, &best);
  return best;
}

/* Routes key: local when ours; the predecessor for its own range (when
 * known and alive; local when it is marked dead: we hold its replicas); the
 * first live successor when key falls at or before it; otherwise the nearest
 * live peer before key, falling back to the first live successor, then (all
 * dead) to the first successor, so that the caller's call fails and is reported
 * rather than looping here. */
enum ring_verdict ring_route(const struct ring *r, const struct chord_id *key,
                             const struct chord_peer **next)
{
  const struct finger_table *ft = &r->ft;
  const struct chord_peer *succ, *f;
  if (ring_owns(r, key))
    return RING_LOCAL;
  if (ring_pred_owns(r, key)) {
    /* Our predecessor's range: it serves it while alive; found dead, we
     * are its first replica and serve it until the ring closes over. */
    if (ring_is_dead(r, &ft->pred.id))
      return RING_LOCAL;
    *next = &ft->pred;
    return RING_FORWARD;
  }
  succ = ring_first_live_successor(r);
  if (!succ)
    succ = &ft->succ[0];
  if (chord_id_eq(&succ->id, &ft->self.id)) {
    /* Alone in our own view, but a predecessor has joined: until
     * stabilize makes it our successor too, it is the way on. */
    if (chord_id_eq(&ft->pred.id, &ft->self.id))
      return RING_LOCAL;
    *next = &ft->pred;
    return RING_FORWARD;
  }
  if (chord_id_in_oc(key, &ft->self.id, &succ->id)) {
    *next = succ;
    return RING_FORWARD;
  }
  f = closest_live(r, key);
  *next = f ? f : succ;
  return RING_FORWARD;
}

/* The installed member that owns key; self when none is installed. */
const struct chord_peer *ring_owner(const struct ring *r,
                                    const struct chord_id *key)
{
  if (r->nmembers == 0)
    return &r->ft.self;
  return &r->members[finger_successor_index(r->members, r->nmembers, key)];
}
