/* SPDX-License-Identifier: MIT */
/* File name checks shared by the node and chordctl. */
#include "common/name.h"

#include <string.h>

#include "common/codec.h"
#include "common/err.h"

int name_check(const char *name, size_t len, const char **why)
{
  const char *reason = NULL;
  if (!name || len == 0)
    reason = "the name is empty";
  else if (len > NAME_MAX_BYTES)
    reason = "the name is longer than 1024 bytes";
  else if (memchr(name, 0, len))
    reason = "the name contains a NUL byte";
  else if (!codec_utf8_valid((const uint8_t *)name, len))
    reason = "the name is not valid UTF-8";
  if (why)
    *why = reason;
  return reason ? CHORD_EINVAL : 0;
}
