/* SPDX-License-Identifier: MIT */
/* File names and sizes: the limits every entry point enforces. */
#ifndef CHORD_NAME_H
#define CHORD_NAME_H

#include <stddef.h>
#include <stdint.h>

#define NAME_MAX_BYTES 1024                        /* longest name */
#define NAME_DEFAULT_MAX_FILE ((uint64_t)64 << 20) /* default size cap */

/* 0 when name[0..len) is 1 to NAME_MAX_BYTES bytes of UTF-8 without NUL;
 * else CHORD_EINVAL and, when why is not NULL, a static reason. */
int name_check(const char *name, size_t len, const char **why);

#endif
