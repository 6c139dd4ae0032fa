/* SPDX-License-Identifier: MIT */
/* chordctl's private header for local files: the content to write, read
 * from a file or stdin, and the content read, saved to a file or stdout. */
#ifndef CHORD_CLIENT_FILEIO_H
#define CHORD_CLIENT_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "client/chordctl.h"

/* Reads path ("-": stdin), at most --max-size bytes; the caller frees. */
int fileio_read_input(struct chordctl *ctl, const char *what, const char *path,
                      uint8_t **data, size_t *len);
/* Writes data to path atomically, or to stdout when path is "-". */
int fileio_write_output(struct chordctl *ctl, const char *what,
                        const char *path, const uint8_t *data, size_t len);

#endif
