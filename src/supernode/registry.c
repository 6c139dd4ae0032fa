/* SPDX-License-Identifier: MIT */
/* The supernode's membership registry: an array of member pointers sorted by
 * id, one join lock with a lease, and expiry of silent members, all measured
 * against an injected clock. */
#include "supernode/registry.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/err.h"

#define REGISTRY_CAP_MIN 16
/* The random pick draws 32-bit indices, so the member count stays below. */
#define REGISTRY_MEMBERS_MAX ((size_t)UINT32_MAX)

struct member {
  struct chord_peer peer; /* id and advertised address */
  uint64_t heard;         /* clock ms of the last join or heartbeat */
};

struct registry {
  struct member **v;        /* n pointers sorted by id, ids distinct */
  size_t n;                 /* full members */
  size_t cap;               /* slots in v */
  uint64_t oldest;          /* lower bound of every v[i]->heard, when n > 0 */
  bool locked;              /* a joiner holds the join lock */
  struct chord_peer holder; /* the joiner, when locked */
  uint64_t lock_at;         /* clock ms the lease started, when locked */
  uint64_t lease_ms;        /* lease length, ms */
  uint64_t timeout_ms;      /* heartbeat silence that drops a member, ms */
  uint64_t (*now_ms)(void *ud); /* the clock */
  void *clock_ud;               /* its user pointer */
  uint32_t (*rand32)(void *ud); /* the PRNG */
  void *rand_ud;                /* its user pointer */
  uint64_t prng;                /* state of the built-in PRNG */
};

static uint64_t monotonic_ms(void *ud)
{
  struct timespec ts;

  (void)ud;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
    return 0;
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* splitmix64: one 64-bit state word, full period, good enough for picking
 * an entry point into the ring (not for secrets). */
static uint32_t splitmix32(void *ud)
{
  uint64_t *s = ud;
  uint64_t z;

  *s += 0x9e3779b97f4a7c15u;
  z = *s;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  z ^= z >> 31;
  return (uint32_t)(z >> 32);
}

static uint64_t prng_seed(void)
{
  uint64_t seed = 0;
  struct timespec ts;

  if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == (ssize_t)sizeof seed)
    return seed;
  if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
    seed = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
  return seed ^ (uint64_t)(uintptr_t)&seed;
}

static uint64_t now(struct registry *r)
{
  return r->now_ms(r->clock_ud);
}

/* 0 when p is usable: non-NULL with a non-empty, NUL-terminated address. */
static int check_peer(const struct chord_peer *p)
{
  size_t len;

  if (p == NULL)
    return CHORD_EINVAL;
  len = strnlen(p->addr, sizeof p->addr);
  if (len == 0 || len == sizeof p->addr)
    return CHORD_EINVAL;
  return 0;
}

static bool same_addr(const struct chord_peer *a, const struct chord_peer *b)
{
  return strcmp(a->addr, b->addr) == 0;
}

/* The index of id in r->v, or where it would be inserted; *found says
 * which. */
static size_t find(const struct registry *r, const struct chord_id *id,
                   bool *found)
{
  size_t lo = 0;
  size_t hi = r->n;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = chord_id_cmp(&r->v[mid]->peer.id, id);

    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = false;
  return lo;
}

/* Inserts p heard at t at index i. 0 or CHORD_ENOMEM (r unchanged). */
static int insert_at(struct registry *r, size_t i, const struct chord_peer *p,
                     uint64_t t)
{
  struct member *m;

  if (r->n >= REGISTRY_MEMBERS_MAX)
    return CHORD_ENOMEM;
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : REGISTRY_CAP_MIN;
    struct member **v;

    if (cap > SIZE_MAX / sizeof *v)
      return CHORD_ENOMEM;
    v = realloc(r->v, cap * sizeof *v);
    if (v == NULL)
      return CHORD_ENOMEM;
    r->v = v;
    r->cap = cap;
  }
  m = malloc(sizeof *m);
  if (m == NULL)
    return CHORD_ENOMEM;
  m->peer = *p;
  m->heard = t;
  memmove(&r->v[i + 1], &r->v[i], (r->n - i) * sizeof *r->v);
  r->v[i] = m;
  if (r->n == 0 || t < r->oldest)
    r->oldest = t;
  r->n++;
  return 0;
}

static void remove_at(struct registry *r, size_t i)
{
  free(r->v[i]);
  memmove(&r->v[i], &r->v[i + 1], (r->n - i - 1) * sizeof *r->v);
  r->n--;
}

/* True when more than timeout ms have passed from t to now. A clock that
 * reads before t (an injected clock set back) counts as no time passed. */
static bool older(uint64_t t, uint64_t at, uint64_t timeout)
{
  return at > t && at - t > timeout;
}

/* Frees an expired lock and drops the members silent for longer than the
 * timeout at time t. The scan runs only when the oldest heartbeat may have
 * expired, so a registry that is quiet costs O(1) per call. */
static void expire_at(struct registry *r, uint64_t t)
{
  size_t i;
  size_t k = 0;
  uint64_t oldest = UINT64_MAX;

  if (r->locked && t >= r->lock_at && t - r->lock_at >= r->lease_ms)
    r->locked = false;
  if (r->n == 0 || !older(r->oldest, t, r->timeout_ms))
    return;
  for (i = 0; i < r->n; i++) {
    struct member *m = r->v[i];

    if (older(m->heard, t, r->timeout_ms)) {
      free(m);
      continue;
    }
    if (m->heard < oldest)
      oldest = m->heard;
    r->v[k++] = m;
  }
  r->n = k;
  r->oldest = oldest;
}

/* Returns a new empty registry configured by o (NULL, or any zero or NULL
 * field, picks the defaults: 10 s lease, 5 s heartbeat timeout, the
 * monotonic clock, a built-in PRNG seeded from getrandom or the clock). The
 * callbacks in o must outlive the registry. The caller frees the result with
 * registry_destroy. NULL when out of memory. Any thread; the registry then
 * belongs to the thread that uses it (it has no lock). */
struct registry *registry_create(const struct registry_opts *o)
{
  struct registry *r = calloc(1, sizeof *r);

  if (r == NULL)
    return NULL;
  r->lease_ms = REGISTRY_LEASE_MS_DEFAULT;
  r->timeout_ms = REGISTRY_HEARTBEAT_TIMEOUT_MS_DEFAULT;
  r->now_ms = monotonic_ms;
  r->rand32 = splitmix32;
  r->rand_ud = &r->prng;
  if (o != NULL) {
    if (o->lease_ms != 0)
      r->lease_ms = o->lease_ms;
    if (o->heartbeat_timeout_ms != 0)
      r->timeout_ms = o->heartbeat_timeout_ms;
    if (o->now_ms != NULL) {
      r->now_ms = o->now_ms;
      r->clock_ud = o->clock_ud;
    }
    if (o->rand32 != NULL) {
      r->rand32 = o->rand32;
      r->rand_ud = o->rand_ud;
    }
  }
  if (r->rand32 == splitmix32)
    r->prng = prng_seed();
  return r;
}

/* Frees r, its members and the lock. Accepts NULL; cannot fail. */
void registry_destroy(struct registry *r)
{
  size_t i;

  if (r == NULL)
    return;
  for (i = 0; i < r->n; i++)
    free(r->v[i]);
  free(r->v);
  free(r);
}

/* Admits joiner p: takes the join lock for p with a lease of lease_ms from
 * now, which ends at registry_post_join, registry_leave of p's id, or expiry.
 * A Join from the current holder (same id and address) succeeds again and
 * restarts the lease. A member with p's id and address (the node restarted)
 * stops being a member and joins anew. On success *members is a malloc'd
 * array, which the caller frees, of the *n full members sorted by id,
 * without p; it is NULL when *n is 0.
 * Errors, with r, *members and *n unchanged: CHORD_EINVAL for a NULL
 * argument or an empty or unterminated address; CHORD_EEXIST when the
 * holder or a member has p's id with another address; CHORD_EUNAVAIL when
 * another joiner holds an unexpired lock (retry later); CHORD_ENOMEM.
 * The registry's thread only. */
/* What registry_join would answer p now, short of taking the lock: 0
 * with *renew, *found and *idx set, or its error. */
static int join_check(struct registry *r, const struct chord_peer *p,
                      bool *renew, bool *found, size_t *idx)
{
  int result = check_peer(p);
  if (result != 0)
    return result;
  expire_at(r, now(r));
  *renew = false;
  *found = false;
  *idx = 0;
  if (r->locked && chord_id_eq(&r->holder.id, &p->id)) {
    if (!same_addr(&r->holder, p))
      return CHORD_EEXIST;
    *renew = true;
    return 0;
  }
  *idx = find(r, &p->id, found);
  if (*found && !same_addr(&r->v[*idx]->peer, p))
    return CHORD_EEXIST;
  if (r->locked)
    return CHORD_EUNAVAIL;
  return 0;
}

int registry_join_check(struct registry *r, const struct chord_peer *p)
{
  bool renew, found;
  size_t idx;
  if (r == NULL)
    return CHORD_EINVAL;
  return join_check(r, p, &renew, &found, &idx);
}

bool registry_knows(struct registry *r, const struct chord_id *id)
{
  bool found = false;
  if (r->locked && chord_id_eq(&r->holder.id, id))
    return true;
  find(r, id, &found);
  return found;
}

int registry_join(struct registry *r, const struct chord_peer *p,
                  struct chord_peer **members, size_t *n)
{
  struct chord_peer *out = NULL;
  bool renew = false;
  bool found = false;
  size_t idx = 0;
  size_t cnt;
  size_t i;
  size_t k = 0;
  uint64_t t;
  int result;

  if (r == NULL || members == NULL || n == NULL)
    return CHORD_EINVAL;
  result = join_check(r, p, &renew, &found, &idx);
  if (result != 0)
    return result;
  t = now(r);
  cnt = r->n - (found ? 1 : 0);
  if (cnt > 0) {
    out = malloc(cnt * sizeof *out);
    if (out == NULL)
      return CHORD_ENOMEM;
    for (i = 0; i < r->n; i++) {
      if (found && i == idx)
        continue;
      out[k++] = r->v[i]->peer;
    }
  }
  if (found)
    remove_at(r, idx);
  if (!renew) {
    r->locked = true;
    r->holder = *p;
  }
  r->lock_at = t;
  *members = out;
  *n = cnt;
  return 0;
}

/* Completes p's join: when p (same id and address) holds the unexpired
 * lock, it becomes a full member heard now, and the lock is freed.
 * Errors, with r unchanged: CHORD_EINVAL for a NULL argument or an empty or
 * unterminated address; CHORD_ESTATE when p does not hold the lock (also
 * once its lease expired); CHORD_ENOMEM (the lock stays with p, so PostJoin
 * can be retried). The registry's thread only. */
int registry_post_join(struct registry *r, const struct chord_peer *p)
{
  bool found;
  size_t idx;
  uint64_t t;
  int result;

  if (r == NULL)
    return CHORD_EINVAL;
  result = check_peer(p);
  if (result != 0)
    return result;
  t = now(r);
  expire_at(r, t);
  if (!r->locked || !chord_id_eq(&r->holder.id, &p->id) ||
      !same_addr(&r->holder, p))
    return CHORD_ESTATE;
  idx = find(r, &p->id, &found);
  if (found) {
    /* Unreachable: Join and Heartbeat keep the holder's id out of the
     * members. Refresh rather than duplicate the id. */
    r->v[idx]->peer = *p;
    r->v[idx]->heard = t;
  } else {
    result = insert_at(r, idx, p, t);
    if (result != 0)
      return result;
  }
  r->locked = false;
  return 0;
}

/* Removes the member with id, and frees the join lock when its holder has
 * id (a joiner that gives up). 0, or CHORD_EINVAL for a NULL argument, or
 * CHORD_ENOTFOUND when id is neither a member nor the holder. The
 * registry's thread only. */
int registry_leave(struct registry *r, const struct chord_id *id)
{
  bool hit = false;
  bool found;
  size_t idx;

  if (r == NULL || id == NULL)
    return CHORD_EINVAL;
  expire_at(r, now(r));
  if (r->locked && chord_id_eq(&r->holder.id, id)) {
    r->locked = false;
    hit = true;
  }
  idx = find(r, id, &found);
  if (found) {
    remove_at(r, idx);
    hit = true;
  }
  return hit ? 0 : CHORD_ENOTFOUND;
}

/* Records a heartbeat from p: a member with p's id and address is heard
 * now and *known is set true; an unknown p (the supernode restarted and
 * lost its soft state) becomes a full member and *known is set false. known
 * may be NULL. Errors, with r and *known unchanged: CHORD_EINVAL for a NULL
 * r or p or an empty or unterminated address; CHORD_EEXIST when a member
 * or the lock holder has p's id with another address; CHORD_ESTATE when p
 * is the lock holder (not a member until PostJoin); CHORD_ENOMEM. The
 * registry's thread only. */
int registry_heartbeat(struct registry *r, const struct chord_peer *p,
                       bool *known)
{
  bool found;
  size_t idx;
  uint64_t t;
  int result;

  if (r == NULL)
    return CHORD_EINVAL;
  result = check_peer(p);
  if (result != 0)
    return result;
  t = now(r);
  expire_at(r, t);
  if (r->locked && chord_id_eq(&r->holder.id, &p->id))
    return same_addr(&r->holder, p) ? CHORD_ESTATE : CHORD_EEXIST;
  idx = find(r, &p->id, &found);
  if (found) {
    if (!same_addr(&r->v[idx]->peer, p))
      return CHORD_EEXIST;
    r->v[idx]->heard = t;
  } else {
    result = insert_at(r, idx, p, t);
    if (result != 0)
      return result;
  }
  if (known != NULL)
    *known = found;
  return 0;
}

/* Copies a live full member, each with the same chance, into *out (the
 * caller's storage). The lock holder is never picked. 0, or CHORD_EINVAL
 * for a NULL argument, or CHORD_ENOTFOUND when there are no members (*out
 * untouched). The registry's thread only. */
int registry_random(struct registry *r, struct chord_peer *out)
{
  uint32_t bound;
  uint32_t lim;
  uint32_t x;

  if (r == NULL || out == NULL)
    return CHORD_EINVAL;
  expire_at(r, now(r));
  if (r->n == 0)
    return CHORD_ENOTFOUND;
  /* Rejection sampling: draws below lim would favour the low indices. */
  bound = (uint32_t)r->n;
  lim = (uint32_t)(0u - bound) % bound;
  do {
    x = r->rand32(r->rand_ud);
  } while (x < lim);
  *out = r->v[x % bound]->peer;
  return 0;
}

/* Copies the first min(max, count) live full members, ascending by id,
 * into out (the caller's array of max entries; may be NULL when max is 0).
 * Returns the member count, which may exceed max; 0 for a NULL r. The
 * registry's thread only. */
size_t registry_list(struct registry *r, struct chord_peer *out, size_t max)
{
  size_t i;

  if (r == NULL)
    return 0;
  expire_at(r, now(r));
  for (i = 0; out != NULL && i < max && i < r->n; i++)
    out[i] = r->v[i]->peer;
  return r->n;
}

/* Returns the number of live full members (the lock holder is not one);
 * 0 for a NULL r. The registry's thread only. */
size_t registry_count(struct registry *r)
{
  if (r == NULL)
    return 0;
  expire_at(r, now(r));
  return r->n;
}

/* Drops the members not heard for longer than heartbeat_timeout_ms and
 * frees a lock whose lease_ms has passed. Every other call does this first;
 * a timer may call it to free memory early. Accepts NULL. The registry's
 * thread only. */
void registry_expire(struct registry *r)
{
  if (r == NULL)
    return;
  expire_at(r, now(r));
}

/* Returns whether a joiner holds an unexpired join lock, and then copies
 * the holder into *holder when holder is not NULL (left untouched when
 * free). False for a NULL r. The registry's thread only. */
bool registry_busy(struct registry *r, struct chord_peer *holder)
{
  if (r == NULL)
    return false;
  expire_at(r, now(r));
  if (r->locked && holder != NULL)
    *holder = r->holder;
  return r->locked;
}
