/* SPDX-License-Identifier: MIT */
/* Unit tests for chunked files' building blocks: chunk names (parse, make,
 * what name_check lets through), manifest checks and chunk arithmetic, and
 * the store's chunk index (flags, listing, names, counts, reload) on both
 * backends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/chord_id.h"
#include "common/err.h"
#include "common/manifest.h"
#include "common/name.h"
#include "node/store.h"

/* --- chunk names -----------------------------------------------------------
 */

static void fill_hash(uint8_t h[NAME_CHUNK_HASH_BYTES], uint8_t seed)
{
  for (int i = 0; i < NAME_CHUNK_HASH_BYTES; i++)
    h[i] = (uint8_t)(seed + 37 * i);
}

static void test_chunk_name_round_trip(void **state)
{
  uint8_t h[NAME_CHUNK_HASH_BYTES], back[NAME_CHUNK_HASH_BYTES];
  char name[NAME_MAX_STORED + 1], file[NAME_MAX_BYTES + 1];
  const char *f;
  size_t flen, len;
  (void)state;
  fill_hash(h, 3);
  memset(file, 'x', NAME_MAX_BYTES);
  file[NAME_MAX_BYTES] = '\0';
  len = name_chunk_make(name, h, file, NAME_MAX_BYTES);
  assert_int_equal(len, NAME_MAX_STORED);
  assert_int_equal(strlen(name), len);
  assert_memory_equal(name, NAME_CHUNK_PREFIX, NAME_CHUNK_PREFIX_LEN);
  assert_int_equal(name_check(name, len, NULL), 0);
  assert_true(name_is_chunk(name, len));
  assert_int_equal(name_chunk_parse(name, len, back, &f, &flen), 0);
  assert_memory_equal(back, h, sizeof(h));
  assert_int_equal(flen, NAME_MAX_BYTES);
  assert_memory_equal(f, file, flen);
}

static void test_chunk_name_refusals(void **state)
{
  static const char hex[] =
      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  char buf[NAME_MAX_STORED + 64];
  const char *why = NULL;
  (void)state;
  /* Plain names are untouched; "@chunk" without the slash is no chunk. */
  assert_int_equal(name_check("@chunk", 6, NULL), 0);
  assert_int_equal(name_check("chunk/x", 7, NULL), 0);
  /* Every malformed @chunk/ name is refused with a reason. */
  const char *bad[] = {
      "@chunk/",
      "@chunk/abc/file",
      "@chunk/00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff"
      "/file", /* upper case */
      "@chunk/00112233445566778899aabbccddeeff00112233445566778899aabbccddeef"
      "g/file", /* not hex */
      "@chunk/00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
      "@chunk/"
      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff/",
      "@chunk/00112233445566778899aabbccddeeff00112233445566778899aabbccddeeffx"
      "file", /* no slash after the hash */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    why = NULL;
    assert_int_equal(name_check(bad[i], strlen(bad[i]), &why), CHORD_EINVAL);
    assert_non_null(why);
  }
  /* A chunk of a chunk name is refused: the inner name is reserved. */
  snprintf(buf, sizeof(buf), "@chunk/%s/@chunk/%s/f", hex, hex);
  assert_int_equal(name_check(buf, strlen(buf), &why), CHORD_EINVAL);
  assert_non_null(strstr(why, "reserved"));
  /* The file name inside must be valid: too long, bad UTF-8. */
  memset(buf, 'y', sizeof(buf));
  snprintf(buf, sizeof(buf), "@chunk/%s/", hex);
  memset(buf + strlen(buf), 'y', NAME_MAX_BYTES + 1);
  buf[NAME_CHUNK_PREFIX_LEN + NAME_CHUNK_HEX_LEN + 1 + NAME_MAX_BYTES + 1] = 0;
  assert_int_equal(name_check(buf, strlen(buf), NULL), CHORD_EINVAL);
  snprintf(buf, sizeof(buf), "@chunk/%s/\xff", hex);
  assert_int_equal(name_check(buf, strlen(buf), NULL), CHORD_EINVAL);
  snprintf(buf, sizeof(buf), "@chunk/%s/ok", hex);
  assert_int_equal(name_check(buf, strlen(buf), NULL), 0);
}

/* --- manifests -------------------------------------------------------------
 */

struct mf {
  Chord__V1__Manifest m;
  ProtobufCBinaryData ch[8];
  uint8_t hashes[8][NAME_CHUNK_HASH_BYTES];
  uint8_t whole[NAME_CHUNK_HASH_BYTES];
};

/* A valid manifest of size bytes at chunk bytes per chunk (<= 8). */
static void mf_init(struct mf *f, uint64_t size, uint64_t chunk)
{
  chord__v1__manifest__init(&f->m);
  f->m.size = size;
  f->m.chunk_size = chunk;
  f->m.n_chunks = (size_t)manifest_chunks_for(size, chunk);
  f->m.chunks = f->ch;
  for (size_t i = 0; i < f->m.n_chunks; i++) {
    fill_hash(f->hashes[i], (uint8_t)i);
    f->ch[i].data = f->hashes[i];
    f->ch[i].len = NAME_CHUNK_HASH_BYTES;
  }
  f->m.sha256.data = f->whole;
  f->m.sha256.len = NAME_CHUNK_HASH_BYTES;
}

static const struct manifest_limits lim = {
    .max_object = 1000, .max_chunk = 100, .now_us = 0, .grace_us = 0};

static void test_manifest_arithmetic(void **state)
{
  struct mf f;
  (void)state;
  assert_int_equal(manifest_write_limit_us(1000000), 900000);
  assert_int_equal(manifest_chunks_for(0, 10), 0);
  assert_int_equal(manifest_chunks_for(1, 10), 1);
  assert_int_equal(manifest_chunks_for(10, 10), 1);
  assert_int_equal(manifest_chunks_for(11, 10), 2);
  assert_int_equal(manifest_chunks_for(5, 0), 0);
  mf_init(&f, 25, 10);
  assert_int_equal(manifest_chunk_len(&f.m, 0), 10);
  assert_int_equal(manifest_chunk_len(&f.m, 1), 10);
  assert_int_equal(manifest_chunk_len(&f.m, 2), 5);
  assert_int_equal(manifest_chunk_len(&f.m, 3), 0);
}

static void test_manifest_check(void **state)
{
  struct mf f;
  const char *why = NULL;
  struct manifest_limits aged = lim;
  (void)state;
  mf_init(&f, 25, 10);
  assert_int_equal(manifest_check(&f.m, &lim, &why), 0);
  mf_init(&f, 0, 10); /* empty: no chunks */
  assert_int_equal(manifest_check(&f.m, &lim, &why), 0);

  mf_init(&f, 25, 10);
  f.m.chunk_size = 0;
  assert_int_equal(manifest_check(&f.m, &lim, &why), CHORD_EINVAL);
  mf_init(&f, 25, 10);
  f.m.n_chunks = 2; /* one short */
  assert_int_equal(manifest_check(&f.m, &lim, &why), CHORD_EINVAL);
  mf_init(&f, 25, 10);
  f.ch[1].len = 31;
  assert_int_equal(manifest_check(&f.m, &lim, &why), CHORD_EINVAL);
  mf_init(&f, 25, 10);
  f.m.sha256.len = 0;
  assert_int_equal(manifest_check(&f.m, &lim, &why), CHORD_EINVAL);
  mf_init(&f, 250, 200); /* chunk over the limit */
  assert_int_equal(manifest_check(&f.m, &lim, &why), CHORD_ETOOBIG);
  mf_init(&f, 800, 100);
  f.m.size = 1001; /* object over the limit (count checked after) */
  assert_int_equal(manifest_check(&f.m, &lim, &why), CHORD_ETOOBIG);
  assert_non_null(strstr(why, "object"));

  /* Age: begun within the grace period passes, earlier does not. */
  mf_init(&f, 25, 10);
  aged.now_us = 10000000;
  aged.grace_us = 1000000;
  f.m.started_us = 9500000;
  assert_int_equal(manifest_check(&f.m, &aged, &why), 0);
  f.m.started_us = 8000000;
  assert_int_equal(manifest_check(&f.m, &aged, &why), CHORD_ESTATE);
  f.m.started_us = 20000000; /* a clock ahead is not "old" */
  assert_int_equal(manifest_check(&f.m, &aged, &why), 0);
}

/* --- the store's chunk index ------------------------------------------------
 */

static char tmpdir[PATH_MAX];

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

static struct store *open_store(int dir)
{
  int err = 0;
  if (!dir)
    return store_open_mem();
  return store_open_dir(tmpdir, &err);
}

static void put(struct store *s, const char *name, const char *content,
                uint64_t version, int manifest)
{
  struct store_entry *e =
      manifest ? store_manifest_create(name, strlen(name), content,
                                       strlen(content), version)
               : store_entry_create(name, strlen(name), content,
                                    strlen(content), version);
  assert_non_null(e);
  assert_int_equal(store_put(s, e, 0), 0);
  store_entry_unref(e);
}

static void check_index(struct store *s, const char *c1, const char *c2)
{
  struct chord_id zero, key;
  struct store_kv *kv = NULL;
  struct store_entry *e = NULL;
  char *name = NULL;
  size_t n = 0, len = 0;
  memset(&zero, 0, sizeof(zero));

  assert_int_equal(store_chunk_count(s), 2);
  /* Old chunks only: c1 at version 10 is listed below 15, c2 (20) not. */
  assert_int_equal(store_chunks_in(s, &zero, &zero, 15, &kv, &n), 0);
  assert_int_equal(n, 1);
  chord_id_sha1(&key, c1, strlen(c1));
  assert_true(chord_id_eq(&kv[0].key, &key));
  assert_int_equal(kv[0].version, 10);
  free(kv);
  assert_int_equal(store_chunks_in(s, &zero, &zero, 100, &kv, &n), 0);
  assert_int_equal(n, 2);
  free(kv);
  /* Names come back without the content. */
  chord_id_sha1(&key, c2, strlen(c2));
  assert_int_equal(store_get_name(s, &key, &name, &len), 0);
  assert_int_equal(len, strlen(c2));
  assert_string_equal(name, c2);
  free(name);
  /* The manifest flag survives. */
  chord_id_sha1(&key, "file", 4);
  assert_int_equal(store_get(s, &key, &e), 0);
  assert_true(e->manifest);
  assert_false(e->chunk);
  store_entry_unref(e);
  chord_id_sha1(&key, "missing", 7);
  assert_int_equal(store_get_name(s, &key, &name, &len), CHORD_ENOTFOUND);
}

static void run_index(int dir)
{
  static const char c1[] =
      "@chunk/00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
      "/file";
  static const char c2[] =
      "@chunk/ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
      "/file";
  struct store *s;
  struct store_entry *t;
  snprintf(tmpdir, sizeof(tmpdir), "/tmp/chord-chunks-XXXXXX");
  assert_non_null(mkdtemp(tmpdir));
  s = open_store(dir);
  assert_non_null(s);
  put(s, c1, "one", 10, 0);
  put(s, c2, "two", 20, 0);
  put(s, "file", "manifest bytes", 30, 1);
  put(s, "plain", "x", 5, 0);
  check_index(s, c1, c2);
  if (dir) { /* everything is read back from disk */
    store_close(s);
    s = open_store(dir);
    assert_non_null(s);
    check_index(s, c1, c2);
  }
  /* A tombstone is no chunk held. */
  t = store_tombstone_create(c1, strlen(c1), 40);
  assert_int_equal(store_put(s, t, 0), 0);
  store_entry_unref(t);
  assert_int_equal(store_chunk_count(s), 1);
  store_close(s);
  nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void test_store_chunks_mem(void **state)
{
  (void)state;
  run_index(0);
}

static void test_store_chunks_dir(void **state)
{
  (void)state;
  run_index(1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chunk_name_round_trip),
      cmocka_unit_test(test_chunk_name_refusals),
      cmocka_unit_test(test_manifest_arithmetic),
      cmocka_unit_test(test_manifest_check),
      cmocka_unit_test(test_store_chunks_mem),
      cmocka_unit_test(test_store_chunks_dir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
