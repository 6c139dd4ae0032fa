/* SPDX-License-Identifier: MIT */
/* The dir backend's byte-level helpers: little-endian header fields and
 * reads and writes that finish or fail whole. */
#define STORE__BACKEND
#include <errno.h>
#include <unistd.h>

#include "common/err.h"
#include "node/store_dir.h"

void store__dir_put_le(uint8_t *p, uint64_t v, int n)
{
  for (int i = 0; i < n; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t store__dir_get_le(const uint8_t *p, int n)
{
  uint64_t v = 0;

  for (int i = n - 1; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

int store__dir_write_full(int fd, const void *buf, size_t n)
{
  const uint8_t *p = buf;

  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* 0, -errno, or CHORD_EIO when the file ends early (it is corrupt). */
int store__dir_read_full(int fd, void *buf, size_t n)
{
  uint8_t *p = buf;

  while (n) {
    ssize_t r = read(fd, p, n);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (r == 0)
      return CHORD_EIO;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}
