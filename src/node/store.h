/* SPDX-License-Identifier: MIT */
/* The node's file store: put, get, delete, tombstones, key and version
 * range listing and stats over a backend chosen at open time ("mem" hash table
 * or "dir" one file per entry), as redis ae.c picks a poller. Every store_*
 * call but store_close is thread-safe (loop thread and libuv workers alike). */
#ifndef CHORD_NODE_STORE_H
#define CHORD_NODE_STORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/chord_id.h"

/* store_put flag: keep an existing entry unless the new one is strictly
 * newer by store_entry_cmp. */
#define STORE_PUT_IF_NEWER 0x1u

/* Prefix of the dir backend's temporary files; open removes leftovers. */
#define STORE_DIR_TMP_PREFIX ".tmp-"

/* One stored file, or a tombstone (deleted: no content, name kept) that
 * records a delete so that older copies cannot come back. Immutable once
 * created and shared between threads by reference count: never write to
 * the fields, never free it directly. */
struct store_entry {
  struct chord_id key; /* SHA-1 of name */
  char *name;          /* name_len bytes (any bytes) plus a NUL */
  size_t name_len;     /* bytes in name, without the NUL */
  uint8_t *content;    /* len bytes; NULL or empty when len is 0 */
  size_t len;          /* bytes in content */
  uint64_t version;    /* higher is newer; see store_entry_cmp */
  bool deleted;        /* tombstone: len is 0 */
  bool manifest;       /* content is a chord.v1.Manifest (a chunked file) */
  bool chunk;          /* name starts with NAME_CHUNK_PREFIX: a file's chunk */
  atomic_size_t refs;  /* private: use store_entry_ref/store_entry_unref */
};

/* One entry as store_versions_in lists it. */
struct store_kv {
  struct chord_id key; /* SHA-1 of the entry's name */
  uint64_t version;    /* entry version */
  bool deleted;        /* tombstone */
};

struct store;

/* A new entry (1 reference) with copies of name and content, or NULL. */
struct store_entry *store_entry_create(const char *name, size_t name_len,
                                       const void *content, size_t len,
                                       uint64_t version);
/* As store_entry_create, marked as a manifest (see store_entry.manifest). */
struct store_entry *store_manifest_create(const char *name, size_t name_len,
                                          const void *content, size_t len,
                                          uint64_t version);
/* A new tombstone (1 reference) for name at version, or NULL. */
struct store_entry *store_tombstone_create(const char *name, size_t name_len,
                                           uint64_t version);
/* Orders two entries of one key: >0 when a is newer than b, <0 when older,
 * 0 when equal (version, then tombstone, then len, then content). */
int store_entry_cmp(const struct store_entry *a, const struct store_entry *b);
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
/* *out = a new reference to the entry (or tombstone) under key (caller
 * unrefs), or CHORD_ENOTFOUND or an error. */
int store_get(struct store *s, const struct chord_id *key,
              struct store_entry **out);
/* Removes the entry or tombstone under key: 0, CHORD_ENOTFOUND, or an
 * error. */
int store_del(struct store *s, const struct chord_id *key);
/* Removes the entry under key only while it is at version: 0,
 * CHORD_EEXIST (another version is stored now), CHORD_ENOTFOUND, or an
 * error. */
int store_del_version(struct store *s, const struct chord_id *key,
                      uint64_t version);
/* The highest version stored (0 when empty or on failure). */
uint64_t store_max_version(struct store *s);
/* *keys = the keys (tombstones too) in (from, to] in clockwise order,
 * malloc'd for the caller to free (NULL when *n is 0): 0 or CHORD_ENOMEM. */
int store_keys_in(struct store *s, const struct chord_id *from,
                  const struct chord_id *to, struct chord_id **keys, size_t *n);
/* *out = key, version and tombstone flag of every entry in (from, to], in
 * store_keys_in's order, malloc'd for the caller (NULL when *n is 0): 0 or
 * CHORD_ENOMEM. */
int store_versions_in(struct store *s, const struct chord_id *from,
                      const struct chord_id *to, struct store_kv **out,
                      size_t *n);
/* Counts the live entries (not tombstones) whose keys are in (from, to].
 * 0, or what store_versions_in returned (*n is then 0). */
int store_live_count_in(struct store *s, const struct chord_id *from,
                        const struct chord_id *to, uint64_t *n);
/* *out = key and version of every live chunk entry (store_entry.chunk) in
 * (from, to] whose version < older_than, in store_keys_in's order,
 * malloc'd for the caller (NULL when *n is 0): 0 or CHORD_ENOMEM. */
int store_chunks_in(struct store *s, const struct chord_id *from,
                    const struct chord_id *to, uint64_t older_than,
                    struct store_kv **out, size_t *n);
/* *name = a malloc'd, NUL-terminated copy of the name stored under key
 * (*len bytes), without reading the content: 0, CHORD_ENOTFOUND, or an
 * error. */
int store_get_name(struct store *s, const struct chord_id *key, char **name,
                   size_t *len);
/* Number of live chunk entries held. */
uint64_t store_chunk_count(struct store *s);
/* Number of live entries (not tombstones) and sum of their content lengths. */
void store_stats(struct store *s, uint64_t *count, uint64_t *bytes);
/* Number of tombstones held. */
uint64_t store_tombstone_count(struct store *s);
/* Removes every tombstone whose version < older_than; *purged = how many:
 * 0 or an error. */
int store_purge_tombstones(struct store *s, uint64_t older_than,
                           size_t *purged);
/* Files skipped or dropped as corrupt since open (always 0 for mem). */
uint64_t store_corrupt_count(struct store *s);

#ifdef STORE__BACKEND
/* Private backend interface, shared by store.c, store_map.c, store_mem.c
 * and store_dir.c only. store.c serialises every call with the store's mutex,
 * so backends need no locking of their own. */

/* What a backend's index knows of an entry without reading its content. */
struct store__meta {
  uint64_t version; /* entry version */
  uint64_t len;     /* content length (0 for a tombstone) */
  bool deleted;     /* tombstone */
  bool manifest;    /* a chunked file's manifest */
  bool chunk;       /* a chunk (by its name) */
};

/* Called per entry by each; nonzero stops the walk. */
typedef int (*store__each_cb)(const struct chord_id *key,
                              const struct store__meta *m, void *arg);

struct store__stats {
  uint64_t count;      /* live entries (tombstones excluded) */
  uint64_t bytes;      /* sum of live content lengths */
  uint64_t tombstones; /* tombstones */
  uint64_t chunks;     /* live chunk entries */
  uint64_t corrupt;    /* files skipped or dropped as corrupt */
};

struct store__backend {
  const char *name; /* "mem" or "dir" */
  /* Frees impl and everything it holds. */
  void (*close)(void *impl);
  /* *m = the entry under key's metadata: 0, CHORD_ENOTFOUND or an error.
   * Never reads content. */
  int (*meta)(void *impl, const struct chord_id *key, struct store__meta *m);
  /* Stores e (taking a reference if it keeps e): 0 or an error, in which
   * case nothing changed. */
  int (*put)(void *impl, struct store_entry *e);
  /* *out = a new reference: 0, CHORD_ENOTFOUND or an error. */
  int (*get)(void *impl, const struct chord_id *key, struct store_entry **out);
  /* 0, CHORD_ENOTFOUND or an error (nothing changed). */
  int (*del)(void *impl, const struct chord_id *key);
  /* Calls cb on every stored entry (tombstones too), in no particular
   * order, without reading content. cb must not change the store. */
  void (*each)(void *impl, store__each_cb cb, void *arg);
  /* *name = a malloc'd copy of the name under key (*len bytes, plus a
   * NUL), reading no content: 0, CHORD_ENOTFOUND or an error. */
  int (*get_name)(void *impl, const struct chord_id *key, char **name,
                  size_t *len);
  void (*stats)(void *impl, struct store__stats *st);
};

extern const struct store__backend store__mem_backend;
extern const struct store__backend store__dir_backend;

/* Backend constructors: impl, or NULL (mem: out of memory; dir: *err). */
void *store__mem_open(void);
void *store__dir_open(const char *dir, int *err);

/* An entry (1 reference, not deleted) whose name and content buffers are
 * allocated but not filled, key zeroed; the name's NUL is set. NULL on overflow
 * or out of memory. The caller fills it before sharing it. */
struct store_entry *store__entry_alloc(size_t name_len, size_t len,
                                       uint64_t version);

/* Hash map from key to a non-NULL pointer, in store_map.c (open addressing,
 * linear probing, keyed hash). Not thread-safe; values are not owned. */
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
