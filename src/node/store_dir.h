/* SPDX-License-Identifier: MIT */
/* Private to the store (define STORE__BACKEND first): the dir backend's
 * check of one entry file, exposed for its fuzz target. */
#ifndef CHORD_NODE_STORE_DIR_H
#define CHORD_NODE_STORE_DIR_H

#include "node/store.h"

/* Reads and checks the entry file fname in the directory dirfd as the
 * store does at open (out NULL) and at get (out set: a new entry, caller
 * unrefs). 0 with *m filled, CHORD_EIO (corrupt), CHORD_ENOMEM or -errno. */
int store__dir_read(int dirfd, const char *fname, struct store__meta *m,
                    struct store_entry **out);

#endif
