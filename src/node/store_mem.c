/* SPDX-License-Identifier: MIT */
/* In-memory store backend: a hash map from key to a shared entry (or
 * tombstone) reference. Lock-free itself; store.c serialises the calls. */
#define STORE__BACKEND
#include "node/store.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"

struct store_mem {
  struct store__map map; /* key -> struct store_entry *, one reference each */
  uint64_t bytes;        /* sum of live content lengths */
  uint64_t tombstones;   /* entries in map that are tombstones */
  uint64_t chunks;       /* live chunk entries in map */
};

/* Returns an empty backend, or NULL when out of memory. */
void *store__mem_open(void)
{
  struct store_mem *m = calloc(1, sizeof(*m));

  if (!m)
    return NULL;
  store__map_init(&m->map);
  return m;
}

static void mem_close(void *impl)
{
  struct store_mem *m = impl;
  const struct chord_id *key;
  struct store_entry *e;
  size_t pos = 0;

  while ((e = store__map_next(&m->map, &pos, &key)))
    store_entry_unref(e);
  store__map_free(&m->map);
  free(m);
}

static void fill_meta(const struct store_entry *e, struct store__meta *meta)
{
  meta->version = e->version;
  meta->len = e->len;
  meta->deleted = e->deleted;
  meta->manifest = e->manifest;
  meta->chunk = e->chunk;
}

static int mem_meta(void *impl, const struct chord_id *key,
                    struct store__meta *meta)
{
  struct store_mem *m = impl;
  struct store_entry *e = store__map_get(&m->map, key);

  if (!e)
    return CHORD_ENOTFOUND;
  fill_meta(e, meta);
  return 0;
}

/* Counts e in the totals (added true) or takes it out of them. */
static void account(struct store_mem *m, const struct store_entry *e,
                    bool added)
{
  if (e->deleted)
    m->tombstones = added ? m->tombstones + 1 : m->tombstones - 1;
  else
    m->bytes = added ? m->bytes + e->len : m->bytes - e->len;
  if (e->chunk && !e->deleted)
    m->chunks = added ? m->chunks + 1 : m->chunks - 1;
}

/* Keeps a reference to e itself (no copy); the replaced entry loses the
 * map's reference, so holders of other references are unaffected. */
static int mem_put(void *impl, struct store_entry *e)
{
  struct store_mem *m = impl;
  struct store_entry *old;
  void *prev;
  int rc;

  rc = store__map_set(&m->map, &e->key, e, &prev);
  if (rc)
    return rc;
  store_entry_ref(e);
  old = prev;
  if (old) {
    account(m, old, false);
    store_entry_unref(old);
  }
  account(m, e, true);
  return 0;
}

static int mem_get(void *impl, const struct chord_id *key,
                   struct store_entry **out)
{
  struct store_mem *m = impl;
  struct store_entry *e = store__map_get(&m->map, key);

  if (!e)
    return CHORD_ENOTFOUND;
  *out = store_entry_ref(e);
  return 0;
}

static int mem_del(void *impl, const struct chord_id *key)
{
  struct store_mem *m = impl;
  struct store_entry *e = store__map_del(&m->map, key);

  if (!e)
    return CHORD_ENOTFOUND;
  account(m, e, false);
  store_entry_unref(e);
  return 0;
}

static void mem_each(void *impl, store__each_cb cb, void *arg)
{
  struct store_mem *m = impl;
  const struct chord_id *key;
  struct store__meta meta;
  struct store_entry *e;
  size_t pos = 0;

  while ((e = store__map_next(&m->map, &pos, &key))) {
    fill_meta(e, &meta);
    if (cb(key, &meta, arg))
      break;
  }
}

static void mem_stats(void *impl, struct store__stats *st)
{
  struct store_mem *m = impl;

  st->count = m->map.n - m->tombstones;
  st->bytes = m->bytes;
  st->tombstones = m->tombstones;
  st->chunks = m->chunks;
  st->corrupt = 0;
}

static int mem_name(void *impl, const struct chord_id *key, char **name,
                    size_t *len)
{
  struct store_mem *m = impl;
  struct store_entry *e = store__map_get(&m->map, key);

  if (!e)
    return CHORD_ENOTFOUND;
  *name = malloc(e->name_len + 1);
  if (!*name)
    return CHORD_ENOMEM;
  memcpy(*name, e->name, e->name_len + 1);
  *len = e->name_len;
  return 0;
}

const struct store__backend store__mem_backend = {
    .name = "mem",
    .close = mem_close,
    .meta = mem_meta,
    .put = mem_put,
    .get = mem_get,
    .del = mem_del,
    .each = mem_each,
    .stats = mem_stats,
    .get_name = mem_name,
};
