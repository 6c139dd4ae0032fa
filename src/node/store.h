/* SPDX-License-Identifier: MIT */
/* The node's file store: put, get, delete, key-range listing and stats over
 * a backend chosen at open time ("mem" hash table or "dir" one file per
 * entry), as redis ae.c picks a poller. Every store_* call but store_close
 * is thread-safe (loop thread and libuv workers alike). */
#ifndef CHORD_NODE_STORE_H
#define CHORD_NODE_STORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/chord_id.h"

/* store_put flag: keep an existing entry whose version is >= the new one. */
#define STORE_PUT_IF_NEWER 0x1u

/* Prefix of the dir backend's temporary files; open removes leftovers. */
#define STORE_DIR_TMP_PREFIX ".tmp-"

/* One stored file. Immutable once created and shared between threads by
 * reference count: never write to the fields, never free it directly. */
struct store_entry {
  struct chord_id key; /* SHA-1 of name */
  char *name;          /* name_len bytes (any bytes) plus a NUL */
  size_t name_len;     /* bytes in name, without the NUL */
  uint8_t *content;    /* len bytes; NULL or empty when len is 0 */
  size_t len;          /* bytes in content */
  uint64_t version;    /* higher is newer; compared by STORE_PUT_IF_NEWER */
  atomic_size_t refs;  /* private: use store_entry_ref/store_entry_unref */
};

struct store;

/* A new entry (1 reference) with copies of name and content, or NULL. */
struct store_entry *store_entry_create(const char *name, size_t name_len,
                                       const void *content, size_t len,
                                       uint64_t version);
/* Adds a reference and returns e (NULL-safe). Any thread. */
struct store_entry *store_entry_ref(struct store_entry *e);
/* Drops a reference, freeing e on the last one (NULL-safe). Any thread. */
void store_entry_unref(struct store_entry *e);

/* An empty in-memory store, or NULL; free with store_close. */
struct store *store_open_mem(void);
/* A store over the files in dir (created 0700 if missing), or NULL with
 * *err set. Free with store_close. */
struct store *store_open_dir(const char *dir, int *err);
/* Frees s and every reference it holds (NULL-safe); no call may race it. */
void store_close(struct store *s);
/* "mem" or "dir"; a static string. */
const char *store_backend_name(const struct store *s);

/* Stores e, taking a reference of its own: 0, CHORD_EEXIST, or an error. */
int store_put(struct store *s, struct store_entry *e, unsigned flags);
/* *out = a new reference to the entry under key (caller unrefs), or
 * CHORD_ENOTFOUND or an error. */
int store_get(struct store *s, const struct chord_id *key,
              struct store_entry **out);
/* Removes the entry under key: 0, CHORD_ENOTFOUND, or an error. */
int store_del(struct store *s, const struct chord_id *key);
/* *keys = the keys in (from, to] in clockwise order, malloc'd for the caller
 * to free (NULL when *n is 0): 0 or CHORD_ENOMEM. */
int store_keys_in(struct store *s, const struct chord_id *from,
                  const struct chord_id *to, struct chord_id **keys, size_t *n);
/* Number of entries and sum of their content lengths. */
void store_stats(struct store *s, uint64_t *count, uint64_t *bytes);
/* Files skipped or dropped as corrupt since open (always 0 for mem). */
uint64_t store_corrupt_count(struct store *s);

#ifdef STORE__BACKEND
/* Private backend interface, shared by store.c, store_mem.c and store_dir.c
 * only. store.c serialises every call with the store's mutex, so backends
 * need no locking of their own. */

/* Called per key by each_key; nonzero stops the walk. */
typedef int (*store__key_cb)(const struct chord_id *key, void *arg);

struct store__stats {
  uint64_t count;   /* entries */
  uint64_t bytes;   /* sum of content lengths */
  uint64_t corrupt; /* files skipped or dropped as corrupt */
};

struct store__backend {
  const char *name; /* "mem" or "dir" */
  /* Frees impl and everything it holds. */
  void (*close)(void *impl);
  /* *version of the entry under key: 0, CHORD_ENOTFOUND or an error. */
  int (*version)(void *impl, const struct chord_id *key, uint64_t *version);
  /* Stores e (taking a reference if it keeps e): 0 or an error, in which
   * case nothing changed. */
  int (*put)(void *impl, struct store_entry *e);
  /* *out = a new reference: 0, CHORD_ENOTFOUND or an error. */
  int (*get)(void *impl, const struct chord_id *key, struct store_entry **out);
  /* 0, CHORD_ENOTFOUND or an error (nothing changed). */
  int (*del)(void *impl, const struct chord_id *key);
  /* Calls cb on every stored key, in no particular order. */
  void (*each_key)(void *impl, store__key_cb cb, void *arg);
  void (*stats)(void *impl, struct store__stats *st);
};

extern const struct store__backend store__mem_backend;
extern const struct store__backend store__dir_backend;

/* Backend constructors: impl, or NULL (mem: out of memory; dir: *err). */
void *store__mem_open(void);
void *store__dir_open(const char *dir, int *err);

/* An entry (1 reference) whose name and content buffers are allocated but
 * not filled, key zeroed; the name's NUL is set. NULL on overflow or out of
 * memory. The caller fills it before sharing it. */
struct store_entry *store__entry_alloc(size_t name_len, size_t len,
                                       uint64_t version);

/* Hash map from key to a non-NULL pointer (open addressing, linear probing,
 * keyed hash). Not thread-safe; values are not owned. */
struct store__slot {
  struct chord_id key;
  void *val; /* NULL marks a free slot */
};

struct store__map {
  struct store__slot *slots; /* cap slots */
  size_t cap;                /* 0 or a power of two */
  size_t n;                  /* used slots */
  uint64_t seed;             /* random hash key against crafted keys */
};

void store__map_init(struct store__map *m);
/* Frees the slots, not the values. */
void store__map_free(struct store__map *m);
/* Makes room so that n entries fit without allocating: 0 or CHORD_ENOMEM
 * (map unchanged). */
int store__map_reserve(struct store__map *m, size_t n);
/* The value under key, or NULL. */
void *store__map_get(const struct store__map *m, const struct chord_id *key);
/* Sets key to val (non-NULL); *old = the replaced value or NULL. 0, or
 * CHORD_ENOMEM with the map unchanged (never after a store__map_reserve
 * covering this insert). */
int store__map_set(struct store__map *m, const struct chord_id *key, void *val,
                   void **old);
/* Removes key and returns its value, or NULL when absent. */
void *store__map_del(struct store__map *m, const struct chord_id *key);
/* Iteration: start with *pos = 0; returns the next value (and *key) or
 * NULL at the end. The map must not change during the walk. */
void *store__map_next(const struct store__map *m, size_t *pos,
                      const struct chord_id **key);
#endif /* STORE__BACKEND */

#endif
