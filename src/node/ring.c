/* SPDX-License-Identifier: MIT */
/* Routing over a finger table built from the full member list. */
#include "node/ring.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"

void ring_init(struct ring *r, const struct chord_peer *self)
{
  memset(r, 0, sizeof(*r));
  finger_init_alone(&r->ft, self);
}

void ring_close(struct ring *r)
{
  free(r->members);
  r->members = NULL;
  r->nmembers = 0;
}

int ring_install(struct ring *r, const struct chord_peer *self,
                 const struct chord_peer *members, size_t n, size_t succ_len)
{
  struct finger_table ft;
  struct chord_peer *list = malloc((n + 1) * sizeof(*list));
  size_t k;
  int rc;
  if (!list)
    return CHORD_ENOMEM;
  /* Self first; members with self's id are skipped, so self's own
   * address is the one kept. */
  list[0] = *self;
  k = 1;
  for (size_t i = 0; i < n; i++)
    if (!chord_id_eq(&members[i].id, &self->id))
      list[k++] = members[i];
  k = finger_sort_unique(list, k);
  size_t others = k - 1;
  size_t r_len = succ_len;
  if (r_len > FINGER_SUCC_MAX)
    r_len = FINGER_SUCC_MAX;
  if (r_len == 0)
    r_len = 1;
  rc = finger_build(&ft, self, list, k, r_len);
  if (rc) {
    free(list);
    return rc;
  }
  free(r->members);
  r->ft = ft;
  r->members = list;
  r->nmembers = k;
  r->has_pred2 = false;
  if (others >= 2) {
    size_t me = finger_successor_index(list, k, &self->id);
    r->pred2 = list[(me + k - 2) % k];
    r->has_pred2 = true;
  }
  return 0;
}

bool ring_owns(const struct ring *r, const struct chord_id *key)
{
  return chord_id_in_oc(key, &r->ft.pred.id, &r->ft.self.id);
}

enum ring_verdict ring_route(const struct ring *r, const struct chord_id *key,
                             const struct chord_peer **next)
{
  const struct finger_table *ft = &r->ft;
  if (ring_owns(r, key))
    return RING_LOCAL;
  if (r->has_pred2 && chord_id_in_oc(key, &r->pred2.id, &ft->pred.id)) {
    *next = &ft->pred;
    return RING_FORWARD;
  }
  if (chord_id_in_oc(key, &ft->self.id, &ft->succ[0].id)) {
    *next = &ft->succ[0];
    return RING_FORWARD;
  }
  const struct chord_peer *f = finger_closest_preceding(ft, key);
  if (chord_id_eq(&f->id, &ft->self.id))
    f = &ft->succ[0];
  *next = f;
  return RING_FORWARD;
}

const struct chord_peer *ring_owner(const struct ring *r,
                                    const struct chord_id *key)
{
  if (r->nmembers == 0)
    return &r->ft.self;
  return &r->members[finger_successor_index(r->members, r->nmembers, key)];
}
