/* SPDX-License-Identifier: MIT */
/* Private to the store (define STORE__BACKEND first): the dir backend's
 * check of one entry file, exposed for its fuzz target, and its I/O
 * helpers. */
#ifndef CHORD_NODE_STORE_DIR_H
#define CHORD_NODE_STORE_DIR_H

#include <stddef.h>
#include <stdint.h>

#include "node/store.h"

/* Reads and checks the entry file fname in the directory dirfd as the
 * store does at open (out NULL) and at get (out set: a new entry, caller
 * unrefs). 0 with *m filled, CHORD_EIO (corrupt), CHORD_ENOMEM or -errno. */
int store__dir_read(int dirfd, const char *fname, struct store__meta *m,
                    struct store_entry **out);

/* n-byte little-endian fields (store_dir_io.c). */
void store__dir_put_le(uint8_t *p, uint64_t v, int n);
uint64_t store__dir_get_le(const uint8_t *p, int n);
/* Writes all n bytes: 0, or -errno. */
int store__dir_write_full(int fd, const void *buf, size_t n);
/* Reads all n bytes: 0, -errno, or CHORD_EIO when the file ends early (it
 * is corrupt). */
int store__dir_read_full(int fd, void *buf, size_t n);

#endif
