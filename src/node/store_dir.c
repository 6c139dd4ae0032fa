/* SPDX-License-Identifier: MIT */
/* Directory store backend: one file per entry or tombstone, named by the
 * hex key only, written to a temporary file, fsynced and renamed into place.
 * An in-memory index (key -> version, size, tombstone) answers everything
 * but get's content. */
#define STORE__BACKEND
#include "node/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crc32.h"
#include "common/err.h"
#include "common/name.h"
#include "node/store_dir.h"

/* File layout, integers little-endian:
 *   0  magic "CHRD"          4  format version (1)
 *   8  name length (u64)    16  content length (u64)
 *  24  entry version (u64)  32  flags (u32): bit 0 tombstone, bit 1
 *                                 manifest, others 0
 *  36  CRC-32 (IEEE) of bytes 0..35, then the name, then the content
 *  40  name bytes, then content bytes; nothing after.
 * A tombstone has content length 0. Files written before tombstones have
 * flags 0 and load as live entries; any other flag bit makes a file
 * corrupt. */
#define DIR_MAGIC "CHRD"
#define DIR_FORMAT 1u
#define DIR_FLAG_TOMBSTONE 0x1u
#define DIR_FLAG_MANIFEST 0x2u
#define DIR_FLAGS_KNOWN (DIR_FLAG_TOMBSTONE | DIR_FLAG_MANIFEST)
#define DIR_HDR_LEN 40
#define DIR_CRC_OFF 36
#define DIR_TMP_LEN (sizeof(STORE_DIR_TMP_PREFIX) - 1 + CHORD_ID_HEX_LEN)
#define DIR_CHUNK (64 * 1024) /* read buffer when only checking a file */

struct store_dir {
  int dirfd;             /* the data directory, flock'ed while open */
  struct store__map map; /* key -> struct dir_rec *, owned */
  uint64_t bytes;        /* sum of live content lengths */
  uint64_t tombstones;   /* indexed entries that are tombstones */
  uint64_t chunks;       /* indexed live chunk entries */
  uint64_t corrupt;      /* files skipped at open or dropped at get */
};

/* What the index keeps per entry; name and content stay on disk. */
struct dir_rec {
  uint64_t version; /* entry version */
  uint64_t len;     /* content length (0 for a tombstone) */
  bool deleted;     /* tombstone (flag bit 0 on disk) */
  bool manifest;    /* flag bit 1 on disk */
  bool chunk;       /* the name is a chunk's */
};

static bool is_hex_name(const char *s)
{
  size_t i;

  for (i = 0; s[i]; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
          (c >= 'A' && c <= 'F')))
      return false;
  }
  return i == CHORD_ID_HEX_LEN;
}

static void tmp_name(char out[DIR_TMP_LEN + 1], const char *hex)
{
  memcpy(out, STORE_DIR_TMP_PREFIX, sizeof(STORE_DIR_TMP_PREFIX) - 1);
  memcpy(out + sizeof(STORE_DIR_TMP_PREFIX) - 1, hex, CHORD_ID_HEX_LEN + 1);
}

/* --- reading and checking one file --------------------------------------- */

/* Reads the entry file fname in the directory dirfd and checks it: magic,
 * format, known flags, lengths against the file size (0 content for a
 * tombstone), CRC, and that fname is the hex of SHA-1(name). On success fills
 * *rec and, when out is not NULL, sets *out to a new entry holding the name and
 * content (caller unrefs); with out NULL the content is only streamed through
 * the CRC. With name_out (and out NULL) it stops after the name, which it
 * checks against fname only, and hands it over (*name_out, malloc'd).
 * Returns 0, CHORD_EIO when the file is corrupt, CHORD_ENOMEM, or -errno
 * (e.g. -ENOENT). */
static int read_file(int dirfd, const char *fname, struct dir_rec *rec,
                     struct store_entry **out, char **name_out)
{
  uint8_t hdr[DIR_HDR_LEN];
  uint64_t name_len, len, version, rest, flags;
  struct store_entry *e = NULL;
  struct chord_id key;
  char hex[CHORD_ID_HEX_LEN + 1];
  uint8_t *chunk = NULL;
  char *name = NULL;
  struct stat st;
  uint32_t crc;
  int fd, rc;

  fd = openat(dirfd, fname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return errno == ELOOP ? CHORD_EIO : -errno;
  if (fstat(fd, &st) != 0) {
    rc = -errno;
    goto out;
  }
  rc = CHORD_EIO;
  if (!S_ISREG(st.st_mode) || st.st_size < DIR_HDR_LEN)
    goto out;
  rc = store__dir_read_full(fd, hdr, sizeof(hdr));
  if (rc)
    goto out;
  rc = CHORD_EIO;
  name_len = store__dir_get_le(hdr + 8, 8);
  len = store__dir_get_le(hdr + 16, 8);
  version = store__dir_get_le(hdr + 24, 8);
  flags = store__dir_get_le(hdr + 32, 4);
  rest = (uint64_t)st.st_size - DIR_HDR_LEN;
  if (memcmp(hdr, DIR_MAGIC, 4) != 0 ||
      store__dir_get_le(hdr + 4, 4) != DIR_FORMAT ||
      (flags & ~(uint64_t)DIR_FLAGS_KNOWN) ||
      ((flags & DIR_FLAG_TOMBSTONE) && len != 0) || name_len > rest ||
      len != rest - name_len || name_len >= SIZE_MAX || len >= SIZE_MAX)
    goto out;
  crc = crc32_update(0, hdr, DIR_CRC_OFF);

  if (out) {
    e = store__entry_alloc((size_t)name_len, (size_t)len, version);
    if (!e) {
      rc = CHORD_ENOMEM;
      goto out;
    }
    name = e->name;
  } else {
    name = malloc((size_t)name_len + 1);
    chunk = name_out ? NULL : malloc(DIR_CHUNK);
    if (!name || (!chunk && !name_out)) {
      rc = CHORD_ENOMEM;
      goto out;
    }
  }
  rc = store__dir_read_full(fd, name, (size_t)name_len);
  if (rc)
    goto out;
  crc = crc32_update(crc, name, (size_t)name_len);
  name[name_len] = '\0';
  if (name_out) {
    rc = CHORD_EIO;
    chord_id_sha1(&key, name, (size_t)name_len);
    chord_id_to_hex(&key, hex);
    if (strcmp(hex, fname) != 0)
      goto out;
    *name_out = name;
    name = NULL;
    rc = 0;
    goto out;
  }
  if (out) {
    rc = store__dir_read_full(fd, e->content, (size_t)len);
    if (rc)
      goto out;
    crc = crc32_update(crc, e->content, (size_t)len);
  } else {
    for (uint64_t left = len; left;) {
      size_t n = left < DIR_CHUNK ? (size_t)left : DIR_CHUNK;
      rc = store__dir_read_full(fd, chunk, n);
      if (rc)
        goto out;
      crc = crc32_update(crc, chunk, n);
      left -= n;
    }
  }
  rc = CHORD_EIO;
  if (crc != (uint32_t)store__dir_get_le(hdr + DIR_CRC_OFF, 4))
    goto out;
  chord_id_sha1(&key, name, (size_t)name_len);
  chord_id_to_hex(&key, hex);
  if (strcmp(hex, fname) != 0)
    goto out;
  rec->version = version;
  rec->len = len;
  rec->deleted = (flags & DIR_FLAG_TOMBSTONE) != 0;
  rec->manifest = (flags & DIR_FLAG_MANIFEST) != 0;
  rec->chunk = name_is_chunk(name, (size_t)name_len);
  if (out) {
    e->key = key;
    e->deleted = rec->deleted;
    e->manifest = rec->manifest;
    e->chunk = rec->chunk;
    *out = e;
    e = NULL;
  }
  rc = 0;

out:
  if (!out)
    free(name);
  free(chunk);
  store_entry_unref(e);
  close(fd);
  return rc;
}

/* --- open and close ------------------------------------------------------ */

/* Counts rec in the totals (added true) or takes it out of them. */
static void account(struct store_dir *d, const struct dir_rec *rec, bool added)
{
  if (rec->deleted)
    d->tombstones = added ? d->tombstones + 1 : d->tombstones - 1;
  else
    d->bytes = added ? d->bytes + rec->len : d->bytes - rec->len;
  if (rec->chunk && !rec->deleted)
    d->chunks = added ? d->chunks + 1 : d->chunks - 1;
}

static void dir_free(struct store_dir *d)
{
  const struct chord_id *key;
  struct dir_rec *rec;
  size_t pos = 0;

  while ((rec = store__map_next(&d->map, &pos, &key)))
    free(rec);
  store__map_free(&d->map);
  if (d->dirfd >= 0)
    close(d->dirfd);
  free(d);
}

/* Indexes every valid entry file, removes leftover temporary files, counts
 * corrupt entry files and ignores files that are not ours (names that are
 * neither 40 hex digits nor temporary). 0, CHORD_ENOMEM or -errno. */
static int dir_scan(struct store_dir *d)
{
  struct dirent *de;
  DIR *dp;
  int fd, rc = 0;

  fd = fcntl(d->dirfd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  dp = fdopendir(fd);
  if (!dp) {
    rc = -errno;
    close(fd);
    return rc;
  }
  for (;;) {
    struct dir_rec rec, *copy;
    struct chord_id key;

    errno = 0;
    de = readdir(dp);
    if (!de) {
      rc = errno ? -errno : 0;
      break;
    }
    if (strncmp(de->d_name, STORE_DIR_TMP_PREFIX,
                sizeof(STORE_DIR_TMP_PREFIX) - 1) == 0) {
      /* A put interrupted by a crash; the final file, if any, is intact. */
      unlinkat(d->dirfd, de->d_name, 0);
      continue;
    }
    if (!is_hex_name(de->d_name))
      continue;
    rc = read_file(d->dirfd, de->d_name, &rec, NULL, NULL);
    if (rc == CHORD_EIO) {
      d->corrupt++;
      rc = 0;
      continue;
    }
    if (rc)
      break;
    rc = CHORD_ENOMEM;
    copy = malloc(sizeof(*copy));
    if (!copy)
      break;
    *copy = rec;
    chord_id_from_hex(&key, de->d_name);
    if (store__map_set(&d->map, &key, copy, NULL) != 0) {
      free(copy);
      break;
    }
    account(d, copy, true);
    rc = 0;
  }
  closedir(dp);
  return rc;
}

/* Opens or creates (0700) dir, takes an exclusive flock on it so that two
 * stores never share a directory, and loads it. Returns the backend, or NULL
 * with *err = -errno (-ENOTDIR for a file, -EBUSY when locked elsewhere),
 * CHORD_EINVAL or CHORD_ENOMEM. Blocking. */
void *store__dir_open(const char *dir, int *err)
{
  struct store_dir *d;
  int rc;

  if (!dir || !*dir) {
    *err = CHORD_EINVAL;
    return NULL;
  }
  d = calloc(1, sizeof(*d));
  if (!d) {
    *err = CHORD_ENOMEM;
    return NULL;
  }
  store__map_init(&d->map);
  d->dirfd = -1;
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    rc = -errno;
    goto fail;
  }
  d->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d->dirfd < 0) {
    rc = -errno;
    goto fail;
  }
  if (flock(d->dirfd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
    rc = -EBUSY;
    goto fail;
  }
  rc = dir_scan(d);
  if (rc)
    goto fail;
  return d;

fail:
  dir_free(d);
  *err = rc;
  return NULL;
}

static void dir_close(void *impl)
{
  dir_free(impl);
}

/* --- operations ---------------------------------------------------------- */

static void fill_meta(const struct dir_rec *rec, struct store__meta *m)
{
  m->version = rec->version;
  m->len = rec->len;
  m->deleted = rec->deleted;
  m->manifest = rec->manifest;
  m->chunk = rec->chunk;
}

/* read_file with the header's fields in *m: for fuzz/fuzz_store_dir.c,
 * which has no index of its own. Same returns and ownership. */
int store__dir_read(int dirfd, const char *fname, struct store__meta *m,
                    struct store_entry **out)
{
  struct dir_rec rec;
  int rc;

  rc = read_file(dirfd, fname, &rec, out, NULL);
  if (rc == 0)
    fill_meta(&rec, m);
  return rc;
}

static int dir_meta(void *impl, const struct chord_id *key,
                    struct store__meta *m)
{
  struct store_dir *d = impl;
  struct dir_rec *rec = store__map_get(&d->map, key);

  if (!rec)
    return CHORD_ENOTFOUND;
  fill_meta(rec, m);
  return 0;
}

/* Writes hex.tmp-file, fsyncs it, renames it over the hex file and fsyncs
 * the directory, then updates the index (room reserved beforehand, so it
 * cannot fail). Any failure before the rename removes the temporary file
 * and changes nothing. The rename is the commit point: if only the final
 * directory fsync fails, the new file is already visible, so the index
 * follows it (memory matches disk) while the error is still returned,
 * since the entry's durability is unknown. Returns 0, CHORD_ENOMEM or
 * -errno. */
static int dir_put(void *impl, struct store_entry *e)
{
  struct store_dir *d = impl;
  char hex[CHORD_ID_HEX_LEN + 1], tmp[DIR_TMP_LEN + 1];
  uint8_t hdr[DIR_HDR_LEN];
  struct dir_rec *rec, *old;
  void *prev;
  uint32_t crc;
  int fd, rc;

  rec = malloc(sizeof(*rec));
  if (!rec)
    return CHORD_ENOMEM;
  rec->version = e->version;
  rec->len = e->len;
  rec->deleted = e->deleted;
  rec->manifest = e->manifest;
  rec->chunk = e->chunk;
  rc = store__map_reserve(&d->map, d->map.n + 1);
  if (rc)
    goto fail_rec;

  memcpy(hdr, DIR_MAGIC, 4);
  store__dir_put_le(hdr + 4, DIR_FORMAT, 4);
  store__dir_put_le(hdr + 8, e->name_len, 8);
  store__dir_put_le(hdr + 16, e->len, 8);
  store__dir_put_le(hdr + 24, e->version, 8);
  store__dir_put_le(hdr + 32,
                    (e->deleted ? DIR_FLAG_TOMBSTONE : 0) |
                        (e->manifest ? DIR_FLAG_MANIFEST : 0),
                    4);
  crc = crc32_update(0, hdr, DIR_CRC_OFF);
  crc = crc32_update(crc, e->name, e->name_len);
  crc = crc32_update(crc, e->content, e->len);
  store__dir_put_le(hdr + DIR_CRC_OFF, crc, 4);

  chord_id_to_hex(&e->key, hex);
  tmp_name(tmp, hex);
  fd = openat(d->dirfd, tmp,
              O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    rc = -errno;
    goto fail_rec;
  }
  rc = store__dir_write_full(fd, hdr, sizeof(hdr));
  if (!rc)
    rc = store__dir_write_full(fd, e->name, e->name_len);
  if (!rc)
    rc = store__dir_write_full(fd, e->content, e->len);
  if (!rc && fsync(fd) != 0)
    rc = -errno;
  if (close(fd) != 0 && !rc)
    rc = -errno;
  if (rc)
    goto fail_tmp;
  if (renameat(d->dirfd, tmp, d->dirfd, hex) != 0) {
    rc = -errno;
    goto fail_tmp;
  }
  rc = fsync(d->dirfd) != 0 ? -errno : 0;

  store__map_set(&d->map, &e->key, rec, &prev);
  old = prev;
  if (old) {
    account(d, old, false);
    free(old);
  }
  account(d, rec, true);
  return rc;

fail_tmp:
  unlinkat(d->dirfd, tmp, 0);
fail_rec:
  free(rec);
  return rc;
}

/* Drops key from the index after its file was found corrupt or missing. */
static void drop_corrupt(struct store_dir *d, const struct chord_id *key)
{
  struct dir_rec *rec = store__map_del(&d->map, key);

  if (rec) {
    account(d, rec, false);
    free(rec);
  }
  d->corrupt++;
}

/* Reads the file back. A file that fails its checks, disagrees with the
 * index or has vanished is dropped from the index and counted as corrupt
 * (CHORD_EIO), so that a replica can put it back; other OS errors (-errno)
 * and CHORD_ENOMEM change nothing. */
static int dir_get(void *impl, const struct chord_id *key,
                   struct store_entry **out)
{
  struct store_dir *d = impl;
  struct dir_rec *rec = store__map_get(&d->map, key), got;
  char hex[CHORD_ID_HEX_LEN + 1];
  struct store_entry *e;
  int rc;

  if (!rec)
    return CHORD_ENOTFOUND;
  chord_id_to_hex(key, hex);
  rc = read_file(d->dirfd, hex, &got, &e, NULL);
  if (rc == 0 &&
      (got.version != rec->version || got.len != rec->len ||
       got.deleted != rec->deleted || got.manifest != rec->manifest)) {
    store_entry_unref(e);
    rc = CHORD_EIO;
  }
  if (rc == CHORD_EIO || rc == -ENOENT) {
    drop_corrupt(d, key);
    return CHORD_EIO;
  }
  if (rc)
    return rc;
  *out = e;
  return 0;
}

/* Unlinks the file and fsyncs the directory. A file already gone counts as
 * deleted. If only the directory fsync fails, the file is already gone, so
 * the index follows and the error is returned. 0, CHORD_ENOTFOUND or
 * -errno (nothing changed unless it came from the fsync). */
static int dir_del(void *impl, const struct chord_id *key)
{
  struct store_dir *d = impl;
  char hex[CHORD_ID_HEX_LEN + 1];
  struct dir_rec *rec;
  int rc;

  if (!store__map_get(&d->map, key))
    return CHORD_ENOTFOUND;
  chord_id_to_hex(key, hex);
  if (unlinkat(d->dirfd, hex, 0) != 0 && errno != ENOENT)
    return -errno;
  rc = fsync(d->dirfd) != 0 ? -errno : 0;
  rec = store__map_del(&d->map, key);
  account(d, rec, false);
  free(rec);
  return rc;
}

static void dir_each(void *impl, store__each_cb cb, void *arg)
{
  struct store_dir *d = impl;
  const struct chord_id *key;
  struct store__meta m;
  struct dir_rec *rec;
  size_t pos = 0;

  while ((rec = store__map_next(&d->map, &pos, &key))) {
    fill_meta(rec, &m);
    if (cb(key, &m, arg))
      break;
  }
}

static void dir_stats(void *impl, struct store__stats *st)
{
  struct store_dir *d = impl;

  st->count = d->map.n - d->tombstones;
  st->bytes = d->bytes;
  st->tombstones = d->tombstones;
  st->chunks = d->chunks;
  st->corrupt = d->corrupt;
}

/* The name alone: header and name are read, the content is not. A file
 * that fails the checks is treated as dir_get treats it. */
static int dir_name(void *impl, const struct chord_id *key, char **name,
                    size_t *len)
{
  struct store_dir *d = impl;
  char hex[CHORD_ID_HEX_LEN + 1];
  struct dir_rec got;
  int rc;

  if (!store__map_get(&d->map, key))
    return CHORD_ENOTFOUND;
  chord_id_to_hex(key, hex);
  rc = read_file(d->dirfd, hex, &got, NULL, name);
  if (rc == CHORD_EIO || rc == -ENOENT) {
    drop_corrupt(d, key);
    return CHORD_EIO;
  }
  if (rc == 0)
    *len = strlen(*name);
  return rc;
}

const struct store__backend store__dir_backend = {
    .name = "dir",
    .close = dir_close,
    .meta = dir_meta,
    .put = dir_put,
    .get = dir_get,
    .del = dir_del,
    .each = dir_each,
    .stats = dir_stats,
    .get_name = dir_name,
};
