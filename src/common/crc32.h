/* SPDX-License-Identifier: MIT */
/* CRC-32 (IEEE 802.3, the zlib and gzip one). */
#ifndef CHORD_CRC32_H
#define CHORD_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc (start with 0) over n bytes of p. Thread-safe. */
uint32_t crc32_update(uint32_t crc, const void *p, size_t n);

#endif
