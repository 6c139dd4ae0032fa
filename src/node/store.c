/* SPDX-License-Identifier: MIT */
/* Store interface: reference-counted entries, the mutex that makes every
 * call thread-safe, dispatch to a backend ops table, the key-range listing
 * and the key -> pointer hash map both backends index with. */
#define STORE__BACKEND
#include "node/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/err.h"

struct store {
  pthread_mutex_t lock;            /* serialises every backend call */
  const struct store__backend *be; /* ops table */
  void *impl;                      /* backend state, owned */
};

/* --- entries ------------------------------------------------------------ */

/* One allocation holds the struct, the name and its NUL, then the content.
 * Returns the entry with 1 reference, or NULL when the sizes overflow or
 * memory runs out. Any thread. */
struct store_entry *store__entry_alloc(size_t name_len, size_t len,
                                       uint64_t version)
{
  size_t size = sizeof(struct store_entry);
  struct store_entry *e;

  if (name_len > SIZE_MAX - size - 1)
    return NULL;
  size += name_len + 1;
  if (len > SIZE_MAX - size)
    return NULL;
  size += len;
  e = malloc(size);
  if (!e)
    return NULL;
  memset(&e->key, 0, sizeof(e->key));
  e->name = (char *)(e + 1);
  e->name[name_len] = '\0';
  e->name_len = name_len;
  e->content = (uint8_t *)e->name + name_len + 1;
  e->len = len;
  e->version = version;
  atomic_init(&e->refs, 1);
  return e;
}

/* Returns a new entry with 1 reference that the caller drops with
 * store_entry_unref: key = SHA-1(name), copies of name (NUL-terminated,
 * any bytes allowed) and content. name may be NULL only when name_len is 0
 * and content only when len is 0. NULL on bad arguments or out of memory.
 * Any thread. */
struct store_entry *store_entry_create(const char *name, size_t name_len,
                                       const void *content, size_t len,
                                       uint64_t version)
{
  struct store_entry *e;

  if ((!name && name_len) || (!content && len))
    return NULL;
  e = store__entry_alloc(name_len, len, version);
  if (!e)
    return NULL;
  if (name_len)
    memcpy(e->name, name, name_len);
  if (len)
    memcpy(e->content, content, len);
  chord_id_sha1(&e->key, e->name, name_len);
  return e;
}

/* Adds a reference (relaxed: the caller already holds one) and returns e.
 * NULL-safe. Any thread. */
struct store_entry *store_entry_ref(struct store_entry *e)
{
  if (e)
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
  return e;
}

/* Drops a reference; the last one frees e. The release/acquire pair makes
 * every thread's reads happen before the free. NULL-safe. Any thread. */
void store_entry_unref(struct store_entry *e)
{
  if (!e)
    return;
  if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1)
    free(e);
}

/* --- store: open, close, dispatch ---------------------------------------- */

/* Wraps a backend's impl in a store. On failure closes impl and returns
 * NULL. */
static struct store *store_wrap(const struct store__backend *be, void *impl)
{
  struct store *s = calloc(1, sizeof(*s));

  if (!s)
    goto fail_alloc;
  if (pthread_mutex_init(&s->lock, NULL) != 0)
    goto fail_mutex;
  s->be = be;
  s->impl = impl;
  return s;

fail_mutex:
  free(s);
fail_alloc:
  be->close(impl);
  return NULL;
}

/* Returns an empty in-memory store, or NULL when out of memory. The caller
 * frees it with store_close. Any thread. */
struct store *store_open_mem(void)
{
  void *impl = store__mem_open();

  if (!impl)
    return NULL;
  return store_wrap(&store__mem_backend, impl);
}

/* Opens (creating with mode 0700 if missing) the data directory dir and
 * loads every valid entry in it, removing leftover temporary files and
 * skipping corrupt files (see store_corrupt_count). Returns the store, which
 * the caller frees with store_close, or NULL with *err set to CHORD_ENOMEM,
 * CHORD_EINVAL or -errno (e.g. -ENOTDIR when dir is a file, -EBUSY when
 * another store holds the directory). Blocking disk I/O: call it off the
 * loop thread or before the loop runs. */
struct store *store_open_dir(const char *dir, int *err)
{
  int dummy;
  void *impl;

  if (!err)
    err = &dummy;
  *err = 0;
  impl = store__dir_open(dir, err);
  if (!impl)
    return NULL;
  return store_wrap(&store__dir_backend, impl);
}

/* Frees s with every entry reference it holds; entries the callers still
 * hold stay valid. The dir backend leaves its files in place. NULL-safe.
 * No other call on s may run concurrently or after. */
void store_close(struct store *s)
{
  if (!s)
    return;
  s->be->close(s->impl);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

/* Returns "mem" or "dir", a static string. Any thread. */
const char *store_backend_name(const struct store *s)
{
  return s->be->name;
}

/* Stores e under e->key, replacing any entry there. The store takes its
 * own reference (or a copy on disk); the caller keeps and still drops its
 * own. With STORE_PUT_IF_NEWER an existing entry whose version is >=
 * e->version is kept and CHORD_EEXIST returned; the check and the write are
 * atomic. Returns 0, CHORD_EEXIST, CHORD_EINVAL (unknown flags),
 * CHORD_ENOMEM, or for dir -errno; on error nothing changed in memory or
 * on disk, with one exception: when dir's final directory fsync fails the
 * renamed file is already visible and served, but the error is returned
 * because its durability is unknown. Any thread; dir blocks on disk I/O,
 * so not on the loop thread. */
int store_put(struct store *s, struct store_entry *e, unsigned flags)
{
  uint64_t have;
  int rc;

  if (!e || (flags & ~STORE_PUT_IF_NEWER))
    return CHORD_EINVAL;
  pthread_mutex_lock(&s->lock);
  if (flags & STORE_PUT_IF_NEWER) {
    rc = s->be->version(s->impl, &e->key, &have);
    if (rc == 0 && have >= e->version) {
      rc = CHORD_EEXIST;
      goto out;
    }
    if (rc != 0 && rc != CHORD_ENOTFOUND)
      goto out;
  }
  rc = s->be->put(s->impl, e);
out:
  pthread_mutex_unlock(&s->lock);
  return rc;
}

/* Sets *out to a new reference to the entry under key, which the caller
 * drops with store_entry_unref; it stays valid and unchanged whatever later
 * calls do. Returns 0, CHORD_ENOTFOUND (*out untouched), CHORD_ENOMEM, or
 * for dir CHORD_EIO (a file found corrupt: dropped and counted) or -errno.
 * Any thread; dir blocks on disk I/O. */
int store_get(struct store *s, const struct chord_id *key,
              struct store_entry **out)
{
  int rc;

  pthread_mutex_lock(&s->lock);
  rc = s->be->get(s->impl, key, out);
  pthread_mutex_unlock(&s->lock);
  return rc;
}

/* Removes the entry under key (references already handed out stay valid).
 * Returns 0, CHORD_ENOTFOUND, or for dir -errno with nothing changed.
 * Any thread; dir blocks on disk I/O. */
int store_del(struct store *s, const struct chord_id *key)
{
  int rc;

  pthread_mutex_lock(&s->lock);
  rc = s->be->del(s->impl, key);
  pthread_mutex_unlock(&s->lock);
  return rc;
}

struct collect {
  const struct chord_id *from, *to; /* the range (from, to] */
  struct chord_id *keys;            /* malloc'd */
  size_t n, cap;
  int rc; /* CHORD_ENOMEM once growth failed */
};

static int collect_key(const struct chord_id *key, void *arg)
{
  struct collect *c = arg;

  if (!chord_id_in_oc(key, c->from, c->to))
    return 0;
  if (c->n == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 64;
    struct chord_id *keys;
    if (cap > SIZE_MAX / sizeof(*keys))
      goto fail;
    keys = realloc(c->keys, cap * sizeof(*keys));
    if (!keys)
      goto fail;
    c->keys = keys;
    c->cap = cap;
  }
  c->keys[c->n++] = *key;
  return 0;

fail:
  c->rc = CHORD_ENOMEM;
  return 1;
}

static int cmp_id(const void *a, const void *b)
{
  return chord_id_cmp(a, b);
}

/* Sets *keys to every key in (from, to] (chord_id_in_oc: from == to is the
 * whole ring) in clockwise order from just after from, so with from == to a
 * key equal to from comes last. *keys is malloc'd for the caller to free,
 * NULL when *n is 0. Returns 0, or CHORD_ENOMEM with *keys NULL and *n 0.
 * Any thread; the copy is taken under the lock, the sort after it. */
int store_keys_in(struct store *s, const struct chord_id *from,
                  const struct chord_id *to, struct chord_id **keys, size_t *n)
{
  struct collect c = {.from = from, .to = to};
  struct chord_id start;

  *keys = NULL;
  *n = 0;
  pthread_mutex_lock(&s->lock);
  s->be->each_key(s->impl, collect_key, &c);
  pthread_mutex_unlock(&s->lock);
  if (c.rc) {
    free(c.keys);
    return c.rc;
  }
  if (c.n == 0) {
    free(c.keys);
    return 0;
  }
  /* Clockwise order from just after from = numeric order of
   * key - (from + 1) mod 2^160: shift, sort, shift back. */
  chord_id_add_pow2(&start, from, 0);
  for (size_t i = 0; i < c.n; i++)
    chord_id_sub(&c.keys[i], &c.keys[i], &start);
  qsort(c.keys, c.n, sizeof(*c.keys), cmp_id);
  for (size_t i = 0; i < c.n; i++)
    chord_id_add(&c.keys[i], &c.keys[i], &start);
  *keys = c.keys;
  *n = c.n;
  return 0;
}

/* Sets *count to the number of entries and *bytes to the sum of their
 * content lengths (either may be NULL). Any thread. */
void store_stats(struct store *s, uint64_t *count, uint64_t *bytes)
{
  struct store__stats st;

  pthread_mutex_lock(&s->lock);
  s->be->stats(s->impl, &st);
  pthread_mutex_unlock(&s->lock);
  if (count)
    *count = st.count;
  if (bytes)
    *bytes = st.bytes;
}

/* Returns how many files were skipped at open or dropped at get as corrupt
 * since the store was opened (always 0 for mem). Any thread. */
uint64_t store_corrupt_count(struct store *s)
{
  struct store__stats st;

  pthread_mutex_lock(&s->lock);
  s->be->stats(s->impl, &st);
  pthread_mutex_unlock(&s->lock);
  return st.corrupt;
}

/* --- key -> pointer hash map --------------------------------------------- */

/* Slots allocated by the first insert; the map doubles before more than
 * 3/4 of its slots are used. */
#define MAP_MIN_CAP 16

/* Keys are SHA-1 outputs, but names are chosen by clients, who could grind
 * names whose keys share a bucket. A per-map random seed mixed through a
 * bijective finaliser (splitmix64) makes the bucket unpredictable. */
static size_t map_slot(const struct store__map *m, const struct chord_id *key)
{
  uint64_t x;

  memcpy(&x, key->b, sizeof(x));
  x ^= m->seed;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return (size_t)x & (m->cap - 1);
}

/* Sets up an empty map (no allocation). Any thread, on its own map. */
void store__map_init(struct store__map *m)
{
  memset(m, 0, sizeof(*m));
  if (getrandom(&m->seed, sizeof(m->seed), GRND_NONBLOCK) !=
      (ssize_t)sizeof(m->seed)) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    m->seed = (uint64_t)(uintptr_t)m ^ (uint64_t)ts.tv_nsec ^
              ((uint64_t)ts.tv_sec << 32);
  }
}

/* Frees the slot array; the values belong to the caller. */
void store__map_free(struct store__map *m)
{
  free(m->slots);
  m->slots = NULL;
  m->cap = m->n = 0;
}

/* Index of key's slot, or of the free slot where it would go. The map
 * always has a free slot, so the probe ends. */
static size_t map_find(const struct store__map *m, const struct chord_id *key)
{
  size_t i = map_slot(m, key);

  while (m->slots[i].val && !chord_id_eq(&m->slots[i].key, key))
    i = (i + 1) & (m->cap - 1);
  return i;
}

/* Ensures n entries fit under the load limit: 0, or CHORD_ENOMEM with the
 * map unchanged. */
int store__map_reserve(struct store__map *m, size_t n)
{
  size_t cap = m->cap ? m->cap : MAP_MIN_CAP;
  struct store__map grown;

  if (n > SIZE_MAX / 4)
    return CHORD_ENOMEM;
  while (n * 4 > cap * 3) {
    if (cap > SIZE_MAX / 2 / sizeof(struct store__slot))
      return CHORD_ENOMEM;
    cap *= 2;
  }
  if (cap == m->cap)
    return 0;
  grown = *m;
  grown.cap = cap;
  grown.slots = calloc(cap, sizeof(*grown.slots));
  if (!grown.slots)
    return CHORD_ENOMEM;
  for (size_t i = 0; i < m->cap; i++) {
    if (m->slots[i].val)
      grown.slots[map_find(&grown, &m->slots[i].key)] = m->slots[i];
  }
  free(m->slots);
  *m = grown;
  return 0;
}

/* Returns the value under key, or NULL. */
void *store__map_get(const struct store__map *m, const struct chord_id *key)
{
  if (!m->n)
    return NULL;
  return m->slots[map_find(m, key)].val;
}

/* Sets key to val, *old (may be NULL) to the value it replaces or NULL.
 * 0, or CHORD_ENOMEM with the map unchanged. */
int store__map_set(struct store__map *m, const struct chord_id *key, void *val,
                   void **old)
{
  size_t i;
  int rc;

  rc = store__map_reserve(m, m->n + 1);
  if (rc)
    return rc;
  i = map_find(m, key);
  if (old)
    *old = m->slots[i].val;
  if (!m->slots[i].val) {
    m->slots[i].key = *key;
    m->n++;
  }
  m->slots[i].val = val;
  return 0;
}

/* Removes key with backward-shift deletion (no tombstones): every later
 * entry of the probe run whose home slot is not cyclically in (hole, j]
 * moves into the hole. Returns the removed value or NULL. */
void *store__map_del(struct store__map *m, const struct chord_id *key)
{
  size_t mask = m->cap - 1, hole, j;
  void *val;

  if (!m->n)
    return NULL;
  hole = map_find(m, key);
  val = m->slots[hole].val;
  if (!val)
    return NULL;
  m->slots[hole].val = NULL;
  m->n--;
  for (j = (hole + 1) & mask; m->slots[j].val; j = (j + 1) & mask) {
    size_t home = map_slot(m, &m->slots[j].key);
    /* The entry at j may move to hole unless home lies in (hole, j]. */
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      m->slots[hole] = m->slots[j];
      m->slots[j].val = NULL;
      hole = j;
    }
  }
  return val;
}

/* Returns the next value at or after slot *pos (setting *key), advancing
 * *pos, or NULL at the end. */
void *store__map_next(const struct store__map *m, size_t *pos,
                      const struct chord_id **key)
{
  for (; *pos < m->cap; (*pos)++) {
    if (m->slots[*pos].val) {
      *key = &m->slots[*pos].key;
      return m->slots[(*pos)++].val;
    }
  }
  return NULL;
}
