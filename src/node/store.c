/* SPDX-License-Identifier: MIT */
/* Store interface: reference-counted entries and tombstones, their order,
 * the mutex that makes every call thread-safe, dispatch to a backend ops
 * table, the key and version range listings and tombstone purge. */
#define STORE__BACKEND
#include "node/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/name.h"

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
  e->deleted = false;
  e->manifest = false;
  e->chunk = false;
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
  e->chunk = name_is_chunk(e->name, name_len);
  return e;
}

struct store_entry *store_manifest_create(const char *name, size_t name_len,
                                          const void *content, size_t len,
                                          uint64_t version)
{
  struct store_entry *e =
      store_entry_create(name, name_len, content, len, version);
  if (e)
    e->manifest = true; /* not shared yet */
  return e;
}

/* Returns a new tombstone with 1 reference that the caller drops with
 * store_entry_unref: deleted set, key = SHA-1(name) as store_entry_create
 * computes it, a copy of name, no content (len 0), the given version. name
 * may be NULL only when name_len is 0. NULL on bad arguments or out of
 * memory. Any thread. */
struct store_entry *store_tombstone_create(const char *name, size_t name_len,
                                           uint64_t version)
{
  struct store_entry *e = store_entry_create(name, name_len, NULL, 0, version);

  if (e)
    e->deleted = true; /* not shared yet */
  return e;
}

static struct store__meta entry_meta(const struct store_entry *e)
{
  return (struct store__meta){.version = e->version,
                              .len = e->len,
                              .deleted = e->deleted,
                              .manifest = e->manifest,
                              .chunk = e->chunk};
}

/* The part of store_entry_cmp's order that an index can answer: version,
 * then a tombstone over a live entry, then the longer content. 0 when
 * these tie, which leaves the content to decide for two live entries. */
static int cmp_meta(const struct store__meta *a, const struct store__meta *b)
{
  if (a->version != b->version)
    return a->version > b->version ? 1 : -1;
  if (a->deleted != b->deleted)
    return a->deleted ? 1 : -1;
  if (a->len != b->len)
    return a->len > b->len ? 1 : -1;
  return 0;
}

/* Total order on the entries of one key, the one STORE_PUT_IF_NEWER uses
 * so that replicas that exchange entries in any order agree on a winner:
 *   1. the higher version is newer;
 *   2. on equal versions a tombstone is newer than a live entry;
 *   3. on equal versions two live entries order by content length (longer
 *      is newer), then by memcmp of their contents (greater is newer).
 * Two tombstones with equal versions are equal. Names are not compared
 * (entries of one key share their name). Returns >0 when a is newer than b,
 * <0 when b is newer, 0 when equal. Any thread. */
int store_entry_cmp(const struct store_entry *a, const struct store_entry *b)
{
  struct store__meta ma = entry_meta(a), mb = entry_meta(b);
  int c = cmp_meta(&ma, &mb);

  if (c || !a->len)
    return c;
  c = memcmp(a->content, b->content, a->len);
  return (c > 0) - (c < 0);
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

/* With s locked: 0 when e may replace what is stored under its key under
 * STORE_PUT_IF_NEWER (nothing there, or e strictly newer by
 * store_entry_cmp), CHORD_EEXIST when the stored entry is kept, or an
 * error. The content is read back (dir: from disk) only to break a tie
 * between two live entries of equal version and length; if that read finds
 * the file corrupt the backend has dropped it, so e may take its place. */
static int check_newer(struct store *s, struct store_entry *e)
{
  struct store__meta have, want = entry_meta(e);
  struct store_entry *old;
  int c, rc;

  rc = s->be->meta(s->impl, &e->key, &have);
  if (rc)
    return rc == CHORD_ENOTFOUND ? 0 : rc;
  c = cmp_meta(&want, &have);
  if (c == 0 && want.len) {
    rc = s->be->get(s->impl, &e->key, &old);
    if (rc)
      return rc == CHORD_EIO || rc == CHORD_ENOTFOUND ? 0 : rc;
    c = store_entry_cmp(e, old);
    store_entry_unref(old);
  }
  return c > 0 ? 0 : CHORD_EEXIST;
}

/* Stores e (an entry or a tombstone) under e->key, replacing any entry
 * there. The store takes its own reference (or a copy on disk); the caller
 * keeps and still drops its own. With STORE_PUT_IF_NEWER the existing
 * entry is kept and CHORD_EEXIST returned unless e is strictly newer by
 * store_entry_cmp (so an equal entry is kept too); the check and the write
 * are atomic. Returns 0, CHORD_EEXIST, CHORD_EINVAL (unknown flags),
 * CHORD_ENOMEM, or for dir -errno; on error nothing changed in memory or
 * on disk, with one exception: when dir's final directory fsync fails the
 * renamed file is already visible and served, but the error is returned
 * because its durability is unknown. Any thread; dir blocks on disk I/O,
 * so not on the loop thread. */
int store_put(struct store *s, struct store_entry *e, unsigned flags)
{
  int rc;

  if (!e || (flags & ~STORE_PUT_IF_NEWER))
    return CHORD_EINVAL;
  pthread_mutex_lock(&s->lock);
  if (flags & STORE_PUT_IF_NEWER) {
    rc = check_newer(s, e);
    if (rc)
      goto out;
  }
  rc = s->be->put(s->impl, e);
out:
  pthread_mutex_unlock(&s->lock);
  return rc;
}

/* Sets *out to a new reference to the entry under key, which the caller
 * drops with store_entry_unref; it stays valid and unchanged whatever later
 * calls do. A tombstone is returned like any entry: the caller checks
 * (*out)->deleted. Returns 0, CHORD_ENOTFOUND (*out untouched), CHORD_ENOMEM,
 * or for dir CHORD_EIO (a file found corrupt: dropped and counted) or -errno.
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

/* Removes the entry or tombstone under key for good, leaving no tombstone
 * (references already handed out stay valid). Returns 0, CHORD_ENOTFOUND,
 * or for dir -errno with nothing changed. Any thread; dir blocks on disk
 * I/O. */
int store_del(struct store *s, const struct chord_id *key)
{
  int rc;

  pthread_mutex_lock(&s->lock);
  rc = s->be->del(s->impl, key);
  pthread_mutex_unlock(&s->lock);
  return rc;
}

int store_del_version(struct store *s, const struct chord_id *key,
                      uint64_t version)
{
  struct store__meta m;
  int rc;

  pthread_mutex_lock(&s->lock);
  rc = s->be->meta(s->impl, key, &m);
  if (rc == 0)
    rc = m.version == version ? s->be->del(s->impl, key) : CHORD_EEXIST;
  pthread_mutex_unlock(&s->lock);
  return rc;
}

uint64_t store_max_version(struct store *s)
{
  struct store_kv *kv = NULL;
  size_t n = 0;
  uint64_t max = 0;
  struct chord_id any;
  memset(&any, 0, sizeof(any));
  if (store_versions_in(s, &any, &any, &kv, &n))
    return 0;
  for (size_t i = 0; i < n; i++)
    if (kv[i].version > max)
      max = kv[i].version;
  free(kv);
  return max;
}

/* Gathers, under the lock, either keys (struct chord_id) in a range, or
 * struct store_kv in a range, or the keys of tombstones older than a
 * version. Every item starts with its key. */
struct collect {
  const struct chord_id *from, *to; /* the range (from, to] */
  bool purge;          /* tombstones with version < older_than instead */
  bool chunks;         /* only live chunks with version < older_than */
  uint64_t older_than; /* with purge or chunks */
  size_t size;         /* bytes per item: a chord_id or a store_kv */
  void *items;         /* malloc'd */
  size_t n, cap;
  int rc; /* CHORD_ENOMEM once growth failed */
};

static int collect_one(const struct chord_id *key, const struct store__meta *m,
                       void *arg)
{
  struct collect *c = arg;
  char *dst;

  if (c->purge ? !m->deleted || m->version >= c->older_than
               : !chord_id_in_oc(key, c->from, c->to))
    return 0;
  if (c->chunks && (!m->chunk || m->deleted || m->version >= c->older_than))
    return 0;
  if (c->n == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 64;
    void *items;
    if (cap > SIZE_MAX / c->size)
      goto fail;
    items = realloc(c->items, cap * c->size);
    if (!items)
      goto fail;
    c->items = items;
    c->cap = cap;
  }
  dst = (char *)c->items + c->n++ * c->size;
  if (c->size == sizeof(struct store_kv)) {
    struct store_kv kv = {
        .key = *key, .version = m->version, .deleted = m->deleted};
    memcpy(dst, &kv, sizeof(kv));
  } else {
    memcpy(dst, key, sizeof(*key));
  }
  return 0;

fail:
  c->rc = CHORD_ENOMEM;
  return 1;
}

/* Items start with their key (a chord_id, or a store_kv's first member). */
static int cmp_id(const void *a, const void *b)
{
  return chord_id_cmp(a, b);
}

/* The listing behind store_keys_in and store_versions_in: items of size
 * bytes for every entry in (from, to], in clockwise order from just after
 * from. *out is malloc'd, NULL when *n is 0. 0, or CHORD_ENOMEM with *out
 * NULL and *n 0. The copy is taken under the lock, the sort after it. */
static int list_in(struct store *s, struct collect c, void **out, size_t *n)
{
  const struct chord_id *from = c.from;
  size_t size = c.size;
  struct chord_id start;

  *out = NULL;
  *n = 0;
  pthread_mutex_lock(&s->lock);
  s->be->each(s->impl, collect_one, &c);
  pthread_mutex_unlock(&s->lock);
  if (c.rc || c.n == 0) {
    free(c.items);
    return c.rc;
  }
  /* Clockwise order from just after from = numeric order of
   * key - (from + 1) mod 2^160: shift, sort, shift back. */
  chord_id_add_pow2(&start, from, 0);
  for (size_t i = 0; i < c.n; i++) {
    struct chord_id *k = (struct chord_id *)((char *)c.items + i * size);
    chord_id_sub(k, k, &start);
  }
  qsort(c.items, c.n, size, cmp_id);
  for (size_t i = 0; i < c.n; i++) {
    struct chord_id *k = (struct chord_id *)((char *)c.items + i * size);
    chord_id_add(k, k, &start);
  }
  *out = c.items;
  *n = c.n;
  return 0;
}

/* Sets *keys to every key in (from, to] (chord_id_in_oc: from == to is the
 * whole ring) in clockwise order from just after from, so with from == to a
 * key equal to from comes last. Tombstones are listed too. *keys is
 * malloc'd for the caller to free, NULL when *n is 0. Returns 0, or
 * CHORD_ENOMEM with *keys NULL and *n 0. Any thread; never reads content. */
int store_keys_in(struct store *s, const struct chord_id *from,
                  const struct chord_id *to, struct chord_id **keys, size_t *n)
{
  struct collect c = {.from = from, .to = to, .size = sizeof(**keys)};
  void *items;
  int rc = list_in(s, c, &items, n);

  *keys = items;
  return rc;
}

/* Sets *out to the key, version and tombstone flag of every entry
 * (tombstones included) whose key is in (from, to], with the range and
 * order of store_keys_in. *out is malloc'd for the caller to free, NULL
 * when *n is 0. Returns 0, or CHORD_ENOMEM with *out NULL and *n 0. Any
 * thread; never reads content (dir answers from its index). */
int store_versions_in(struct store *s, const struct chord_id *from,
                      const struct chord_id *to, struct store_kv **out,
                      size_t *n)
{
  struct collect c = {.from = from, .to = to, .size = sizeof(**out)};
  void *items;
  int rc = list_in(s, c, &items, n);

  *out = items;
  return rc;
}

int store_live_count_in(struct store *s, const struct chord_id *from,
                        const struct chord_id *to, uint64_t *n)
{
  struct store_kv *kv = NULL;
  size_t nkv = 0;
  int rc = store_versions_in(s, from, to, &kv, &nkv);
  *n = 0;
  for (size_t i = 0; !rc && i < nkv; i++)
    *n += !kv[i].deleted;
  free(kv);
  return rc;
}

int store_chunks_in(struct store *s, const struct chord_id *from,
                    const struct chord_id *to, uint64_t older_than,
                    struct store_kv **out, size_t *n)
{
  struct collect c = {.from = from,
                      .to = to,
                      .chunks = true,
                      .older_than = older_than,
                      .size = sizeof(**out)};
  void *items;
  int rc = list_in(s, c, &items, n);

  *out = items;
  return rc;
}

int store_get_name(struct store *s, const struct chord_id *key, char **name,
                   size_t *len)
{
  int rc;

  pthread_mutex_lock(&s->lock);
  rc = s->be->get_name(s->impl, key, name, len);
  pthread_mutex_unlock(&s->lock);
  return rc;
}

uint64_t store_chunk_count(struct store *s)
{
  struct store__stats st;

  pthread_mutex_lock(&s->lock);
  s->be->stats(s->impl, &st);
  pthread_mutex_unlock(&s->lock);
  return st.chunks;
}

/* Sets *count to the number of live entries (tombstones not counted) and
 * *bytes to the sum of their content lengths (either may be NULL). Any
 * thread. */
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

/* Returns the number of tombstones held. Any thread. */
uint64_t store_tombstone_count(struct store *s)
{
  struct store__stats st;

  pthread_mutex_lock(&s->lock);
  s->be->stats(s->impl, &st);
  pthread_mutex_unlock(&s->lock);
  return st.tombstones;
}

/* Removes every tombstone whose version is < older_than, live entries and
 * newer tombstones untouched, atomically with respect to other calls. Sets
 * *purged (may be NULL) to how many were removed, also on error. Returns 0,
 * CHORD_ENOMEM (nothing removed), or for dir -errno from the first removal
 * that failed (the ones before it stay removed). Any thread; dir blocks on
 * disk I/O (a directory fsync per tombstone). */
int store_purge_tombstones(struct store *s, uint64_t older_than, size_t *purged)
{
  struct collect c = {
      .purge = true, .older_than = older_than, .size = sizeof(struct chord_id)};
  struct store__stats before, after;
  struct chord_id *keys;
  int rc;

  pthread_mutex_lock(&s->lock);
  s->be->stats(s->impl, &before);
  s->be->each(s->impl, collect_one, &c);
  rc = c.rc;
  keys = c.items;
  for (size_t i = 0; !rc && i < c.n; i++)
    rc = s->be->del(s->impl, &keys[i]);
  s->be->stats(s->impl, &after);
  pthread_mutex_unlock(&s->lock);
  free(c.items);
  if (purged)
    *purged = (size_t)(before.tombstones - after.tombstones);
  return rc;
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
