/* SPDX-License-Identifier: MIT */
/* In-memory store backend: a hash map from key to a shared entry reference.
 * Lock-free itself; store.c serialises the calls. */
#define STORE__BACKEND
#include "node/store.h"

#include <stdlib.h>

#include "common/err.h"

struct store_mem {
  struct store__map map; /* key -> struct store_entry *, one reference each */
  uint64_t bytes;        /* sum of content lengths */
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

static int mem_version(void *impl, const struct chord_id *key,
                       uint64_t *version)
{
  struct store_mem *m = impl;
  struct store_entry *e = store__map_get(&m->map, key);

  if (!e)
    return CHORD_ENOTFOUND;
  *version = e->version;
  return 0;
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
    m->bytes -= old->len;
    store_entry_unref(old);
  }
  m->bytes += e->len;
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
  m->bytes -= e->len;
  store_entry_unref(e);
  return 0;
}

static void mem_each_key(void *impl, store__key_cb cb, void *arg)
{
  struct store_mem *m = impl;
  const struct chord_id *key;
  size_t pos = 0;

  while (store__map_next(&m->map, &pos, &key)) {
    if (cb(key, arg))
      break;
  }
}

static void mem_stats(void *impl, struct store__stats *st)
{
  struct store_mem *m = impl;

  st->count = m->map.n;
  st->bytes = m->bytes;
  st->corrupt = 0;
}

const struct store__backend store__mem_backend = {
    .name = "mem",
    .close = mem_close,
    .version = mem_version,
    .put = mem_put,
    .get = mem_get,
    .del = mem_del,
    .each_key = mem_each_key,
    .stats = mem_stats,
};
