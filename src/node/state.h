/* SPDX-License-Identifier: MIT */
/* Where a node stands in its life as a ring member (private to
 * chord-node; node.c is the only writer, through node_set_state). */
#ifndef CHORD_NODE_STATE_H
#define CHORD_NODE_STATE_H

enum node_state {
  NODE_JOINING, /* not yet a member: requests go to the successor */
  NODE_JOINED,  /* a member */
  NODE_LEAVING, /* handing its keys to the successor */
  NODE_LEFT,    /* its range is the successor's: forward everything */
};

#endif
