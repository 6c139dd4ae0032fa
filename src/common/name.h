/* SPDX-License-Identifier: MIT */
/* File names and sizes: the limits every entry point enforces. */
#ifndef CHORD_NAME_H
#define CHORD_NAME_H

#include <stddef.h>
#include <stdint.h>

#define NAME_MAX_BYTES 1024                        /* longest name */
#define NAME_DEFAULT_MAX_FILE ((uint64_t)64 << 20) /* default size cap */

/* A chunk of a chunked file is stored under the name
 *   NAME_CHUNK_PREFIX + 64 lower-case hex digits of its SHA-256 + "/" + the
 * file's name (see Manifest in common.proto); other names may not start
 * with the prefix. */
#define NAME_CHUNK_PREFIX "@chunk/"
#define NAME_CHUNK_PREFIX_LEN (sizeof(NAME_CHUNK_PREFIX) - 1)
#define NAME_CHUNK_HASH_BYTES 32
#define NAME_CHUNK_HEX_LEN (2 * NAME_CHUNK_HASH_BYTES)
/* Longest stored name: a chunk name over a NAME_MAX_BYTES file name. */
#define NAME_MAX_STORED \
  (NAME_CHUNK_PREFIX_LEN + NAME_CHUNK_HEX_LEN + 1 + NAME_MAX_BYTES)

/* 0 when name[0..len) is 1 to NAME_MAX_BYTES bytes of UTF-8 without NUL;
 * else CHORD_EINVAL and, when why is not NULL, a static reason. */
int name_check(const char *name, size_t len, const char **why);
/* Whether name[0..len) starts with NAME_CHUNK_PREFIX (well-formed or not). */
int name_is_chunk(const char *name, size_t len);
/* Splits a chunk name (name_check passed): hash = the SHA-256 it names,
 * *file = the file's name inside name, *file_len its length. 0, or
 * CHORD_EINVAL for anything else. */
int name_chunk_parse(const char *name, size_t len,
                     uint8_t hash[NAME_CHUNK_HASH_BYTES], const char **file,
                     size_t *file_len);
/* Writes the chunk name of hash and file[0..file_len) into out (at least
 * NAME_MAX_STORED + 1 bytes), NUL-terminated; returns its length. */
size_t name_chunk_make(char *out, const uint8_t hash[NAME_CHUNK_HASH_BYTES],
                       const char *file, size_t file_len);

#endif
