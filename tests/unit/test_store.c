/* SPDX-License-Identifier: MIT */
/* Unit tests for the file store: one table of behaviour tests run against
 * both backends (mem, and dir in a mkdtemp directory), tombstones and their
 * order, dir-only tests for reload, temporary files, corruption and the
 * on-disk flags, and a multi-thread test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/chord_id.h"
#include "common/err.h"
#include "node/store.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

enum backend { BACKEND_MEM, BACKEND_DIR };

/* Prestates for the fixture (cmocka wants non-const pointers). */
static enum backend kind_mem = BACKEND_MEM;
static enum backend kind_dir = BACKEND_DIR;

struct fixture {
  enum backend kind;      /* which backend s is */
  char parent[PATH_MAX];  /* mkdtemp directory, holds only the data dir */
  char dir[PATH_MAX + 8]; /* parent/data, the dir backend's directory */
  struct store *s;        /* the store under test */
};

/* --- fixture ------------------------------------------------------------- */

static struct store *open_kind(struct fixture *f)
{
  int err = 0;
  struct store *s;

  if (f->kind == BACKEND_MEM)
    return store_open_mem();
  s = store_open_dir(f->dir, &err);
  if (!s)
    fprintf(stderr, "store_open_dir(%s): %s\n", f->dir, chord_strerror(err));
  return s;
}

static int setup(void **state)
{
  const enum backend *kind = *state;
  const char *tmp = getenv("TMPDIR");
  struct fixture *f = calloc(1, sizeof(*f));

  if (!f)
    return -1;
  f->kind = kind ? *kind : BACKEND_MEM;
  snprintf(f->parent, sizeof(f->parent), "%s/chord-store-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(f->parent))
    goto fail;
  snprintf(f->dir, sizeof(f->dir), "%s/data", f->parent);
  f->s = open_kind(f);
  if (!f->s)
    goto fail;
  *state = f;
  return 0;

fail:
  if (f->parent[0])
    rmdir(f->parent);
  free(f);
  return -1;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static int teardown(void **state)
{
  struct fixture *f = *state;

  store_close(f->s);
  nftw(f->parent, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  free(f);
  return 0;
}

/* Closes and reopens the fixture's store (dir backend). */
static void reopen(struct fixture *f)
{
  store_close(f->s);
  f->s = open_kind(f);
  assert_non_null(f->s);
}

/* --- helpers ------------------------------------------------------------- */

static struct store_entry *mk(const char *name, const char *content,
                              uint64_t version)
{
  struct store_entry *e = store_entry_create(
      name, strlen(name), content, content ? strlen(content) : 0, version);
  assert_non_null(e);
  return e;
}

/* Puts name -> content at version; asserts the result is want. */
static void put_str(struct store *s, const char *name, const char *content,
                    uint64_t version, unsigned flags, int want)
{
  struct store_entry *e = mk(name, content, version);

  assert_int_equal(store_put(s, e, flags), want);
  store_entry_unref(e);
}

static struct chord_id key_of(const char *name)
{
  struct chord_id k;

  chord_id_sha1(&k, name, strlen(name));
  return k;
}

/* Asserts that the store holds name -> content (len bytes) at version. */
static void expect_entry(struct store *s, const char *name, size_t name_len,
                         const void *content, size_t len, uint64_t version)
{
  struct store_entry *g = NULL;
  struct chord_id k;

  chord_id_sha1(&k, name, name_len);
  assert_int_equal(store_get(s, &k, &g), 0);
  assert_non_null(g);
  assert_true(chord_id_eq(&g->key, &k));
  assert_int_equal(g->name_len, name_len);
  assert_memory_equal(g->name, name, name_len);
  assert_int_equal(g->name[name_len], '\0');
  assert_int_equal(g->len, len);
  if (len)
    assert_memory_equal(g->content, content, len);
  assert_int_equal(g->version, version);
  assert_false(g->deleted);
  store_entry_unref(g);
}

static void expect_str(struct store *s, const char *name, const char *content,
                       uint64_t version)
{
  expect_entry(s, name, strlen(name), content, strlen(content), version);
}

static void expect_missing(struct store *s, const char *name)
{
  struct store_entry *g = (struct store_entry *)&g; /* must stay untouched */
  struct chord_id k = key_of(name);

  assert_int_equal(store_get(s, &k, &g), CHORD_ENOTFOUND);
  assert_ptr_equal(g, (struct store_entry *)&g);
}

/* Puts a tombstone for name at version; asserts the result is want. */
static void put_tomb(struct store *s, const char *name, uint64_t version,
                     unsigned flags, int want)
{
  struct store_entry *e = store_tombstone_create(name, strlen(name), version);

  assert_non_null(e);
  assert_int_equal(store_put(s, e, flags), want);
  store_entry_unref(e);
}

/* Asserts that the store holds a tombstone for name at version. */
static void expect_tomb(struct store *s, const char *name, uint64_t version)
{
  struct store_entry *g = NULL;
  struct chord_id k = key_of(name);

  assert_int_equal(store_get(s, &k, &g), 0);
  assert_non_null(g);
  assert_true(g->deleted);
  assert_true(chord_id_eq(&g->key, &k));
  assert_int_equal(g->name_len, strlen(name));
  assert_memory_equal(g->name, name, strlen(name) + 1);
  assert_int_equal(g->len, 0);
  assert_int_equal(g->version, version);
  store_entry_unref(g);
}

static void expect_stats(struct store *s, uint64_t count, uint64_t bytes)
{
  uint64_t c = 99, b = 99;

  store_stats(s, &c, &b);
  assert_int_equal(c, count);
  assert_int_equal(b, bytes);
}

/* Deterministic pseudo-random bytes (xorshift64). */
static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
  uint64_t x = seed | 1;

  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = (uint8_t)(x >> 24);
  }
}

static void roundtrip(struct store *s, const char *name, const void *content,
                      size_t len)
{
  struct store_entry *e =
      store_entry_create(name, strlen(name), content, len, 7);
  assert_non_null(e);
  assert_int_equal(store_put(s, e, 0), 0);
  store_entry_unref(e);
  expect_entry(s, name, strlen(name), content, len, 7);
  expect_stats(s, 1, len);
}

/* Entries of dir d (without . and ..), in no particular order, as a count;
 * when names is not NULL also returns them (malloc'd, caller frees). */
static size_t list_dir(const char *d, char ***names)
{
  struct dirent *de;
  size_t n = 0;
  DIR *dp = opendir(d);

  assert_non_null(dp);
  if (names)
    *names = NULL;
  while ((de = readdir(dp))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    if (names) {
      *names = realloc(*names, (n + 1) * sizeof(**names));
      assert_non_null(*names);
      (*names)[n] = strdup(de->d_name);
    }
    n++;
  }
  closedir(dp);
  return n;
}

static void free_names(char **names, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

static void file_path(struct fixture *f, const char *name, char *out,
                      size_t size)
{
  snprintf(out, size, "%s/%s", f->dir, name);
}

/* Path of the dir backend's file for the entry named name. */
static void entry_path(struct fixture *f, const char *name, char *out,
                       size_t size)
{
  char hex[CHORD_ID_HEX_LEN + 1];
  struct chord_id k = key_of(name);

  chord_id_to_hex(&k, hex);
  file_path(f, hex, out, size);
}

/* XORs the byte at off (from the end when off < 0) of file path. */
static void flip_byte(const char *path, long off)
{
  struct stat st;
  uint8_t b;
  int fd = open(path, O_RDWR);

  assert_true(fd >= 0);
  assert_int_equal(fstat(fd, &st), 0);
  if (off < 0)
    off += st.st_size;
  assert_int_equal(pread(fd, &b, 1, off), 1);
  b ^= 0x5a;
  assert_int_equal(pwrite(fd, &b, 1, off), 1);
  close(fd);
}

/* --- entries ------------------------------------------------------------- */

static void test_store_entry_create_copies(void **state)
{
  char name[] = "dir/file.txt", content[] = "hello";
  struct store_entry *e, *r;
  struct chord_id k;

  (void)state;
  e = store_entry_create(name, strlen(name), content, 5, 42);
  assert_non_null(e);
  name[0] = 'X';
  content[0] = 'X';
  assert_string_equal(e->name, "dir/file.txt");
  assert_int_equal(e->name_len, 12);
  assert_memory_equal(e->content, "hello", 5);
  assert_int_equal(e->len, 5);
  assert_int_equal(e->version, 42);
  assert_false(e->deleted);
  chord_id_sha1_str(&k, "dir/file.txt");
  assert_true(chord_id_eq(&e->key, &k));
  r = store_entry_ref(e);
  assert_ptr_equal(r, e);
  store_entry_unref(e);
  assert_string_equal(r->name, "dir/file.txt"); /* one reference left */
  store_entry_unref(r);
}

static void test_store_entry_create_edge_cases(void **state)
{
  struct store_entry *e;
  struct chord_id k;

  (void)state;
  e = store_entry_create("n", 1, NULL, 0, 0);
  assert_non_null(e);
  assert_int_equal(e->len, 0);
  store_entry_unref(e);
  e = store_entry_create(NULL, 0, "x", 1, 0);
  assert_non_null(e);
  chord_id_sha1(&k, "", 0);
  assert_true(chord_id_eq(&e->key, &k));
  assert_string_equal(e->name, "");
  store_entry_unref(e);
  assert_null(store_entry_create("n", 1, NULL, 1, 0));
  assert_null(store_entry_create(NULL, 1, "x", 1, 0));
  assert_null(store_entry_ref(NULL));
  store_entry_unref(NULL);
  store_close(NULL);
}

static void test_store_tombstone_create_fields(void **state)
{
  struct store_entry *t, *e;

  (void)state;
  t = store_tombstone_create("a\0b", 3, 9);
  e = store_entry_create("a\0b", 3, "x", 1, 9);
  assert_non_null(t);
  assert_non_null(e);
  assert_true(t->deleted);
  assert_false(e->deleted);
  assert_true(chord_id_eq(&t->key, &e->key)); /* same key as an entry */
  assert_int_equal(t->name_len, 3);
  assert_memory_equal(t->name, "a\0b", 4);
  assert_int_equal(t->len, 0);
  assert_int_equal(t->version, 9);
  store_entry_unref(t);
  store_entry_unref(e);
  t = store_tombstone_create(NULL, 0, 1);
  assert_non_null(t);
  assert_string_equal(t->name, "");
  store_entry_unref(t);
  assert_null(store_tombstone_create(NULL, 1, 1));
}

/* Asserts cmp(a, b) has sign want and cmp(b, a) the opposite one. */
static void expect_cmp(const struct store_entry *a, const struct store_entry *b,
                       int want)
{
  int ab = store_entry_cmp(a, b), ba = store_entry_cmp(b, a);

  assert_int_equal((ab > 0) - (ab < 0), want);
  assert_int_equal((ba > 0) - (ba < 0), -want);
}

static void test_store_entry_cmp_order(void **state)
{
  struct store_entry *v1 = mk("a", "zzzz", 1), *v2 = mk("a", "", 2);
  struct store_entry *t1 = store_tombstone_create("a", 1, 1);
  struct store_entry *t1b = store_tombstone_create("a", 1, 1);
  struct store_entry *t2 = store_tombstone_create("a", 1, 2);
  struct store_entry *abc = mk("a", "abc", 1), *abd = mk("a", "abd", 1);
  struct store_entry *abc2 = mk("a", "abc", 1), *zz = mk("a", "zz", 1);

  (void)state;
  expect_cmp(v2, v1, 1); /* version first, whatever the content */
  expect_cmp(v2, t1, 1); /* a newer live entry beats an older tombstone */
  expect_cmp(t2, v2, 1); /* equal version: the tombstone wins */
  expect_cmp(t1, v1, 1);
  expect_cmp(t1, t1b, 0);   /* equal tombstones */
  expect_cmp(abd, abc, 1);  /* equal length: memcmp */
  expect_cmp(abc, zz, 1);   /* longer wins before memcmp */
  expect_cmp(abc, abc2, 0); /* identical */
  store_entry_unref(v1);
  store_entry_unref(v2);
  store_entry_unref(t1);
  store_entry_unref(t1b);
  store_entry_unref(t2);
  store_entry_unref(abc);
  store_entry_unref(abd);
  store_entry_unref(abc2);
  store_entry_unref(zz);
}

/* --- behaviour on both backends ------------------------------------------ */

static void test_store_backend_name(void **state)
{
  struct fixture *f = *state;

  assert_string_equal(store_backend_name(f->s),
                      f->kind == BACKEND_MEM ? "mem" : "dir");
  expect_stats(f->s, 0, 0);
  assert_int_equal(store_corrupt_count(f->s), 0);
}

static void test_store_roundtrip_empty(void **state)
{
  struct fixture *f = *state;

  roundtrip(f->s, "empty", NULL, 0);
}

static void test_store_roundtrip_one_byte(void **state)
{
  struct fixture *f = *state;

  roundtrip(f->s, "one", "\xff", 1);
}

static void test_store_roundtrip_1mib_random(void **state)
{
  struct fixture *f = *state;
  size_t len = 1024 * 1024;
  uint8_t *buf = malloc(len);

  assert_non_null(buf);
  fill_random(buf, len, 0x1234567);
  roundtrip(f->s, "big/random.bin", buf, len);
  free(buf);
}

static void test_store_get_missing_not_found(void **state)
{
  struct fixture *f = *state;

  expect_missing(f->s, "nothing");
  put_str(f->s, "a", "1", 1, 0, 0);
  expect_missing(f->s, "nothing");
}

static void test_store_put_unknown_flag_einval(void **state)
{
  struct fixture *f = *state;

  put_str(f->s, "a", "1", 1, 0x80, CHORD_EINVAL);
  assert_int_equal(store_put(f->s, NULL, 0), CHORD_EINVAL);
  expect_missing(f->s, "a");
  expect_stats(f->s, 0, 0);
}

static void test_store_overwrite_replaces(void **state)
{
  struct fixture *f = *state;

  put_str(f->s, "a", "first", 1, 0, 0);
  put_str(f->s, "a", "second!", 2, 0, 0);
  expect_str(f->s, "a", "second!", 2);
  /* Without the flag an older version replaces too. */
  put_str(f->s, "a", "older", 1, 0, 0);
  expect_str(f->s, "a", "older", 1);
  expect_stats(f->s, 1, 5);
}

static void test_store_if_newer_keeps_newer(void **state)
{
  struct fixture *f = *state;

  put_str(f->s, "a", "v5", 5, STORE_PUT_IF_NEWER, 0); /* absent: stored */
  put_str(f->s, "a", "v4", 4, STORE_PUT_IF_NEWER, CHORD_EEXIST);
  /* Equal version: the tie-break (length, then content) keeps "v5". */
  put_str(f->s, "a", "v0", 5, STORE_PUT_IF_NEWER, CHORD_EEXIST);
  put_str(f->s, "a", "v", 5, STORE_PUT_IF_NEWER, CHORD_EEXIST);
  expect_str(f->s, "a", "v5", 5);
  expect_stats(f->s, 1, 2);
  put_str(f->s, "a", "v6new", 6, STORE_PUT_IF_NEWER, 0);
  expect_str(f->s, "a", "v6new", 6);
  expect_stats(f->s, 1, 5);
}

static void test_store_del_then_get_not_found(void **state)
{
  struct fixture *f = *state;
  struct chord_id k = key_of("a");

  put_str(f->s, "a", "x", 1, 0, 0);
  put_str(f->s, "b", "y", 1, 0, 0);
  assert_int_equal(store_del(f->s, &k), 0);
  expect_missing(f->s, "a");
  expect_str(f->s, "b", "y", 1);
  /* A deleted key can be written again. */
  put_str(f->s, "a", "again", 3, 0, 0);
  expect_str(f->s, "a", "again", 3);
}

static void test_store_del_missing_not_found(void **state)
{
  struct fixture *f = *state;
  struct chord_id k = key_of("a");

  assert_int_equal(store_del(f->s, &k), CHORD_ENOTFOUND);
  put_str(f->s, "a", "x", 1, 0, 0);
  assert_int_equal(store_del(f->s, &k), 0);
  assert_int_equal(store_del(f->s, &k), CHORD_ENOTFOUND);
  expect_stats(f->s, 0, 0);
}

/* The hand-off's drop: only the version it sent goes; a newer one that
 * arrived since stays. The highest version is what a restart starts
 * its clock above. */
static void test_store_del_version_only_that_version(void **state)
{
  struct fixture *f = *state;
  struct chord_id k = key_of("a");

  assert_int_equal(store_del_version(f->s, &k, 3), CHORD_ENOTFOUND);
  put_str(f->s, "a", "x", 3, 0, 0);
  put_str(f->s, "b", "y", 9, 0, 0);
  assert_int_equal(store_max_version(f->s), 9);
  put_str(f->s, "a", "newer", 4, STORE_PUT_IF_NEWER, 0);
  assert_int_equal(store_del_version(f->s, &k, 3), CHORD_EEXIST);
  expect_str(f->s, "a", "newer", 4);
  assert_int_equal(store_del_version(f->s, &k, 4), 0);
  expect_missing(f->s, "a");
}

static void test_store_stats_track_changes(void **state)
{
  struct fixture *f = *state;
  struct chord_id kb = key_of("b");

  expect_stats(f->s, 0, 0);
  put_str(f->s, "a", "abc", 1, 0, 0);
  expect_stats(f->s, 1, 3);
  put_str(f->s, "b", "12345", 1, 0, 0);
  expect_stats(f->s, 2, 8);
  put_str(f->s, "a", "0123456789", 2, 0, 0);
  expect_stats(f->s, 2, 15);
  put_str(f->s, "a", "", 1, STORE_PUT_IF_NEWER, CHORD_EEXIST);
  expect_stats(f->s, 2, 15);
  assert_int_equal(store_del(f->s, &kb), 0);
  expect_stats(f->s, 1, 10);
  assert_int_equal(store_del(f->s, &kb), CHORD_ENOTFOUND);
  expect_stats(f->s, 1, 10);
  put_str(f->s, "a", "", 3, 0, 0);
  expect_stats(f->s, 1, 0);
  store_stats(f->s, NULL, NULL); /* both outputs optional */
  assert_int_equal(store_corrupt_count(f->s), 0);
}

/* Keys of KEYS_N entries named "k0".."k49", numerically sorted into k. */
#define KEYS_N 50

static void put_keys(struct store *s, struct chord_id k[KEYS_N])
{
  char name[16];

  for (int i = 0; i < KEYS_N; i++) {
    snprintf(name, sizeof(name), "k%d", i);
    put_str(s, name, "v", 1, 0, 0);
    k[i] = key_of(name);
  }
  for (int i = 1; i < KEYS_N; i++) {
    for (int j = i; j > 0 && chord_id_cmp(&k[j - 1], &k[j]) > 0; j--) {
      struct chord_id t = k[j];
      k[j] = k[j - 1];
      k[j - 1] = t;
    }
  }
}

/* Asserts keys_in(from, to) returns k[first], k[first+1], ... (cyclically)
 * for n keys. */
static void expect_range(struct store *s, const struct chord_id *from,
                         const struct chord_id *to,
                         const struct chord_id k[KEYS_N], int first, size_t n)
{
  struct chord_id *got = (struct chord_id *)&got;
  size_t got_n = 99;

  assert_int_equal(store_keys_in(s, from, to, &got, &got_n), 0);
  assert_int_equal(got_n, n);
  if (n == 0)
    assert_null(got);
  for (size_t i = 0; i < n; i++)
    assert_true(chord_id_eq(&got[i], &k[(first + i) % KEYS_N]));
  free(got);
}

static void test_store_keys_in_range(void **state)
{
  struct fixture *f = *state;
  struct chord_id k[KEYS_N], from, to, one;

  memset(&one, 0, sizeof(one));
  one.b[CHORD_ID_BYTES - 1] = 1;
  put_keys(f->s, k);
  /* (k10, k20]: from excluded, to included. */
  expect_range(f->s, &k[10], &k[20], k, 11, 10);
  /* Bounds that are not keys: (k10 - 1, k20 - 1] = k10..k19. */
  chord_id_sub(&from, &k[10], &one);
  chord_id_sub(&to, &k[20], &one);
  expect_range(f->s, &from, &to, k, 10, 10);
  /* (k3, k3 + 1] holds no key. */
  chord_id_add(&to, &k[3], &one);
  expect_range(f->s, &k[3], &to, k, 0, 0);
  /* (k3, k4] holds exactly k4. */
  expect_range(f->s, &k[3], &k[4], k, 4, 1);
}

static void test_store_keys_in_wraparound(void **state)
{
  struct fixture *f = *state;
  struct chord_id k[KEYS_N], max, zero;

  memset(&max, 0xff, sizeof(max));
  memset(&zero, 0, sizeof(zero));
  put_keys(f->s, k);
  /* (k45, k4] wraps through zero: k46..k49 then k0..k4, in that order. */
  expect_range(f->s, &k[45], &k[4], k, 46, 9);
  /* (max, k2] = [0, k2]. */
  expect_range(f->s, &max, &k[2], k, 0, 3);
  /* (k47, 0] = the top of the ring. */
  expect_range(f->s, &k[47], &zero, k, 48, 2);
}

static void test_store_keys_in_whole_ring(void **state)
{
  struct fixture *f = *state;
  struct chord_id k[KEYS_N], zero, max;

  memset(&zero, 0, sizeof(zero));
  memset(&max, 0xff, sizeof(max));
  put_keys(f->s, k);
  /* from == to is the whole ring, starting after from: a key equal to
   * from comes last. */
  expect_range(f->s, &k[7], &k[7], k, 8, KEYS_N);
  expect_range(f->s, &zero, &zero, k, 0, KEYS_N);
  expect_range(f->s, &max, &max, k, 0, KEYS_N);
}

static void test_store_keys_in_empty(void **state)
{
  struct fixture *f = *state;
  struct chord_id zero, *got = (struct chord_id *)&got;
  size_t n = 99;

  memset(&zero, 0, sizeof(zero));
  assert_int_equal(store_keys_in(f->s, &zero, &zero, &got, &n), 0);
  assert_null(got);
  assert_int_equal(n, 0);
}

static void test_store_many_entries(void **state)
{
  struct fixture *f = *state;
  int n = f->kind == BACKEND_MEM ? 5000 : 500;
  struct chord_id zero, *got;
  char name[32], content[32];
  size_t got_n;

  memset(&zero, 0, sizeof(zero));
  for (int i = 0; i < n; i++) {
    snprintf(name, sizeof(name), "file-%d", i);
    snprintf(content, sizeof(content), "content %d", i);
    put_str(f->s, name, content, (uint64_t)i, 0, 0);
  }
  /* Delete every third one (exercises the map's backward shift). */
  for (int i = 0; i < n; i += 3) {
    struct chord_id k;
    snprintf(name, sizeof(name), "file-%d", i);
    k = key_of(name);
    assert_int_equal(store_del(f->s, &k), 0);
  }
  for (int i = 0; i < n; i++) {
    snprintf(name, sizeof(name), "file-%d", i);
    snprintf(content, sizeof(content), "content %d", i);
    if (i % 3 == 0)
      expect_missing(f->s, name);
    else
      expect_str(f->s, name, content, (uint64_t)i);
  }
  assert_int_equal(store_keys_in(f->s, &zero, &zero, &got, &got_n), 0);
  assert_int_equal(got_n, (size_t)(n - (n + 2) / 3));
  for (size_t i = 1; i < got_n; i++)
    assert_true(chord_id_cmp(&got[i - 1], &got[i]) < 0);
  free(got);
}

static void test_store_hostile_names(void **state)
{
  struct fixture *f = *state;
  static const char traversal[] = "../../etc/passwd";
  static const char slashes[] = "/abs/a/b/c/";
  static const char nul_inside[] = "a\0b";
  static const char tmp_like[] = STORE_DIR_TMP_PREFIX "x";
  char high[128], **names;
  struct {
    const char *name;
    size_t len;
  } cases[] = {
      {traversal, sizeof(traversal) - 1},
      {slashes, sizeof(slashes) - 1},
      {nul_inside, sizeof(nul_inside) - 1},
      {tmp_like, sizeof(tmp_like) - 1},
      {"..", 2},
      {".", 1},
      {high, sizeof(high)},
  };
  size_t n;

  for (size_t i = 0; i < sizeof(high); i++)
    high[i] = (char)(0x80 + i);
  for (int round = 0; round < 2; round++) {
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
      if (round == 0) {
        struct store_entry *e =
            store_entry_create(cases[i].name, cases[i].len, "data", 4, i + 1);
        assert_non_null(e);
        assert_int_equal(store_put(f->s, e, 0), 0);
        store_entry_unref(e);
      }
      expect_entry(f->s, cases[i].name, cases[i].len, "data", 4, i + 1);
    }
    expect_stats(f->s, ARRAY_LEN(cases), 4 * ARRAY_LEN(cases));
    if (f->kind == BACKEND_MEM)
      return;
    /* Only the data dir in the parent; only 40-hex names inside it. */
    n = list_dir(f->parent, &names);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "data");
    free_names(names, n);
    n = list_dir(f->dir, &names);
    assert_int_equal(n, ARRAY_LEN(cases));
    for (size_t i = 0; i < n; i++) {
      struct chord_id k;
      assert_int_equal(strlen(names[i]), CHORD_ID_HEX_LEN);
      assert_int_equal(chord_id_from_hex(&k, names[i]), 0);
      assert_int_equal(strspn(names[i], "0123456789abcdef"), CHORD_ID_HEX_LEN);
    }
    free_names(names, n);
    /* And they all come back after a reopen. */
    reopen(f);
    assert_int_equal(store_corrupt_count(f->s), 0);
  }
}

static void test_store_entry_survives_del(void **state)
{
  struct fixture *f = *state;
  struct store_entry *e = mk("a", "payload", 3), *g = NULL;

  assert_int_equal(store_put(f->s, e, 0), 0);
  assert_int_equal(store_get(f->s, &e->key, &g), 0);
  assert_int_equal(store_del(f->s, &e->key), 0);
  assert_string_equal(g->name, "a");
  assert_memory_equal(g->content, "payload", 7);
  assert_int_equal(g->version, 3);
  store_entry_unref(g);
  /* The caller's own reference is untouched by put and del too. */
  assert_memory_equal(e->content, "payload", 7);
  store_entry_unref(e);
}

static void test_store_entry_survives_overwrite(void **state)
{
  struct fixture *f = *state;
  struct store_entry *g1 = NULL;
  struct chord_id k = key_of("a");

  put_str(f->s, "a", "old content", 1, 0, 0);
  assert_int_equal(store_get(f->s, &k, &g1), 0);
  put_str(f->s, "a", "new", 2, 0, 0);
  assert_int_equal(g1->len, 11);
  assert_memory_equal(g1->content, "old content", 11);
  assert_int_equal(g1->version, 1);
  expect_str(f->s, "a", "new", 2);
  store_entry_unref(g1);
}

static void test_store_put_keeps_own_reference(void **state)
{
  struct fixture *f = *state;
  struct store_entry *e = mk("a", "stays", 1);

  assert_int_equal(store_put(f->s, e, 0), 0);
  store_entry_unref(e); /* the caller's only reference */
  expect_str(f->s, "a", "stays", 1);
}

/* --- tombstones on both backends ----------------------------------------- */

static void test_store_tombstone_roundtrip(void **state)
{
  struct fixture *f = *state;
  struct chord_id k = key_of("gone");

  put_tomb(f->s, "gone", 7, 0, 0);
  expect_tomb(f->s, "gone", 7);
  put_str(f->s, "live", "x", 7, 0, 0);
  expect_str(f->s, "live", "x", 7); /* deleted is false */
  /* Without the flag a put replaces a tombstone and the other way round. */
  put_str(f->s, "gone", "back", 3, 0, 0);
  expect_str(f->s, "gone", "back", 3);
  put_tomb(f->s, "gone", 2, 0, 0);
  expect_tomb(f->s, "gone", 2);
  /* store_del removes a tombstone for good. */
  assert_int_equal(store_del(f->s, &k), 0);
  expect_missing(f->s, "gone");
  assert_int_equal(store_tombstone_count(f->s), 0);
  assert_int_equal(store_del(f->s, &k), CHORD_ENOTFOUND);
}

static void test_store_if_newer_older_version_refused(void **state)
{
  struct fixture *f = *state;

  put_tomb(f->s, "a", 5, STORE_PUT_IF_NEWER, 0); /* absent: stored */
  expect_tomb(f->s, "a", 5);
  put_str(f->s, "a", "old", 4, STORE_PUT_IF_NEWER, CHORD_EEXIST);
  put_tomb(f->s, "a", 4, STORE_PUT_IF_NEWER, CHORD_EEXIST);
  expect_tomb(f->s, "a", 5);
  put_str(f->s, "a", "new", 6, STORE_PUT_IF_NEWER, 0);
  expect_str(f->s, "a", "new", 6);
  put_tomb(f->s, "a", 5, STORE_PUT_IF_NEWER, CHORD_EEXIST);
  expect_str(f->s, "a", "new", 6);
  put_tomb(f->s, "a", 7, STORE_PUT_IF_NEWER, 0);
  expect_tomb(f->s, "a", 7);
}

static void test_store_if_newer_tombstone_beats_live(void **state)
{
  struct fixture *f = *state;

  put_str(f->s, "a", "live", 5, 0, 0);
  put_tomb(f->s, "a", 5, STORE_PUT_IF_NEWER, 0);
  expect_tomb(f->s, "a", 5);
  /* The other order: the live entry does not come back, however long. */
  put_str(f->s, "a", "a much longer content", 5, STORE_PUT_IF_NEWER,
          CHORD_EEXIST);
  put_tomb(f->s, "a", 5, STORE_PUT_IF_NEWER, CHORD_EEXIST); /* equal */
  expect_tomb(f->s, "a", 5);
  expect_stats(f->s, 0, 0);
  assert_int_equal(store_tombstone_count(f->s), 1);
}

/* Puts first then second (both live, version 3) under name, the second with
 * IF_NEWER, and asserts the result is want_rc and the winner is stored. */
static void tie(struct store *s, const char *name, const char *first,
                const char *second, int want_rc, const char *winner)
{
  put_str(s, name, first, 3, 0, 0);
  put_str(s, name, second, 3, STORE_PUT_IF_NEWER, want_rc);
  expect_str(s, name, winner, 3);
}

static void test_store_if_newer_live_tie_break(void **state)
{
  struct fixture *f = *state;

  /* Same winner whichever copy arrives first. */
  tie(f->s, "len1", "zz", "abc", 0, "abc"); /* longer wins */
  tie(f->s, "len2", "abc", "zz", CHORD_EEXIST, "abc");
  tie(f->s, "mem1", "abc", "abd", 0, "abd"); /* then greater memcmp */
  tie(f->s, "mem2", "abd", "abc", CHORD_EEXIST, "abd");
  tie(f->s, "mem3", "b\x01", "a\xff", CHORD_EEXIST, "b\x01");
  tie(f->s, "mem4", "a\xff", "b\x01", 0, "b\x01");
  tie(f->s, "same", "abc", "abc", CHORD_EEXIST, "abc"); /* equal: kept */
  tie(f->s, "empty", "", "", CHORD_EEXIST, "");
  expect_stats(f->s, 8, 3 + 3 + 3 + 3 + 2 + 2 + 3);
}

/* KEYS_N entries "k0".."k49": every fifth a tombstone at version 100 + i,
 * the others live at version i; kv gets them sorted by key. */
static void put_mixed(struct store *s, struct store_kv kv[KEYS_N])
{
  char name[16];

  for (int i = 0; i < KEYS_N; i++) {
    snprintf(name, sizeof(name), "k%d", i);
    memset(&kv[i], 0, sizeof(kv[i]));
    kv[i].key = key_of(name);
    kv[i].deleted = i % 5 == 0;
    kv[i].version = kv[i].deleted ? 100 + (uint64_t)i : (uint64_t)i;
    if (kv[i].deleted)
      put_tomb(s, name, kv[i].version, 0, 0);
    else
      put_str(s, name, "v", kv[i].version, 0, 0);
  }
  for (int i = 1; i < KEYS_N; i++) {
    for (int j = i; j > 0 && chord_id_cmp(&kv[j - 1].key, &kv[j].key) > 0;
         j--) {
      struct store_kv t = kv[j];
      kv[j] = kv[j - 1];
      kv[j - 1] = t;
    }
  }
}

/* Asserts versions_in(from, to) returns kv[first], kv[first+1], ...
 * (cyclically) for n entries, with their versions and flags. */
static void expect_versions(struct store *s, const struct chord_id *from,
                            const struct chord_id *to,
                            const struct store_kv kv[KEYS_N], int first,
                            size_t n)
{
  struct store_kv *got = (struct store_kv *)&got;
  size_t got_n = 99;

  assert_int_equal(store_versions_in(s, from, to, &got, &got_n), 0);
  assert_int_equal(got_n, n);
  if (n == 0)
    assert_null(got);
  for (size_t i = 0; i < n; i++) {
    const struct store_kv *want = &kv[(first + i) % KEYS_N];
    assert_true(chord_id_eq(&got[i].key, &want->key));
    assert_int_equal(got[i].version, want->version);
    assert_int_equal(got[i].deleted, want->deleted);
  }
  free(got);
}

static void test_store_versions_in_range(void **state)
{
  struct fixture *f = *state;
  struct store_kv kv[KEYS_N];
  struct chord_id from, to, one;

  memset(&one, 0, sizeof(one));
  one.b[CHORD_ID_BYTES - 1] = 1;
  put_mixed(f->s, kv);
  expect_versions(f->s, &kv[10].key, &kv[20].key, kv, 11, 10);
  chord_id_sub(&from, &kv[10].key, &one);
  chord_id_sub(&to, &kv[20].key, &one);
  expect_versions(f->s, &from, &to, kv, 10, 10);
  chord_id_add(&to, &kv[3].key, &one);
  expect_versions(f->s, &kv[3].key, &to, kv, 0, 0);
  expect_versions(f->s, &kv[3].key, &kv[4].key, kv, 4, 1);
}

static void test_store_versions_in_wraparound(void **state)
{
  struct fixture *f = *state;
  struct store_kv kv[KEYS_N];
  struct chord_id max, zero;

  memset(&max, 0xff, sizeof(max));
  memset(&zero, 0, sizeof(zero));
  put_mixed(f->s, kv);
  expect_versions(f->s, &kv[45].key, &kv[4].key, kv, 46, 9);
  expect_versions(f->s, &max, &kv[2].key, kv, 0, 3);
  expect_versions(f->s, &kv[47].key, &zero, kv, 48, 2);
}

static void test_store_versions_in_whole_ring(void **state)
{
  struct fixture *f = *state;
  struct store_kv kv[KEYS_N], *got;
  struct chord_id zero, *keys;
  size_t n, dead = 0;

  memset(&zero, 0, sizeof(zero));
  put_mixed(f->s, kv);
  expect_versions(f->s, &kv[7].key, &kv[7].key, kv, 8, KEYS_N);
  expect_versions(f->s, &zero, &zero, kv, 0, KEYS_N);
  assert_int_equal(store_versions_in(f->s, &zero, &zero, &got, &n), 0);
  for (size_t i = 0; i < n; i++)
    dead += got[i].deleted;
  free(got);
  assert_int_equal(dead, KEYS_N / 5);
  /* store_keys_in lists the tombstones' keys too. */
  assert_int_equal(store_keys_in(f->s, &zero, &zero, &keys, &n), 0);
  assert_int_equal(n, KEYS_N);
  free(keys);
}

static void test_store_versions_in_empty(void **state)
{
  struct fixture *f = *state;
  struct chord_id zero;
  struct store_kv *got = (struct store_kv *)&got;
  size_t n = 99;

  memset(&zero, 0, sizeof(zero));
  assert_int_equal(store_versions_in(f->s, &zero, &zero, &got, &n), 0);
  assert_null(got);
  assert_int_equal(n, 0);
}

static void test_store_stats_exclude_tombstones(void **state)
{
  struct fixture *f = *state;
  struct chord_id ka = key_of("a");

  put_str(f->s, "a", "abc", 1, 0, 0);
  put_tomb(f->s, "b", 1, 0, 0);
  expect_stats(f->s, 1, 3);
  assert_int_equal(store_tombstone_count(f->s), 1);
  put_tomb(f->s, "a", 2, STORE_PUT_IF_NEWER, 0); /* live -> tombstone */
  expect_stats(f->s, 0, 0);
  assert_int_equal(store_tombstone_count(f->s), 2);
  put_str(f->s, "b", "12345", 2, STORE_PUT_IF_NEWER, 0); /* and back */
  expect_stats(f->s, 1, 5);
  assert_int_equal(store_tombstone_count(f->s), 1);
  put_tomb(f->s, "a", 3, 0, 0); /* tombstone -> tombstone */
  assert_int_equal(store_tombstone_count(f->s), 1);
  assert_int_equal(store_del(f->s, &ka), 0);
  expect_stats(f->s, 1, 5);
  assert_int_equal(store_tombstone_count(f->s), 0);
}

static void test_store_purge_old_tombstones(void **state)
{
  struct fixture *f = *state;
  struct chord_id zero;
  struct store_kv *got;
  size_t purged = 99, n;

  memset(&zero, 0, sizeof(zero));
  assert_int_equal(store_purge_tombstones(f->s, UINT64_MAX, &purged), 0);
  assert_int_equal(purged, 0); /* empty store */
  put_tomb(f->s, "t1", 1, 0, 0);
  put_tomb(f->s, "t4", 4, 0, 0);
  put_tomb(f->s, "t5", 5, 0, 0);
  put_tomb(f->s, "t9", 9, 0, 0);
  put_str(f->s, "l1", "old live", 1, 0, 0);
  put_str(f->s, "l9", "new live", 9, 0, 0);

  purged = 99;
  assert_int_equal(store_purge_tombstones(f->s, 5, &purged), 0);
  assert_int_equal(purged, 2); /* t1 and t4; t5 is not < 5 */
  expect_missing(f->s, "t1");
  expect_missing(f->s, "t4");
  expect_tomb(f->s, "t5", 5);
  expect_tomb(f->s, "t9", 9);
  expect_str(f->s, "l1", "old live", 1); /* live entries untouched */
  expect_str(f->s, "l9", "new live", 9);
  assert_int_equal(store_tombstone_count(f->s), 2);
  expect_stats(f->s, 2, 16);
  if (f->kind == BACKEND_DIR) {
    assert_int_equal(list_dir(f->dir, NULL), 4); /* files gone too */
    reopen(f);
    expect_missing(f->s, "t1");
    expect_tomb(f->s, "t5", 5);
  }

  assert_int_equal(store_purge_tombstones(f->s, UINT64_MAX, NULL), 0);
  assert_int_equal(store_tombstone_count(f->s), 0);
  assert_int_equal(store_versions_in(f->s, &zero, &zero, &got, &n), 0);
  assert_int_equal(n, 2);
  assert_false(got[0].deleted);
  assert_false(got[1].deleted);
  free(got);
  expect_stats(f->s, 2, 16);
}

/* --- threads ------------------------------------------------------------- */

struct worker {
  struct store *s; /* shared store */
  int id;          /* distinct key space per worker */
  int iters;       /* puts */
  uint64_t kept;   /* entries left at the end */
  uint64_t bytes;  /* their content bytes */
  int failures;    /* checks that failed (asserts are main-thread only) */
};

static void *worker_run(void *arg)
{
  struct worker *w = arg;
  char name[32];
  uint8_t content[300];

  for (int i = 0; i < w->iters; i++) {
    struct store_entry *e, *g = NULL;
    size_t len = (size_t)(i * 7 + w->id) % sizeof(content);
    snprintf(name, sizeof(name), "w%d-%d", w->id, i);
    memset(content, w->id + i, len);
    e = store_entry_create(name, strlen(name), content, len, (uint64_t)i);
    if (!e) {
      w->failures++;
      continue;
    }
    if (store_put(w->s, e, 0) != 0)
      w->failures++;
    if (store_get(w->s, &e->key, &g) != 0 || g->len != len ||
        (len && memcmp(g->content, content, len) != 0))
      w->failures++;
    store_entry_unref(g);
    if (i % 3 == 0) {
      if (store_del(w->s, &e->key) != 0)
        w->failures++;
      g = NULL;
      if (store_get(w->s, &e->key, &g) != CHORD_ENOTFOUND)
        w->failures++;
    } else {
      w->kept++;
      w->bytes += len;
    }
    store_entry_unref(e);
  }
  return NULL;
}

static void test_store_threads_concurrent(void **state)
{
  struct fixture *f = *state;
  struct worker w[4];
  pthread_t t[4];
  uint64_t kept = 0, bytes = 0;
  struct chord_id zero, *keys;
  size_t n;

  memset(&zero, 0, sizeof(zero));
  for (int i = 0; i < 4; i++) {
    w[i] = (struct worker){
        .s = f->s, .id = i, .iters = f->kind == BACKEND_MEM ? 3000 : 150};
    assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(w[i].failures, 0);
    kept += w[i].kept;
    bytes += w[i].bytes;
  }
  expect_stats(f->s, kept, bytes);
  assert_int_equal(store_keys_in(f->s, &zero, &zero, &keys, &n), 0);
  assert_int_equal(n, kept);
  free(keys);
}

/* --- dir backend only ---------------------------------------------------- */

static void test_store_reopen_restores_entries(void **state)
{
  struct fixture *f = *state;
  size_t big_len = 200000;
  uint8_t *big = malloc(big_len);
  struct store_entry *e;
  char name[16], content[32];
  struct chord_id k = key_of("gone");

  assert_non_null(big);
  fill_random(big, big_len, 99);
  e = store_entry_create("big", 3, big, big_len, UINT64_MAX);
  assert_non_null(e);
  assert_int_equal(store_put(f->s, e, 0), 0);
  store_entry_unref(e);
  for (int i = 0; i < 20; i++) {
    snprintf(name, sizeof(name), "n%d", i);
    snprintf(content, sizeof(content), "c%d", i * i);
    put_str(f->s, name, content, (uint64_t)i * 1000, 0, 0);
  }
  put_str(f->s, "n3", "rewritten", 77, 0, 0);
  put_str(f->s, "empty", "", 5, 0, 0);
  put_str(f->s, "gone", "x", 1, 0, 0);
  assert_int_equal(store_del(f->s, &k), 0);

  reopen(f);
  assert_int_equal(store_corrupt_count(f->s), 0);
  expect_entry(f->s, "big", 3, big, big_len, UINT64_MAX);
  for (int i = 0; i < 20; i++) {
    snprintf(name, sizeof(name), "n%d", i);
    snprintf(content, sizeof(content), "c%d", i * i);
    if (i == 3)
      expect_str(f->s, name, "rewritten", 77);
    else
      expect_str(f->s, name, content, (uint64_t)i * 1000);
  }
  expect_str(f->s, "empty", "", 5);
  expect_missing(f->s, "gone");
  /* Versions survive, so IF_NEWER still protects the reloaded entry. */
  put_str(f->s, "n3", "stale", 76, STORE_PUT_IF_NEWER, CHORD_EEXIST);
  free(big);
}

static void test_store_leftover_temp_removed(void **state)
{
  struct fixture *f = *state;
  char hex[CHORD_ID_HEX_LEN + 1], path[PATH_MAX + 128];
  struct chord_id k = key_of("a");
  FILE *fp;

  put_str(f->s, "a", "committed", 2, 0, 0);
  store_close(f->s);
  f->s = NULL;
  /* A crash mid-put of a newer "a", and one of an unknown key. */
  chord_id_to_hex(&k, hex);
  snprintf(path, sizeof(path), "%s/%s%s", f->dir, STORE_DIR_TMP_PREFIX, hex);
  fp = fopen(path, "w");
  assert_non_null(fp);
  fputs("CHRD half a fi", fp);
  fclose(fp);
  snprintf(path, sizeof(path), "%s/%sjunk", f->dir, STORE_DIR_TMP_PREFIX);
  fp = fopen(path, "w");
  assert_non_null(fp);
  fclose(fp);
  assert_int_equal(list_dir(f->dir, NULL), 3);

  reopen(f);
  assert_int_equal(list_dir(f->dir, NULL), 1);
  assert_int_equal(store_corrupt_count(f->s), 0);
  expect_str(f->s, "a", "committed", 2);
  expect_stats(f->s, 1, 9);
}

/* Puts "victim" and "intact", closes, applies damage to victim's file,
 * reopens and checks victim is skipped, counted and not served. */
static void expect_skipped(struct fixture *f, void (*damage)(const char *))
{
  char path[PATH_MAX + 128];
  struct chord_id zero, *keys;
  size_t n;

  memset(&zero, 0, sizeof(zero));
  put_str(f->s, "victim", "victim content", 1, 0, 0);
  put_str(f->s, "intact", "intact content", 1, 0, 0);
  store_close(f->s);
  f->s = NULL;
  entry_path(f, "victim", path, sizeof(path));
  damage(path);
  reopen(f);
  assert_int_equal(store_corrupt_count(f->s), 1);
  expect_missing(f->s, "victim");
  expect_str(f->s, "intact", "intact content", 1);
  expect_stats(f->s, 1, 14);
  assert_int_equal(store_keys_in(f->s, &zero, &zero, &keys, &n), 0);
  assert_int_equal(n, 1);
  free(keys);
}

static void truncate_by_one(const char *path)
{
  struct stat st;

  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(truncate(path, st.st_size - 1), 0);
}

static void flip_last(const char *path)
{
  flip_byte(path, -1);
}

static void flip_magic(const char *path)
{
  flip_byte(path, 0);
}

static void flip_version(const char *path)
{
  flip_byte(path, 24);
}

static void rename_to_other_key(const char *path)
{
  char other[PATH_MAX + 128], hex[CHORD_ID_HEX_LEN + 1];
  struct chord_id k = key_of("someone else");
  const char *slash = strrchr(path, '/');

  chord_id_to_hex(&k, hex);
  snprintf(other, sizeof(other), "%.*s/%s", (int)(slash - path), path, hex);
  assert_int_equal(rename(path, other), 0);
}

static void empty_file(const char *path)
{
  assert_int_equal(truncate(path, 0), 0);
}

static void test_store_corrupt_truncated_skipped(void **state)
{
  expect_skipped(*state, truncate_by_one);
}

static void test_store_corrupt_empty_file_skipped(void **state)
{
  expect_skipped(*state, empty_file);
}

static void test_store_corrupt_flipped_content_skipped(void **state)
{
  expect_skipped(*state, flip_last);
}

static void test_store_corrupt_bad_magic_skipped(void **state)
{
  expect_skipped(*state, flip_magic);
}

static void test_store_corrupt_flipped_version_skipped(void **state)
{
  expect_skipped(*state, flip_version);
}

static void test_store_corrupt_wrong_name_skipped(void **state)
{
  struct fixture *f = *state;

  expect_skipped(f, rename_to_other_key);
  expect_missing(f->s, "someone else");
}

static void test_store_corrupt_after_open_get_eio(void **state)
{
  struct fixture *f = *state;
  char path[PATH_MAX + 128];
  struct store_entry *g = NULL;
  struct chord_id k = key_of("a");

  put_str(f->s, "a", "soon rotten", 1, 0, 0);
  entry_path(f, "a", path, sizeof(path));
  flip_byte(path, -2);
  assert_int_equal(store_get(f->s, &k, &g), CHORD_EIO);
  assert_null(g);
  assert_int_equal(store_corrupt_count(f->s), 1);
  expect_stats(f->s, 0, 0);
  expect_missing(f->s, "a");
  /* A replica can put it back. */
  put_str(f->s, "a", "restored", 1, STORE_PUT_IF_NEWER, 0);
  expect_str(f->s, "a", "restored", 1);
}

static void test_store_foreign_files_ignored(void **state)
{
  struct fixture *f = *state;
  char path[PATH_MAX + 128];
  FILE *fp;

  put_str(f->s, "a", "x", 1, 0, 0);
  store_close(f->s);
  f->s = NULL;
  file_path(f, "README", path, sizeof(path));
  fp = fopen(path, "w");
  assert_non_null(fp);
  fclose(fp);
  file_path(f, "lost+found", path, sizeof(path));
  assert_int_equal(mkdir(path, 0700), 0);
  reopen(f);
  assert_int_equal(store_corrupt_count(f->s), 0);
  expect_stats(f->s, 1, 1);
  assert_int_equal(list_dir(f->dir, NULL), 3); /* left alone */
}

static void test_store_del_removes_file(void **state)
{
  struct fixture *f = *state;
  char path[PATH_MAX + 128];
  struct chord_id k = key_of("a");

  put_str(f->s, "a", "x", 1, 0, 0);
  entry_path(f, "a", path, sizeof(path));
  assert_int_equal(access(path, F_OK), 0);
  assert_int_equal(store_del(f->s, &k), 0);
  assert_int_equal(access(path, F_OK), -1);
  assert_int_equal(list_dir(f->dir, NULL), 0);
}

static void test_store_open_regular_file_fails(void **state)
{
  struct fixture *f = *state;
  char path[PATH_MAX + 128];
  struct store *s;
  FILE *fp;
  int err = 0;

  snprintf(path, sizeof(path), "%s/plain", f->parent);
  fp = fopen(path, "w");
  assert_non_null(fp);
  fclose(fp);
  s = store_open_dir(path, &err);
  assert_null(s);
  assert_int_equal(err, -ENOTDIR);
  snprintf(path, sizeof(path), "%s/plain/below", f->parent);
  err = 0;
  assert_null(store_open_dir(path, &err));
  assert_true(err < 0);
  err = 0;
  assert_null(store_open_dir("", &err));
  assert_int_equal(err, CHORD_EINVAL);
}

static void test_store_open_creates_dir_0700(void **state)
{
  struct fixture *f = *state;
  struct stat st;

  /* The fixture opened parent/data, which did not exist. */
  assert_int_equal(stat(f->dir, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_store_open_locked_dir_busy(void **state)
{
  struct fixture *f = *state;
  int err = 0;

  assert_null(store_open_dir(f->dir, &err));
  assert_int_equal(err, -EBUSY);
  put_str(f->s, "a", "still works", 1, 0, 0);
  expect_str(f->s, "a", "still works", 1);
}

static void test_store_put_io_failure_changes_nothing(void **state)
{
  struct fixture *f = *state;
  size_t big_len = 2 * 1024 * 1024;
  uint8_t *big = calloc(1, big_len);
  struct rlimit old, lim;
  struct store_entry *e1, *e2;
  char **names;
  size_t n;

  assert_non_null(big);
  put_str(f->s, "a", "small v1", 1, 0, 0);
  e1 = store_entry_create("a", 1, big, big_len, 2);
  e2 = store_entry_create("b", 1, big, big_len, 1);
  assert_non_null(e1);
  assert_non_null(e2);
  /* Writes past 1 MiB fail with EFBIG (even for root). */
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, SIG_IGN);
  lim = old;
  lim.rlim_cur = 1024 * 1024;
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
  assert_int_equal(store_put(f->s, e1, 0), -EFBIG);
  assert_int_equal(store_put(f->s, e2, 0), -EFBIG);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, SIG_DFL);

  expect_str(f->s, "a", "small v1", 1);
  expect_missing(f->s, "b");
  expect_stats(f->s, 1, 8);
  n = list_dir(f->dir, &names); /* no temporary file left behind */
  assert_int_equal(n, 1);
  assert_int_equal(strlen(names[0]), CHORD_ID_HEX_LEN);
  free_names(names, n);
  reopen(f);
  expect_str(f->s, "a", "small v1", 1);
  store_entry_unref(e1);
  store_entry_unref(e2);
  free(big);
}

/* --- dir backend: tombstones on disk ------------------------------------- */

/* Continues a CRC-32 (IEEE, reflected), bit by bit, independent of the
 * store's table-driven one. */
static uint32_t crc32_bits(uint32_t crc, const uint8_t *p, size_t n)
{
  crc = ~crc;
  while (n--) {
    crc ^= *p++;
    for (int k = 0; k < 8; k++)
      crc = (crc & 1) ? 0xedb88320u ^ (crc >> 1) : crc >> 1;
  }
  return ~crc;
}

static uint32_t le32(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

/* Reads the whole file at path into a malloc'd buffer; *n = its size. */
static uint8_t *slurp(const char *path, size_t *n)
{
  struct stat st;
  uint8_t *buf;
  int fd = open(path, O_RDONLY);

  assert_true(fd >= 0);
  assert_int_equal(fstat(fd, &st), 0);
  *n = (size_t)st.st_size;
  buf = malloc(*n ? *n : 1);
  assert_non_null(buf);
  assert_int_equal(pread(fd, buf, *n, 0), (ssize_t)*n);
  close(fd);
  return buf;
}

/* The stored CRC of an entry file: bytes 0..35, then everything after 40. */
static uint32_t file_crc(const uint8_t *buf, size_t n)
{
  return crc32_bits(crc32_bits(0, buf, 36), buf + 40, n - 40);
}

/* ORs bits into the flags (offset 32) of the entry file at path and fixes
 * the CRC, so that only the flags can make the file unacceptable. */
static void set_flags(const char *path, uint32_t bits)
{
  size_t n;
  uint8_t *buf = slurp(path, &n);
  uint32_t flags, crc;
  int fd;

  assert_true(n >= 40);
  assert_int_equal(le32(buf + 36), file_crc(buf, n)); /* our CRC is right */
  flags = le32(buf + 32) | bits;
  for (int i = 0; i < 4; i++)
    buf[32 + i] = (uint8_t)(flags >> (8 * i));
  crc = file_crc(buf, n);
  for (int i = 0; i < 4; i++)
    buf[36 + i] = (uint8_t)(crc >> (8 * i));
  fd = open(path, O_WRONLY);
  assert_true(fd >= 0);
  assert_int_equal(pwrite(fd, buf, n, 0), (ssize_t)n);
  close(fd);
  free(buf);
}

static void set_unknown_flag(const char *path)
{
  set_flags(path, 0x4);
}

static void set_high_flag(const char *path)
{
  set_flags(path, 0x80000000u);
}

static void set_tombstone_flag(const char *path)
{
  set_flags(path, 0x1); /* on a file with content: corrupt */
}

static void test_store_corrupt_unknown_flag_skipped(void **state)
{
  expect_skipped(*state, set_unknown_flag);
}

static void test_store_corrupt_high_flag_skipped(void **state)
{
  expect_skipped(*state, set_high_flag);
}

static void test_store_corrupt_tombstone_with_content_skipped(void **state)
{
  expect_skipped(*state, set_tombstone_flag);
}

static void test_store_tombstone_survives_reopen(void **state)
{
  struct fixture *f = *state;
  char path[PATH_MAX + 128];
  struct chord_id zero;
  struct store_kv *got;
  uint8_t *buf;
  size_t n;

  memset(&zero, 0, sizeof(zero));
  put_tomb(f->s, "gone", UINT64_MAX - 1, 0, 0);
  put_str(f->s, "kept", "content", 3, 0, 0);
  /* On disk: flag bit 0 and no content for the tombstone, 0 otherwise. */
  entry_path(f, "gone", path, sizeof(path));
  buf = slurp(path, &n);
  assert_int_equal(n, 40 + 4);
  assert_int_equal(le32(buf + 32), 1);
  free(buf);
  entry_path(f, "kept", path, sizeof(path));
  buf = slurp(path, &n);
  assert_int_equal(le32(buf + 32), 0);
  free(buf);

  reopen(f);
  assert_int_equal(store_corrupt_count(f->s), 0);
  expect_tomb(f->s, "gone", UINT64_MAX - 1);
  expect_str(f->s, "kept", "content", 3);
  expect_stats(f->s, 1, 7);
  assert_int_equal(store_tombstone_count(f->s), 1);
  assert_int_equal(store_versions_in(f->s, &zero, &zero, &got, &n), 0);
  assert_int_equal(n, 2);
  for (size_t i = 0; i < n; i++) {
    struct chord_id kg = key_of("gone");
    bool is_gone = chord_id_eq(&got[i].key, &kg);
    assert_int_equal(got[i].deleted, is_gone);
    assert_int_equal(got[i].version, is_gone ? UINT64_MAX - 1 : 3);
  }
  free(got);
  /* The reloaded tombstone still wins over an equal-version live copy. */
  put_str(f->s, "gone", "zombie", UINT64_MAX - 1, STORE_PUT_IF_NEWER,
          CHORD_EEXIST);
  put_str(f->s, "gone", "zombie", UINT64_MAX, STORE_PUT_IF_NEWER, 0);
  expect_str(f->s, "gone", "zombie", UINT64_MAX);
}

/* A file written without tombstones (flags 0, empty content) is live; the
 * same file with bit 0 set and a fixed CRC loads as a tombstone. */
static void test_store_flag_bit0_read_as_tombstone(void **state)
{
  struct fixture *f = *state;
  char path[PATH_MAX + 128];

  put_str(f->s, "e", "", 4, 0, 0);
  reopen(f);
  expect_str(f->s, "e", "", 4);
  store_close(f->s);
  f->s = NULL;
  entry_path(f, "e", path, sizeof(path));
  set_flags(path, 0x1);
  reopen(f);
  assert_int_equal(store_corrupt_count(f->s), 0);
  expect_tomb(f->s, "e", 4);
  expect_stats(f->s, 0, 0);
}

/* versions_in answers from the index: a file whose content rotted after
 * the put is still listed, and nothing is read or dropped. */
static void test_store_versions_in_reads_no_content(void **state)
{
  struct fixture *f = *state;
  char path[PATH_MAX + 128];
  struct chord_id zero;
  struct store_kv *got;
  size_t n;

  memset(&zero, 0, sizeof(zero));
  put_str(f->s, "a", "rotting", 2, 0, 0);
  entry_path(f, "a", path, sizeof(path));
  flip_byte(path, -1);
  assert_int_equal(store_versions_in(f->s, &zero, &zero, &got, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(got[0].version, 2);
  free(got);
  assert_int_equal(store_corrupt_count(f->s), 0);
}

/* IF_NEWER reads the stored content to break an equal-version, equal-length
 * tie; a rotten stored copy is dropped and the new one takes its place. */
static void test_store_if_newer_tie_over_corrupt_file(void **state)
{
  struct fixture *f = *state;
  char path[PATH_MAX + 128];

  put_str(f->s, "a", "abd", 1, 0, 0);
  put_str(f->s, "a", "abc", 1, STORE_PUT_IF_NEWER, CHORD_EEXIST);
  entry_path(f, "a", path, sizeof(path));
  flip_byte(path, -1);
  put_str(f->s, "a", "abc", 1, STORE_PUT_IF_NEWER, 0);
  assert_int_equal(store_corrupt_count(f->s), 1);
  expect_str(f->s, "a", "abc", 1);
}

/* --- registration -------------------------------------------------------- */

#define BOTH(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define DIR_ONLY(fn) \
  cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, &kind_dir)

static const struct CMUnitTest both_tests[] = {
    BOTH(test_store_backend_name),
    BOTH(test_store_roundtrip_empty),
    BOTH(test_store_roundtrip_one_byte),
    BOTH(test_store_roundtrip_1mib_random),
    BOTH(test_store_get_missing_not_found),
    BOTH(test_store_put_unknown_flag_einval),
    BOTH(test_store_overwrite_replaces),
    BOTH(test_store_if_newer_keeps_newer),
    BOTH(test_store_del_then_get_not_found),
    BOTH(test_store_del_missing_not_found),
    BOTH(test_store_del_version_only_that_version),
    BOTH(test_store_stats_track_changes),
    BOTH(test_store_keys_in_range),
    BOTH(test_store_keys_in_wraparound),
    BOTH(test_store_keys_in_whole_ring),
    BOTH(test_store_keys_in_empty),
    BOTH(test_store_many_entries),
    BOTH(test_store_hostile_names),
    BOTH(test_store_entry_survives_del),
    BOTH(test_store_entry_survives_overwrite),
    BOTH(test_store_put_keeps_own_reference),
    BOTH(test_store_threads_concurrent),
    BOTH(test_store_tombstone_roundtrip),
    BOTH(test_store_if_newer_older_version_refused),
    BOTH(test_store_if_newer_tombstone_beats_live),
    BOTH(test_store_if_newer_live_tie_break),
    BOTH(test_store_versions_in_range),
    BOTH(test_store_versions_in_wraparound),
    BOTH(test_store_versions_in_whole_ring),
    BOTH(test_store_versions_in_empty),
    BOTH(test_store_stats_exclude_tombstones),
    BOTH(test_store_purge_old_tombstones),
};

int main(void)
{
  const struct CMUnitTest entry_tests[] = {
      cmocka_unit_test(test_store_entry_create_copies),
      cmocka_unit_test(test_store_entry_create_edge_cases),
      cmocka_unit_test(test_store_tombstone_create_fields),
      cmocka_unit_test(test_store_entry_cmp_order),
  };
  const struct CMUnitTest dir_tests[] = {
      DIR_ONLY(test_store_reopen_restores_entries),
      DIR_ONLY(test_store_leftover_temp_removed),
      DIR_ONLY(test_store_corrupt_truncated_skipped),
      DIR_ONLY(test_store_corrupt_empty_file_skipped),
      DIR_ONLY(test_store_corrupt_flipped_content_skipped),
      DIR_ONLY(test_store_corrupt_bad_magic_skipped),
      DIR_ONLY(test_store_corrupt_flipped_version_skipped),
      DIR_ONLY(test_store_corrupt_wrong_name_skipped),
      DIR_ONLY(test_store_corrupt_after_open_get_eio),
      DIR_ONLY(test_store_foreign_files_ignored),
      DIR_ONLY(test_store_del_removes_file),
      DIR_ONLY(test_store_open_regular_file_fails),
      DIR_ONLY(test_store_open_creates_dir_0700),
      DIR_ONLY(test_store_open_locked_dir_busy),
      DIR_ONLY(test_store_put_io_failure_changes_nothing),
      DIR_ONLY(test_store_corrupt_unknown_flag_skipped),
      DIR_ONLY(test_store_corrupt_high_flag_skipped),
      DIR_ONLY(test_store_corrupt_tombstone_with_content_skipped),
      DIR_ONLY(test_store_tombstone_survives_reopen),
      DIR_ONLY(test_store_flag_bit0_read_as_tombstone),
      DIR_ONLY(test_store_versions_in_reads_no_content),
      DIR_ONLY(test_store_if_newer_tie_over_corrupt_file),
  };
  struct CMUnitTest mem_tests[ARRAY_LEN(both_tests)];
  struct CMUnitTest dir_both_tests[ARRAY_LEN(both_tests)];
  int failed = 0;

  /* The same behaviour table, once per backend. */
  for (size_t i = 0; i < ARRAY_LEN(both_tests); i++) {
    mem_tests[i] = both_tests[i];
    mem_tests[i].initial_state = &kind_mem;
    dir_both_tests[i] = both_tests[i];
    dir_both_tests[i].initial_state = &kind_dir;
  }
  failed += cmocka_run_group_tests_name("store_entry", entry_tests, NULL, NULL);
  failed += cmocka_run_group_tests_name("store_mem", mem_tests, NULL, NULL);
  failed +=
      cmocka_run_group_tests_name("store_dir", dir_both_tests, NULL, NULL);
  failed +=
      cmocka_run_group_tests_name("store_dir_only", dir_tests, NULL, NULL);
  return failed ? 1 : 0;
}
