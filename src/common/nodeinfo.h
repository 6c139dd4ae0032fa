/* SPDX-License-Identifier: MIT */
/* chord.v1.NodeInfo <-> struct chord_peer, with the checks every inbound
 * node descriptor gets (20-byte id, a valid host:port). */
#ifndef CHORD_NODEINFO_H
#define CHORD_NODEINFO_H

#include "chord/v1/common.pb-c.h"
#include "common/finger.h"

/* Fills out from n. 0, or CHORD_EINVAL when n is NULL, its id is not 20
 * bytes or its address is not a valid host:port (port 0 refused); *why
 * then names the problem. */
int nodeinfo_to_peer(const Chord__V1__NodeInfo *n, struct chord_peer *out,
                     const char **why);
/* Whether n (may be NULL) is valid and names exactly want: the same id
 * and address. */
bool nodeinfo_names(const Chord__V1__NodeInfo *n,
                    const struct chord_peer *want);
/* Points n's fields at p's memory (no copy): p must outlive n. */
void nodeinfo_from_peer(Chord__V1__NodeInfo *n, const struct chord_peer *p);

#endif
