/* SPDX-License-Identifier: MIT */
/* The supernode's collector: members, joins, leaves and members dropped
 * for silence, in the Prometheus text format. */
#include "supernode/supernode.h"

static void collect(struct metrics_buf *b, void *ud)
{
  const struct supernode *sn = ud;
  metrics_family(b, "chord_members", "gauge", "Members of the ring.");
  metrics_sample(b, "chord_members", "", metrics_get(&sn->members));
  metrics_family(b, "chord_joins_total", "counter", "Joins completed.");
  metrics_sample(b, "chord_joins_total", "", metrics_get(&sn->joins));
  metrics_family(b, "chord_leaves_total", "counter",
                 "Members gone: left gracefully, or dropped after missing "
                 "their heartbeats.");
  metrics_sample(b, "chord_leaves_total", "how=\"left\"",
                 metrics_get(&sn->leaves));
  metrics_sample(b, "chord_leaves_total", "how=\"dropped\"",
                 metrics_get(&sn->dropped));
}

int sn_metrics_start(struct supernode *sn)
{
  return metrics_add(sn->d.metrics, collect, sn);
}
