/* SPDX-License-Identifier: MIT */
/* Unit tests for transfer: the wire decoder with good, bad and fuzzed
 * input, applying a batch to a mem store, and a range collected in pages,
 * encoded and decoded again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/chord_id.h"
#include "common/err.h"
#include "common/name.h"
#include "ring_util.h"
#include "node/store.h"
#include "node/transfer.h"

#define MAX_FILE 1000u   /* max_file for the decoder tests */
#define FUZZ_ROUNDS 3000 /* random wire batches */
#define FUZZ_FILES 6     /* most files per fuzzed batch */
#define RANGE_FILES 300  /* entries in the round-trip store */

/* The store and batch a test uses; freed by teardown. */
struct fixture {
  struct store *s;
  struct xfer_batch b;
  struct xfer_wire w;
  char names[FUZZ_FILES][NAME_MAX_BYTES + 8];
  uint8_t content[MAX_FILE + 2];
};

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  if (!f)
    return -1;
  f->s = store_open_mem();
  if (!f->s) {
    free(f);
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  xfer_batch_clear(&f->b);
  xfer_wire_free(&f->w);
  store_close(f->s);
  free(f);
  return 0;
}

static Chord__V1__File wire_file(const char *name, const void *data, size_t len,
                                 uint64_t version)
{
  Chord__V1__File file = CHORD__V1__FILE__INIT;
  file.name = (char *)name;
  file.content.data = (uint8_t *)data;
  file.content.len = len;
  file.version = version;
  return file;
}

/* Asserts that e holds name, content and version, under SHA-1(name). */
static void assert_entry(const struct store_entry *e, const char *name,
                         const void *data, size_t len, uint64_t version)
{
  struct chord_id key;
  chord_id_sha1_str(&key, name);
  assert_string_equal(e->name, name);
  assert_int_equal(e->name_len, strlen(name));
  assert_int_equal(e->len, len);
  if (len)
    assert_memory_equal(e->content, data, len);
  assert_int_equal(e->version, version);
  assert_memory_equal(e->key.b, key.b, CHORD_ID_BYTES);
}

static void test_transfer_decode_good_files(void **state)
{
  struct fixture *f = *state;
  Chord__V1__File files[4] = {
      wire_file("a", "x", 1, 5),
      wire_file("dir/\303\274ber.txt", "hello", 5, 100),
      wire_file("empty", NULL, 0, 7),
      wire_file("big", f->content, MAX_FILE, 1),
  };
  Chord__V1__File *ptrs[4] = {&files[0], &files[1], &files[2], &files[3]};
  /* A key, when the wire carries one, is the SHA-1 of the name. */
  struct chord_id k1, d0, d1;
  chord_id_sha1_str(&k1, "dir/\303\274ber.txt");
  files[1].key.data = k1.b;
  files[1].key.len = CHORD_ID_BYTES;
  chord_id_sha1_str(&d0, "gone");
  chord_id_sha1_str(&d1, "also gone");
  ProtobufCBinaryData del[2] = {{CHORD_ID_BYTES, d0.b}, {CHORD_ID_BYTES, d1.b}};
  uint64_t maxv = 50;
  const char *why = NULL;
  memset(f->content, 0xab, sizeof(f->content));

  assert_int_equal(
      xfer_batch_from_wire(&f->b, ptrs, 4, del, 2, MAX_FILE, &maxv, &why), 0);
  assert_int_equal(f->b.n, 4);
  assert_entry(f->b.entries[0], "a", "x", 1, 5);
  assert_entry(f->b.entries[1], "dir/\303\274ber.txt", "hello", 5, 100);
  assert_entry(f->b.entries[2], "empty", NULL, 0, 7);
  assert_entry(f->b.entries[3], "big", f->content, MAX_FILE, 1);
  assert_int_equal(f->b.ndeleted, 2);
  assert_memory_equal(f->b.deleted[0].b, d0.b, CHORD_ID_BYTES);
  assert_memory_equal(f->b.deleted[1].b, d1.b, CHORD_ID_BYTES);
  assert_int_equal(maxv, 100);
  xfer_batch_clear(&f->b);

  /* A higher max_version stays; an empty wire is an empty batch. */
  maxv = 500;
  assert_int_equal(
      xfer_batch_from_wire(&f->b, ptrs, 4, NULL, 0, MAX_FILE, &maxv, &why), 0);
  assert_int_equal(maxv, 500);
  xfer_batch_clear(&f->b);
  assert_int_equal(
      xfer_batch_from_wire(&f->b, NULL, 0, NULL, 0, MAX_FILE, &maxv, &why), 0);
  assert_int_equal(f->b.n, 0);
  assert_int_equal(f->b.ndeleted, 0);
}

/* Decodes a good file followed by bad (or files[1] NULL) and a deleted
 * key of del_len bytes, and asserts the refusal. */
static void assert_refused(struct fixture *f, const Chord__V1__File *bad,
                           size_t del_len)
{
  Chord__V1__File good = wire_file("good", "g", 1, 9);
  Chord__V1__File *ptrs[2] = {&good, (Chord__V1__File *)bad};
  uint8_t keybuf[CHORD_ID_BYTES + 1] = {0};
  ProtobufCBinaryData del[2] = {{CHORD_ID_BYTES, keybuf}, {del_len, keybuf}};
  uint64_t maxv = 3;
  const char *why = NULL;
  size_t nf = bad || del_len == CHORD_ID_BYTES ? 2 : 1;
  int rc = xfer_batch_from_wire(&f->b, ptrs, nf, del, 2, MAX_FILE, &maxv, &why);
  assert_int_equal(rc, CHORD_EINVAL);
  assert_non_null(why);
  assert_true(strlen(why) > 0);
  assert_int_equal(f->b.n, 0);
  assert_null(f->b.entries);
  assert_int_equal(f->b.ndeleted, 0);
  assert_null(f->b.deleted);
  assert_int_equal(maxv, 3);
}

static void test_transfer_decode_refuses_bad_input(void **state)
{
  struct fixture *f = *state;
  Chord__V1__File file;
  char *longname = f->names[0];

  assert_refused(f, NULL, CHORD_ID_BYTES); /* a NULL file */
  file = wire_file(NULL, "x", 1, 1);
  assert_refused(f, &file, CHORD_ID_BYTES);
  file = wire_file("", "x", 1, 1);
  assert_refused(f, &file, CHORD_ID_BYTES);
  const char *bad_utf8[] = {"\xff", "ab\xc3", "\xc0\xaf", "a\xed\xa0\x80"};
  for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
    file = wire_file(bad_utf8[i], "x", 1, 1);
    assert_refused(f, &file, CHORD_ID_BYTES);
  }
  memset(longname, 'n', NAME_MAX_BYTES + 1);
  longname[NAME_MAX_BYTES + 1] = '\0';
  file = wire_file(longname, "x", 1, 1);
  assert_refused(f, &file, CHORD_ID_BYTES);
  file = wire_file("over", f->content, MAX_FILE + 1, 1);
  assert_refused(f, &file, CHORD_ID_BYTES);
  /* A corrupt page: a key that is not SHA-1 of the name (wrong bytes or
   * a wrong length), version 0, a tombstone with content. */
  static const uint8_t junk_key[CHORD_ID_BYTES] = {1, 2, 3, 4, 5};
  file = wire_file("keyed", "x", 1, 1);
  file.key.data = (uint8_t *)junk_key;
  file.key.len = CHORD_ID_BYTES;
  assert_refused(f, &file, CHORD_ID_BYTES);
  file.key.len = 5;
  assert_refused(f, &file, CHORD_ID_BYTES);
  file = wire_file("unversioned", "x", 1, 0);
  assert_refused(f, &file, CHORD_ID_BYTES);
  /* A version over an hour ahead of the clock would hold back every later
   * write of the key: refused (the wall clock in microseconds). */
  file = wire_file("future", "x", 1,
                   (uint64_t)time(NULL) * 1000000u + XFER_VERSION_AHEAD_US +
                       60u * 1000000u);
  assert_refused(f, &file, CHORD_ID_BYTES);
  assert_false(xfer_version_ok(UINT64_MAX));
  assert_true(xfer_version_ok((uint64_t)time(NULL) * 1000000u));
  file = wire_file("tomb", "x", 1, 3);
  file.deleted = true;
  assert_refused(f, &file, CHORD_ID_BYTES);
  /* Deleted keys of 19, 21 and 0 bytes (nf 1: the good file only). */
  assert_refused(f, NULL, CHORD_ID_BYTES - 1);
  assert_refused(f, NULL, CHORD_ID_BYTES + 1);
  assert_refused(f, NULL, 0);

  /* At the limits: a 1024-byte name and max_file bytes are accepted. */
  longname[NAME_MAX_BYTES] = '\0';
  Chord__V1__File edge[2] = {wire_file(longname, "x", 1, 1),
                             wire_file("full", f->content, MAX_FILE, 2)};
  Chord__V1__File *ptrs[2] = {&edge[0], &edge[1]};
  uint64_t maxv = 0;
  const char *why = NULL;
  assert_int_equal(
      xfer_batch_from_wire(&f->b, ptrs, 2, NULL, 0, MAX_FILE, &maxv, &why), 0);
  assert_int_equal(f->b.n, 2);
  assert_int_equal(f->b.entries[0]->name_len, NAME_MAX_BYTES);
  assert_int_equal(f->b.entries[1]->len, MAX_FILE);
  xfer_batch_clear(&f->b);

  /* A tombstone decodes as one: deleted, no content, its version. */
  Chord__V1__File tomb = wire_file("tomb", NULL, 0, 9);
  Chord__V1__File *tp = &tomb;
  tomb.deleted = true;
  assert_int_equal(
      xfer_batch_from_wire(&f->b, &tp, 1, NULL, 0, MAX_FILE, &maxv, &why), 0);
  assert_int_equal(f->b.n, 1);
  assert_true(f->b.entries[0]->deleted);
  assert_int_equal(f->b.entries[0]->len, 0);
  assert_int_equal(f->b.entries[0]->version, 9);
}

/* A random name of len bytes from ASCII 1..0x7f and, rarely, bytes that
 * are never valid UTF-8 (0xc0, 0xff). Returns whether it is a good name. */
static bool fuzz_name(uint64_t *seed, char *out, size_t len)
{
  bool good = len >= 1 && len <= NAME_MAX_BYTES;
  for (size_t i = 0; i < len; i++) {
    uint64_t r = rng_next(seed);
    if (r % 97 == 0) {
      out[i] = (char)(r & 0x100 ? 0xc0 : 0xff);
      good = false;
    } else {
      out[i] = (char)(1 + r % 0x7f);
    }
  }
  out[len] = '\0';
  return good;
}

static void test_transfer_decode_fuzz(void **state)
{
  struct fixture *f = *state;
  uint64_t seed = 0xf0220000u;
  Chord__V1__File files[FUZZ_FILES];
  Chord__V1__File *ptrs[FUZZ_FILES];
  uint8_t keys[3][CHORD_ID_BYTES + 1];
  ProtobufCBinaryData del[3];
  size_t accepted = 0;

  for (size_t i = 0; i < 3; i++)
    for (size_t k = 0; k <= CHORD_ID_BYTES; k++)
      keys[i][k] = (uint8_t)rng_next(&seed);
  for (size_t round = 0; round < FUZZ_ROUNDS; round++) {
    size_t nf = rng_next(&seed) % (FUZZ_FILES + 1);
    size_t nd = rng_next(&seed) % 4;
    bool want_ok = true;
    uint64_t maxv = 10, want_maxv = 10;
    for (size_t i = 0; i < nf; i++) {
      uint64_t r = rng_next(&seed);
      size_t len = r % 8 == 0 ? NAME_MAX_BYTES - 1 + r % 3 : r % 12;
      size_t clen = r % 5 == 0 ? MAX_FILE - 1 + (r >> 8) % 3 : (r >> 8) % 40;
      bool good = fuzz_name(&seed, f->names[i], len);
      files[i] = wire_file(f->names[i], f->content, clen, (r >> 16) % 64);
      ptrs[i] = &files[i];
      if (r % 53 == 0) {
        ptrs[i] = NULL;
        good = false;
      } else if (r % 59 == 0) {
        files[i].name = NULL;
        good = false;
      }
      want_ok = want_ok && good && clen <= MAX_FILE && files[i].version > 0;
      if (files[i].version > want_maxv)
        want_maxv = files[i].version;
    }
    for (size_t i = 0; i < nd; i++) {
      uint64_t r = rng_next(&seed);
      del[i].data = keys[i];
      del[i].len =
          r % 6 == 0 ? CHORD_ID_BYTES - 1 + (r >> 8) % 3 : CHORD_ID_BYTES;
      want_ok = want_ok && del[i].len == CHORD_ID_BYTES;
    }
    const char *why = NULL;
    int rc =
        xfer_batch_from_wire(&f->b, ptrs, nf, del, nd, MAX_FILE, &maxv, &why);
    if (want_ok) {
      assert_int_equal(rc, 0);
      assert_int_equal(f->b.n, nf);
      assert_int_equal(f->b.ndeleted, nd);
      assert_int_equal(maxv, want_maxv);
      for (size_t i = 0; i < nf; i++)
        assert_entry(f->b.entries[i], files[i].name, f->content,
                     files[i].content.len, files[i].version);
      accepted++;
    } else {
      assert_int_equal(rc, CHORD_EINVAL);
      assert_non_null(why);
      assert_int_equal(f->b.n, 0);
      assert_null(f->b.entries);
      assert_null(f->b.deleted);
      assert_int_equal(maxv, 10);
    }
    xfer_batch_clear(&f->b);
  }
  /* Both outcomes were exercised. */
  assert_true(accepted > FUZZ_ROUNDS / 10);
  assert_true(accepted < FUZZ_ROUNDS - FUZZ_ROUNDS / 10);
}

static void put(struct store *s, const char *name, const char *content,
                uint64_t version)
{
  struct store_entry *e =
      store_entry_create(name, strlen(name), content, strlen(content), version);
  assert_non_null(e);
  assert_int_equal(store_put(s, e, 0), 0);
  store_entry_unref(e);
}

static void assert_stored(struct store *s, const char *name,
                          const char *content, uint64_t version)
{
  struct chord_id key;
  struct store_entry *e = NULL;
  chord_id_sha1_str(&key, name);
  assert_int_equal(store_get(s, &key, &e), 0);
  assert_entry(e, name, content, strlen(content), version);
  store_entry_unref(e);
}

static void test_transfer_apply_to_mem_store(void **state)
{
  struct fixture *f = *state;
  put(f->s, "a", "old a", 5);
  put(f->s, "b", "new b", 10);
  put(f->s, "d", "doomed", 1);
  Chord__V1__File files[3] = {wire_file("a", "newer a", 7, 7),
                              wire_file("b", "stale", 5, 3),
                              wire_file("c", "fresh", 5, 1)};
  Chord__V1__File *ptrs[3] = {&files[0], &files[1], &files[2]};
  struct chord_id kd, kz;
  chord_id_sha1_str(&kd, "d");
  chord_id_sha1_str(&kz, "never stored");
  ProtobufCBinaryData del[2] = {{CHORD_ID_BYTES, kd.b}, {CHORD_ID_BYTES, kz.b}};
  uint64_t maxv = 0;
  const char *why = NULL;
  assert_int_equal(
      xfer_batch_from_wire(&f->b, ptrs, 3, del, 2, MAX_FILE, &maxv, &why), 0);

  assert_int_equal(xfer_batch_apply(f->s, &f->b), 0);
  assert_stored(f->s, "a", "newer a", 7);
  assert_stored(f->s, "b", "new b", 10);
  assert_stored(f->s, "c", "fresh", 1);
  struct store_entry *e = NULL;
  assert_int_equal(store_get(f->s, &kd, &e), CHORD_ENOTFOUND);
  uint64_t count, bytes;
  store_stats(f->s, &count, &bytes);
  assert_int_equal(count, 3);
  /* Applying the same batch again changes nothing and is no error. */
  assert_int_equal(xfer_batch_apply(f->s, &f->b), 0);
  assert_stored(f->s, "a", "newer a", 7);
  store_stats(f->s, &count, &bytes);
  assert_int_equal(count, 3);
}

/* Fills the store with RANGE_FILES entries of varied sizes; keys[i] is
 * entry i's key. */
static void fill_store(struct fixture *f, struct chord_id *keys)
{
  uint64_t seed = 0x4a9e0000u;
  for (size_t i = 0; i < RANGE_FILES; i++) {
    char name[32], content[128];
    size_t clen = rng_next(&seed) % sizeof(content);
    snprintf(name, sizeof(name), "file-%zu", i);
    memset(content, 'a' + (int)(i % 26), clen);
    struct store_entry *e =
        store_entry_create(name, strlen(name), content, clen, i + 1);
    assert_non_null(e);
    assert_int_equal(store_put(f->s, e, 0), 0);
    keys[i] = e->key;
    store_entry_unref(e);
  }
}

static void test_transfer_range_pages_round_trip(void **state)
{
  struct fixture *f = *state;
  struct chord_id keys[RANGE_FILES];
  bool seen[RANGE_FILES];
  fill_store(f, keys);
  /* Ranges that wrap past zero, a half ring, and the whole ring. */
  struct chord_id from, upto;
  const uint8_t bounds[][2] = {{0xc0, 0x40}, {0x00, 0x80}, {0x37, 0x37}};
  const uint64_t page_bytes[] = {1, 600, 5000, UINT64_MAX};
  for (size_t bi = 0; bi < 3; bi++) {
    memset(&from, 0, sizeof(from));
    memset(&upto, 0, sizeof(upto));
    from.b[0] = bounds[bi][0];
    upto.b[0] = bounds[bi][1];
    size_t in_range = 0;
    for (size_t i = 0; i < RANGE_FILES; i++)
      in_range += chord_id_in_oc(&keys[i], &from, &upto);
    for (size_t pi = 0; pi < 4; pi++) {
      struct chord_id after, prev_d;
      bool have_after = false, more = true;
      size_t got = 0, pages = 0;
      memset(seen, 0, sizeof(seen));
      while (more) {
        struct xfer_batch page = {0};
        uint64_t maxv = 0, bytes = 0;
        const char *why = NULL;
        assert_int_equal(xfer_collect_range(f->s, &from, &upto,
                                            have_after ? &after : NULL,
                                            page_bytes[pi], &page),
                         0);
        assert_int_equal(xfer_wire_make(&page, &f->w), 0);
        assert_int_equal(xfer_batch_from_wire(&f->b, f->w.ptrs, page.n,
                                              f->w.deleted, page.ndeleted,
                                              MAX_FILE, &maxv, &why),
                         0);
        more = page.more;
        pages++;
        assert_true(page.n > 0 || (!more && in_range == 0));
        for (size_t i = 0; i < f->b.n; i++) {
          const struct store_entry *e = f->b.entries[i];
          struct chord_id d;
          size_t idx = (size_t)strtoul(e->name + 5, NULL, 10);
          assert_true(idx < RANGE_FILES);
          assert_false(seen[idx]);
          seen[idx] = true;
          assert_memory_equal(e->key.b, keys[idx].b, CHORD_ID_BYTES);
          assert_true(chord_id_in_oc(&e->key, &from, &upto));
          assert_int_equal(e->version, idx + 1);
          assert_memory_equal(e->content, page.entries[i]->content, e->len);
          /* Clockwise from `from`, across pages too. */
          chord_id_sub(&d, &e->key, &from);
          if (got > 0)
            assert_true(chord_id_cmp(&prev_d, &d) < 0);
          prev_d = d;
          got++;
          bytes += e->len + e->name_len + XFER_ENTRY_OVERHEAD;
        }
        if (f->b.n > 1)
          assert_true(bytes <= page_bytes[pi]);
        if (f->b.n > 0) {
          after = f->b.entries[f->b.n - 1]->key;
          have_after = true;
        }
        xfer_wire_free(&f->w);
        xfer_batch_clear(&f->b);
        xfer_batch_clear(&page);
        assert_true(pages <= RANGE_FILES + 1);
      }
      assert_int_equal(got, in_range);
      if (page_bytes[pi] == 1)
        assert_int_equal(pages, in_range > 0 ? in_range : 1);
      if (page_bytes[pi] == UINT64_MAX)
        assert_int_equal(pages, 1);
    }
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_transfer_decode_good_files, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_transfer_decode_refuses_bad_input,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_transfer_decode_fuzz, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_transfer_apply_to_mem_store, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_transfer_range_pages_round_trip,
                                      setup, teardown),
  };
  return cmocka_run_group_tests_name("transfer", tests, NULL, NULL);
}
