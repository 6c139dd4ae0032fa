/* SPDX-License-Identifier: MIT */
/* Error codes shared by every chord module: 0 is success, CHORD_E* are
 * negative and far from -errno, which OS failures return as is. */
#ifndef CHORD_ERR_H
#define CHORD_ERR_H

enum {
  CHORD_OK = 0,
  CHORD_EINVAL = -1001,     /* bad argument or undecodable input */
  CHORD_ENOMEM = -1002,     /* out of memory */
  CHORD_ENOTFOUND = -1003,  /* no such file, node or key */
  CHORD_EEXIST = -1004,     /* already exists (id clash) */
  CHORD_EUNAVAIL = -1005,   /* peer down or busy: retryable */
  CHORD_ETIMEDOUT = -1006,  /* deadline exceeded */
  CHORD_ETOOBIG = -1007,    /* over a size limit */
  CHORD_EPROTO = -1008,     /* peer broke the protocol */
  CHORD_EIO = -1009,        /* storage failure */
  CHORD_EINTERNAL = -1010,  /* a bug or an unexpected library failure */
  CHORD_EPERM = -1011,      /* authenticated, but not allowed */
  CHORD_EUNIMPL = -1012,    /* method not implemented */
  CHORD_ECANCELLED = -1013, /* call cancelled (shutdown) */
  CHORD_ELOOP = -1014,      /* hop limit reached */
  CHORD_EUNAUTH = -1015,    /* not authenticated: no or bad credentials */
  CHORD_ESTATE = -1016,     /* does not fit the current state (lock not held) */
};

/* A static English sentence fragment for err (CHORD_E* or -errno). */
const char *chord_strerror(int err);

#endif
