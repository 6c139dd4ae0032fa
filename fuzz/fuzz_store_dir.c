/* SPDX-License-Identifier: MIT */
/* Fuzzes the dir store's entry-file parser (store__dir_read, the reader
 * behind store open and get) against a plain re-statement of the format
 * in store_dir.c: each input becomes one file in a scratch directory, read
 * both ways (header only, and the whole entry), and accepted exactly when
 * the re-statement accepts it. Input: byte 0, low 2 bits: 0 the rest is
 * the file as is, 1 the same with its CRC fixed, 2 a well-formed file
 * built from the rest (version, tombstone flag, name length, then name and
 * content), 3 as 1 with a wrong file name; bit 2 also opens a store over
 * the directory (its scan) and gets the key. */
#define STORE__BACKEND
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/chord_id.h"
#include "common/err.h"
#include "fuzz.h"
#include "node/store.h"
#include "node/store_dir.h"

#define HDR_LEN 40
#define CRC_OFF 36
#define FUZZ_FILE_MAX (1u << 20)

static char dir[4096];
static int dirfd = -1;

static void remove_dir(void)
{
  if (dirfd >= 0)
    close(dirfd);
  rmdir(dir);
}

/* A scratch directory under $TMPDIR (else /tmp), removed at exit. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  const char *base = getenv("TMPDIR");
  (void)argc;
  (void)argv;
  snprintf(dir, sizeof(dir), "%s/chord-fuzz-store-XXXXXX",
           base && *base ? base : "/tmp");
  FUZZ_CHECK(mkdtemp(dir), "mkdtemp");
  dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  FUZZ_CHECK(dirfd >= 0, "open the scratch directory");
  atexit(remove_dir);
  return 0;
}

/* CRC-32 (IEEE, reflected), a bit at a time. */
static uint32_t ref_crc(uint32_t crc, const uint8_t *p, size_t n)
{
  crc = ~crc;
  while (n--) {
    crc ^= *p++;
    for (int k = 0; k < 8; k++)
      crc = (crc & 1) ? 0xedb88320u ^ (crc >> 1) : crc >> 1;
  }
  return ~crc;
}

static uint64_t le(const uint8_t *p, int n)
{
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static void put(uint8_t *p, uint64_t v, int n)
{
  for (int i = 0; i < n; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static void hex_of(const uint8_t *name, size_t len, char hex[41])
{
  struct chord_id key;
  chord_id_sha1(&key, name, len);
  chord_id_to_hex(&key, hex);
}

/* Whether the format accepts f[0..n) under the file name fname. */
static bool ref_valid(const uint8_t *f, size_t n, const char *fname)
{
  char hex[CHORD_ID_HEX_LEN + 1];
  if (n < HDR_LEN || memcmp(f, "CHRD", 4) != 0 || le(f + 4, 4) != 1)
    return false;
  uint64_t name_len = le(f + 8, 8), len = le(f + 16, 8), flags = le(f + 32, 4);
  /* Flags: bit 0 tombstone (no content), bit 1 manifest (issue 14). */
  if ((flags & ~3u) || ((flags & 1) && len) || name_len > n - HDR_LEN ||
      len != n - HDR_LEN - name_len)
    return false;
  uint32_t crc = ref_crc(0, f, CRC_OFF);
  crc = ref_crc(crc, f + HDR_LEN, n - HDR_LEN);
  if (crc != (uint32_t)le(f + CRC_OFF, 4))
    return false;
  hex_of(f + HDR_LEN, (size_t)name_len, hex);
  return strcmp(hex, fname) == 0;
}

/* The file for mode 2: well-formed from the fields in in[0..n). */
static size_t build(const uint8_t *in, size_t n, uint8_t *f)
{
  uint8_t fields[11] = {0};
  memcpy(fields, in, n < sizeof(fields) ? n : sizeof(fields));
  in += n < sizeof(fields) ? n : sizeof(fields);
  n -= n < sizeof(fields) ? n : sizeof(fields);
  bool tomb = fields[8] & 1;
  size_t name_len = (size_t)le(fields + 9, 2);
  if (name_len > n)
    name_len = n;
  size_t len = tomb ? 0 : n - name_len;
  memcpy(f, "CHRD", 4);
  put(f + 4, 1, 4);
  put(f + 8, name_len, 8);
  put(f + 16, len, 8);
  memcpy(f + 24, fields, 8);
  put(f + 32, tomb, 4);
  memcpy(f + HDR_LEN, in, name_len + len);
  uint32_t crc = ref_crc(0, f, CRC_OFF);
  put(f + CRC_OFF, ref_crc(crc, f + HDR_LEN, name_len + len), 4);
  return HDR_LEN + name_len + len;
}

static void write_file(const char *fname, const uint8_t *f, size_t n)
{
  int fd = openat(dirfd, fname, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FUZZ_CHECK(fd >= 0, "create the entry file");
  FUZZ_CHECK(write(fd, f, n) == (ssize_t)n, "write the entry file");
  FUZZ_CHECK(close(fd) == 0, "close the entry file");
}

/* The entry read whole must be the file's bytes. */
static void check_entry(const struct store_entry *e,
                        const struct store__meta *m, const uint8_t *f, size_t n,
                        const char *fname)
{
  char hex[CHORD_ID_HEX_LEN + 1];
  FUZZ_CHECK(e->version == le(f + 24, 8) && m->version == e->version,
             "version");
  FUZZ_CHECK(e->manifest == ((le(f + 32, 4) & 2) != 0), "manifest flag");
  FUZZ_CHECK(e->deleted == (le(f + 32, 4) & 1) && m->deleted == e->deleted,
             "tombstone flag");
  FUZZ_CHECK(e->name_len == le(f + 8, 8) && e->len == m->len &&
                 HDR_LEN + e->name_len + e->len == n,
             "lengths");
  FUZZ_CHECK(e->name[e->name_len] == '\0', "name without its NUL");
  FUZZ_CHECK(memcmp(e->name, f + HDR_LEN, e->name_len) == 0, "name bytes");
  FUZZ_CHECK(!e->len ||
                 memcmp(e->content, f + HDR_LEN + e->name_len, e->len) == 0,
             "content bytes");
  chord_id_to_hex(&e->key, hex);
  FUZZ_CHECK(strcmp(hex, fname) == 0, "key");
}

/* Opens a store over the directory: the file is indexed when valid (and
 * got back whole), else counted corrupt. */
static void check_store(const char *fname, bool valid, const uint8_t *f,
                        size_t n)
{
  int err = 0;
  struct chord_id key;
  struct store_entry *e = NULL;
  struct store *s = store_open_dir(dir, &err);
  FUZZ_CHECK(s, "store_open_dir");
  FUZZ_CHECK(store_corrupt_count(s) == !valid, "corrupt count at open");
  FUZZ_CHECK(chord_id_from_hex(&key, fname) == 0, "file name");
  int rc = store_get(s, &key, &e);
  FUZZ_CHECK(valid ? rc == 0 : rc == CHORD_ENOTFOUND, "store_get");
  if (valid) {
    struct store__meta m = {.version = e->version,
                            .len = e->len,
                            .deleted = e->deleted,
                            .manifest = e->manifest,
                            .chunk = e->chunk};
    check_entry(e, &m, f, n, fname);
    store_entry_unref(e);
  }
  store_close(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static uint8_t f[FUZZ_FILE_MAX];
  char fname[CHORD_ID_HEX_LEN + 1];
  struct store__meta m1, m2;
  struct store_entry *e = NULL;
  size_t n;
  if (size < 1 || size > FUZZ_FILE_MAX)
    return 0;
  unsigned mode = data[0] & 3;
  bool via_store = data[0] & 4;
  if (mode == 2) {
    n = build(data + 1, size - 1, f);
  } else {
    n = size - 1;
    memcpy(f, data + 1, n);
  }
  /* Named after the name the header points at, when it points in. */
  uint64_t name_len = n >= HDR_LEN ? le(f + 8, 8) : 0;
  if (n >= HDR_LEN && name_len <= n - HDR_LEN)
    hex_of(f + HDR_LEN, (size_t)name_len, fname);
  else
    hex_of(NULL, 0, fname);
  if (mode == 3)
    fname[0] = fname[0] == '0' ? '1' : '0';
  if ((mode == 1 || mode == 3) && n >= HDR_LEN) {
    uint32_t crc = ref_crc(0, f, CRC_OFF);
    put(f + CRC_OFF, ref_crc(crc, f + HDR_LEN, n - HDR_LEN), 4);
  }
  write_file(fname, f, n);

  bool valid = ref_valid(f, n, fname);
  FUZZ_CHECK(mode != 2 || valid, "a built file is not well-formed");
  int rc1 = store__dir_read(dirfd, fname, &m1, NULL);
  int rc2 = store__dir_read(dirfd, fname, &m2, &e);
  FUZZ_CHECK(rc1 == rc2, "header-only and whole reads disagree");
  FUZZ_CHECK(rc1 == 0 || rc1 == CHORD_EIO, "read error code");
  FUZZ_CHECK((rc1 == 0) == valid, valid ? "a well-formed file is refused"
                                        : "a malformed file is accepted");
  if (rc1 == 0) {
    FUZZ_CHECK(m1.version == m2.version && m1.len == m2.len &&
                   m1.deleted == m2.deleted,
               "header-only and whole reads read apart");
    check_entry(e, &m2, f, n, fname);
    store_entry_unref(e);
  }
  if (via_store)
    check_store(fname, valid, f, n);
  FUZZ_CHECK(unlinkat(dirfd, fname, 0) == 0 || errno == ENOENT, "unlink");
  return 0;
}
