/* SPDX-License-Identifier: MIT */
/* chordctl's private header for file transfers of any size: a file up to
 * one chunk goes as one Write; a larger one as chunks (a window of them
 * in flight through the pool, spread over the ring's nodes) and then its
 * manifest; a chunked file is read back chunk by chunk, checked, in order,
 * to standard output or atomically to a file. */
#ifndef CHORD_CLIENT_CHUNKED_H
#define CHORD_CLIENT_CHUNKED_H

#include "chord/v1/node.pb-c.h"
#include "client/chordctl.h"

/* Stores the content of path ("-": standard input) as name. Returns an
 * exit code after printing the result or why not. */
int chunked_write(struct chordctl *ctl, const char *what, const char *name,
                  const char *path);
/* Reads the chunked file whose manifest r carries to output ("-":
 * standard output). Returns an exit code after printing the result or
 * why not. */
int chunked_read(struct chordctl *ctl, const char *what, const char *name,
                 const Chord__V1__ReadResponse *r, const char *output);

#endif
