/* SPDX-License-Identifier: MIT */
/* Node descriptors on the wire. */
#include "common/nodeinfo.h"

#include <string.h>

#include "common/addr.h"
#include "common/err.h"

int nodeinfo_to_peer(const Chord__V1__NodeInfo *n, struct chord_peer *out,
                     const char **why)
{
  const char *reason = NULL;
  if (!n)
    reason = "no node given";
  else if (n->id.len != CHORD_ID_BYTES)
    reason = "the node id is not 20 bytes";
  else if (strlen(n->addr) >= sizeof(out->addr) ||
           addr_validate(n->addr, 0) != 0)
    reason = "the node address is not a valid host:port";
  if (why)
    *why = reason;
  if (reason)
    return CHORD_EINVAL;
  memcpy(out->id.b, n->id.data, CHORD_ID_BYTES);
  strcpy(out->addr, n->addr);
  return 0;
}

void nodeinfo_from_peer(Chord__V1__NodeInfo *n, const struct chord_peer *p)
{
  chord__v1__node_info__init(n);
  n->id.data = (uint8_t *)p->id.b;
  n->id.len = CHORD_ID_BYTES;
  n->addr = (char *)p->addr;
}

bool nodeinfo_names(const Chord__V1__NodeInfo *n, const struct chord_peer *want)
{
  struct chord_peer got;
  const char *why;
  return n && nodeinfo_to_peer(n, &got, &why) == 0 &&
         chord_id_cmp(&got.id, &want->id) == 0 &&
         strcmp(got.addr, want->addr) == 0;
}
