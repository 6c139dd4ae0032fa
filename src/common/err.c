/* SPDX-License-Identifier: MIT */
/* Error code names. */
#include "common/err.h"

#include <string.h>

const char *chord_strerror(int err)
{
  switch (err) {
  case CHORD_OK: return "success";
  case CHORD_EINVAL: return "invalid argument";
  case CHORD_ENOMEM: return "out of memory";
  case CHORD_ENOTFOUND: return "not found";
  case CHORD_EEXIST: return "already exists";
  case CHORD_EUNAVAIL: return "unavailable";
  case CHORD_ETIMEDOUT: return "deadline exceeded";
  case CHORD_ETOOBIG: return "too large";
  case CHORD_EPROTO: return "protocol error";
  case CHORD_EIO: return "storage error";
  case CHORD_EINTERNAL: return "internal error";
  case CHORD_EPERM: return "not permitted";
  case CHORD_EUNIMPL: return "not implemented";
  case CHORD_ECANCELLED: return "cancelled";
  case CHORD_ELOOP: return "hop limit reached";
  case CHORD_EUNAUTH: return "not authenticated";
  case CHORD_ESTATE: return "not possible in the current state";
  default: break;
  }
  if (err < 0 && err > -4096)
    return strerror(-err);
  return "unknown error";
}
