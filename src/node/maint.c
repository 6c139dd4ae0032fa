/* SPDX-License-Identifier: MIT */
/* Zave's maintenance rules for Chord, pure: stabilize (query the first
 * successor, reconcile its list, adopt a live node between us, notify),
 * rectify on notify (with a ping of the old predecessor), check the
 * predecessor, and fix fingers a few at a time. */
#include "node/maint.h"

#include <string.h>

void maint_init(struct maint *m)
{
  memset(m, 0, sizeof(*m));
}

static bool same(const struct chord_peer *a, const struct chord_peer *b)
{
  return chord_id_eq(&a->id, &b->id);
}

static bool is_self(const struct ring *r, const struct chord_peer *p)
{
  return same(&r->ft.self, p);
}

static void emit(struct maint_out *out, enum maint_what what,
                 const struct chord_peer *to)
{
  if (out->n == MAINT_OUT_MAX)
    return; /* cannot happen: no event emits that many */
  struct maint_msg *msg = &out->msg[out->n++];
  memset(msg, 0, sizeof(*msg));
  msg->what = what;
  msg->to = *to;
}

/* Sets the successor list to s followed by list, stopping at self (the
 * list has gone round the ring) and skipping repeats, cut to succ_len. */
static void reconcile(struct ring *r, const struct chord_peer *s,
                      const struct chord_peer *list, size_t n)
{
  struct chord_peer next[FINGER_SUCC_MAX];
  size_t k = 0;
  next[k++] = *s;
  for (size_t i = 0; i < n && k < r->succ_len; i++) {
    if (is_self(r, &list[i]))
      break;
    bool seen = false;
    for (size_t j = 0; j < k && !seen; j++)
      seen = same(&next[j], &list[i]);
    if (!seen)
      next[k++] = list[i];
  }
  ring_set_successors(r, next, k);
}

/* The live finger nearest after self, or NULL: a stand-in successor when
 * every successor-list entry has died (beyond Zave's failure limit). */
static const struct chord_peer *nearest_live_finger(const struct ring *r)
{
  const struct chord_peer *best = NULL;
  for (unsigned i = 0; i < FINGER_COUNT; i++) {
    const struct chord_peer *f = &r->ft.finger[i];
    if (is_self(r, f) || ring_is_dead(r, &f->id))
      continue;
    if (!best || chord_id_in_oo(&f->id, &r->ft.self.id, &best->id))
      best = f;
  }
  return best;
}

/* Drops every dead entry from the front of the successor list; an empty
 * list falls back to the nearest live finger, else to self alone. */
static void drop_dead_successors(struct ring *r)
{
  struct chord_peer keep[FINGER_SUCC_MAX];
  size_t k = 0;
  for (size_t i = 0; i < r->ft.nsucc; i++)
    if (!ring_is_dead(r, &r->ft.succ[i].id) && !is_self(r, &r->ft.succ[i]))
      keep[k++] = r->ft.succ[i];
  if (k == 0) {
    const struct chord_peer *f = nearest_live_finger(r);
    if (f)
      keep[k++] = *f;
  }
  ring_set_successors(r, keep, k);
}

void maint_stabilize(struct maint *m, struct ring *r, struct maint_out *out)
{
  (void)m;
  drop_dead_successors(r);
  const struct chord_peer *s = &r->ft.succ[0];
  if (!is_self(r, s)) {
    emit(out, MAINT_STAB_SUCC, s);
    return;
  }
  /* Alone: a node that notified us is the ring's other member. */
  if (r->ft.has_pred && !is_self(r, &r->ft.pred) &&
      !ring_is_dead(r, &r->ft.pred.id))
    emit(out, MAINT_STAB_PRED, &r->ft.pred);
}

static void notify_successor(struct ring *r, struct maint_out *out)
{
  if (!is_self(r, &r->ft.succ[0]))
    emit(out, MAINT_NOTIFY, &r->ft.succ[0]);
}

/* Whether p lies strictly between us and our first successor (anywhere
 * but us when we are alone). */
static bool between_us_and_succ(const struct ring *r,
                                const struct chord_peer *p)
{
  if (is_self(r, p))
    return false;
  return chord_id_in_oo(&p->id, &r->ft.self.id, &r->ft.succ[0].id) ||
         is_self(r, &r->ft.succ[0]);
}

void maint_on_list(struct maint *m, struct ring *r, enum maint_what what,
                   const struct chord_peer *from, const struct chord_peer *pred,
                   const struct chord_peer *list, size_t n,
                   struct maint_out *out)
{
  (void)m;
  if (is_self(r, from))
    return;
  ring_mark_alive(r, &from->id);
  if (what == MAINT_STAB_SUCC) {
    if (!same(from, &r->ft.succ[0]))
      return; /* a late answer: the list has moved on */
    reconcile(r, from, list, n);
    /* A node between us and the successor is adopted only once it has
     * answered itself (Zave: no pointer to a node not found alive). One
     * we marked dead is asked too: an answer shows it is back. */
    if (pred && between_us_and_succ(r, pred)) {
      emit(out, MAINT_STAB_PRED, pred);
      return;
    }
    notify_successor(r, out);
    return;
  }
  if (what == MAINT_CHECK_PRED) {
    /* Our predecessor lives, and names its own: the range it owns. */
    if (!same(from, &r->ft.pred))
      return;
    if (pred && !is_self(r, pred) && !same(pred, from))
      ring_set_pred2(r, pred);
    else
      ring_set_pred2(r, NULL);
    return;
  }
  if (what == MAINT_STAB_PRED) {
    if (between_us_and_succ(r, from))
      reconcile(r, from, list, n);
    notify_successor(r, out);
  }
}

void maint_on_ok(struct maint *m, struct ring *r, const struct maint_msg *msg,
                 struct maint_out *out)
{
  (void)out;
  ring_mark_alive(r, &msg->to.id);
  if (msg->what == MAINT_RECTIFY && same(&msg->to, &r->ft.pred))
    m->has_candidate = false; /* the old predecessor lives: it stays */
}

void maint_on_fail(struct maint *m, struct ring *r, const struct maint_msg *msg,
                   struct maint_out *out)
{
  const struct chord_peer *to = &msg->to;
  ring_mark_dead(r, &to->id);
  switch (msg->what) {
  case MAINT_STAB_SUCC:
  case MAINT_NOTIFY:
    /* The first successor is dead: shift the list up, ask the next. */
    if (same(to, &r->ft.succ[0]))
      maint_stabilize(m, r, out);
    break;
  case MAINT_STAB_PRED: notify_successor(r, out); break;
  case MAINT_RECTIFY:
    if (same(to, &r->ft.pred) && m->has_candidate)
      ring_set_pred(r, &m->candidate);
    m->has_candidate = false;
    break;
  case MAINT_CHECK_PRED:
  case MAINT_FIX_FINGER:
    /* A dead predecessor stays as the bound of our range, marked dead,
     * until a live notifier replaces it. */
    break;
  }
}

void maint_on_notify(struct maint *m, struct ring *r,
                     const struct chord_peer *from, struct maint_out *out)
{
  const struct finger_table *ft = &r->ft;
  if (is_self(r, from))
    return;
  ring_mark_alive(r, &from->id);
  if (is_self(r, &ft->succ[0])) {
    /* Alone in our view: the notifier is our predecessor and, once it
     * answers a query, our successor too. */
    if (!ft->has_pred || is_self(r, &ft->pred) ||
        ring_is_dead(r, &ft->pred.id) ||
        chord_id_in_oo(&from->id, &ft->pred.id, &ft->self.id))
      ring_set_pred(r, from);
    emit(out, MAINT_STAB_PRED, from);
    return;
  }
  if (!is_self(r, &ft->succ[0]) &&
      chord_id_in_oo(&from->id, &ft->self.id, &ft->succ[0].id)) {
    /* Not a predecessor: a node that joined just after us says hello.
     * Stabilize now, which adopts it once it answers. */
    emit(out, MAINT_STAB_SUCC, &ft->succ[0]);
    return;
  }
  if (!ft->has_pred || is_self(r, &ft->pred) || ring_is_dead(r, &ft->pred.id)) {
    ring_set_pred(r, from);
    ring_set_pred2(r, NULL);
    m->has_candidate = false;
    return;
  }
  if (chord_id_in_oo(&from->id, &ft->pred.id, &ft->self.id)) {
    /* A node joined between: the old predecessor comes before it. */
    struct chord_peer old = ft->pred;
    ring_set_pred(r, from);
    ring_set_pred2(r, &old);
    m->has_candidate = false;
    return;
  }
  if (same(from, &ft->pred))
    return;
  /* Rectify: the notifier replaces our predecessor only if a ping shows
   * the predecessor dead. */
  m->candidate = *from;
  m->has_candidate = true;
  emit(out, MAINT_RECTIFY, &ft->pred);
}

void maint_check_pred(struct maint *m, struct ring *r, struct maint_out *out)
{
  (void)m;
  if (r->ft.has_pred && !is_self(r, &r->ft.pred) &&
      !ring_is_dead(r, &r->ft.pred.id))
    emit(out, MAINT_CHECK_PRED, &r->ft.pred);
}

void maint_fix_fingers(struct maint *m, struct ring *r, unsigned count,
                       struct maint_out *out)
{
  const struct chord_peer *s0 = ring_first_live_successor(r);
  if (!s0)
    s0 = &r->ft.succ[0];
  for (unsigned visited = 0;
       visited < FINGER_COUNT && count > 0 && out->n < MAINT_OUT_MAX;
       visited++) {
    unsigned i = m->next_finger;
    struct chord_id start;
    const struct chord_peer *next;
    m->next_finger = (i + 1) % FINGER_COUNT;
    chord_id_add_pow2(&start, &r->ft.self.id, i);
    if (is_self(r, s0) || chord_id_in_oc(&start, &r->ft.self.id, &s0->id)) {
      ring_set_finger(r, i, s0);
      continue;
    }
    if (ring_route(r, &start, &next) == RING_LOCAL) {
      ring_set_finger(r, i, &r->ft.self);
      continue;
    }
    emit(out, MAINT_FIX_FINGER, next);
    out->msg[out->n - 1].finger = i;
    out->msg[out->n - 1].key = start;
    count--;
  }
}

void maint_on_found(struct maint *m, struct ring *r, unsigned finger,
                    const struct chord_peer *succ)
{
  (void)m;
  if (finger < FINGER_COUNT)
    ring_set_finger(r, finger, succ);
}
