/* SPDX-License-Identifier: MIT */
/* The node's collector: routing, ring upkeep, store and repair figures in
 * the Prometheus text format (see node_metrics.h for who writes what). */
#include "node/node_metrics.h"

#include <stdlib.h>

#include "common/err.h"
#include "node/jobs.h"
#include "node/node.h"
#include "node/ring.h"
#include "node/store.h"

static const uint64_t hop_bounds[] = {0,        1000000,  2000000, 3000000,
                                      4000000,  5000000,  6000000, 8000000,
                                      10000000, 12000000, 16000000};

struct count_job {
  struct job j;
  bool have_range;
  struct chord_id lo, hi;
  uint64_t keys, bytes, tombs, primary;
};

static void set(atomic_uint_fast64_t *g, uint64_t v)
{
  atomic_store_explicit(g, v, memory_order_relaxed);
}

/* The dir store's lock may be held across an fsync: not on the loop. */
static void count_work(struct job *j)
{
  struct count_job *cj = (struct count_job *)j;
  store_stats(j->n->store, &cj->keys, &cj->bytes);
  cj->tombs = store_tombstone_count(j->n->store);
  if (cj->have_range)
    store_live_count_in(j->n->store, &cj->lo, &cj->hi, &cj->primary);
}

static void count_done(struct job *j)
{
  struct count_job *cj = (struct count_job *)j;
  struct node_metrics *m = &j->n->met;
  set(&m->keys, cj->keys);
  set(&m->bytes, cj->bytes);
  set(&m->tombstones, cj->tombs);
  set(&m->primary, cj->primary);
  m->job_busy = false;
  free(cj);
}

static void on_refresh(uv_timer_t *t)
{
  struct node *n = t->data;
  struct node_metrics *m = &n->met;
  set(&m->under_replicated, n->repair.under_replicated);
  set(&m->repair_running, n->repair.running);
  set(&m->repair_rounds, n->repair.rounds);
  set(&m->repair_pushed, n->repair.pushed);
  set(&m->repair_pulled, n->repair.pulled);
  set(&m->repair_bytes, n->repair.bytes);
  set(&m->chunks_collected, n->chunk_gc.collected);
  set(&m->chunks, store_chunk_count(n->store));
  set(&m->successors, n->ring.ft.nsucc);
  set(&m->marked_dead, n->ring.ndead);
  set(&m->joined, n->state == NODE_JOINED);
  if (m->ticks++ % NODE_METRICS_COUNT_EVERY || m->job_busy || n->d.stopping)
    return;
  struct count_job *cj = calloc(1, sizeof(*cj));
  if (!cj)
    return; /* the figures stay as they were until the next tick */
  cj->j.n = n;
  cj->j.work = count_work;
  cj->j.done = count_done;
  cj->have_range = ring_served_range(&n->ring, &cj->lo, &cj->hi);
  m->job_busy = true;
  jobs_submit(&n->jobs, &cj->j);
}

static void counter(struct metrics_buf *b, const char *name, const char *help,
                    const atomic_uint_fast64_t *v)
{
  metrics_family(b, name, "counter", help);
  metrics_sample(b, name, "", metrics_get(v));
}

static void gauge(struct metrics_buf *b, const char *name, const char *help,
                  const atomic_uint_fast64_t *v)
{
  metrics_family(b, name, "gauge", help);
  metrics_sample(b, name, "", metrics_get(v));
}

static void collect(struct metrics_buf *b, void *ud)
{
  const struct node_metrics *m = &((struct node *)ud)->met;
  uint64_t keys = metrics_get(&m->keys), primary = metrics_get(&m->primary);
  counter(b, "chord_forwards_total",
          "Requests sent on towards their owner (each hop tried).",
          &m->forwards);
  metrics_family(b, "chord_request_hops", "histogram",
                 "Hops a routed request took to reach this node, its owner.");
  metrics_hist_write(b, "chord_request_hops", "", &m->hops);
  counter(b, "chord_ring_neighbour_changes_total",
          "Changes of predecessor or first successor.", &m->ring_changes);
  counter(b, "chord_peers_marked_dead_total",
          "Peers found unreachable and routed around.", &m->peers_dead);
  counter(b, "chord_stabilize_rounds_total", "Maintenance rounds run.",
          &m->stabilize_rounds);
  gauge(b, "chord_successors", "Entries in the successor list.",
        &m->successors);
  gauge(b, "chord_peers_dead", "Peers currently marked dead.", &m->marked_dead);
  gauge(b, "chord_node_joined", "1 once the node is a ring member.",
        &m->joined);
  metrics_family(b, "chord_store_keys", "gauge",
                 "Live files held: primary (in the node's own range) and "
                 "replica.");
  metrics_sample(b, "chord_store_keys", "role=\"primary\"", primary);
  metrics_sample(b, "chord_store_keys", "role=\"replica\"",
                 keys > primary ? keys - primary : 0);
  gauge(b, "chord_store_bytes", "Bytes of content held.", &m->bytes);
  gauge(b, "chord_store_tombstones", "Deletes kept as tombstones.",
        &m->tombstones);
  gauge(b, "chord_store_chunks", "Chunks of large files held.", &m->chunks);
  gauge(b, "chord_under_replicated_keys",
        "Keys that some replica lacked in the last repair round.",
        &m->under_replicated);
  gauge(b, "chord_repair_running", "1 while a repair round is under way.",
        &m->repair_running);
  counter(b, "chord_repair_rounds_total", "Repair rounds finished.",
          &m->repair_rounds);
  metrics_family(b, "chord_repair_keys_total", "counter",
                 "Keys moved by repair, by direction.");
  metrics_sample(b, "chord_repair_keys_total", "direction=\"pushed\"",
                 metrics_get(&m->repair_pushed));
  metrics_sample(b, "chord_repair_keys_total", "direction=\"pulled\"",
                 metrics_get(&m->repair_pulled));
  counter(b, "chord_repair_bytes_total", "Bytes of content sent by repair.",
          &m->repair_bytes);
  counter(b, "chord_chunks_collected_total",
          "Chunks deleted because no manifest listed them.",
          &m->chunks_collected);
}

void node_metrics_init(struct node *n)
{
  metrics_hist_init(&n->met.hops, hop_bounds,
                    sizeof(hop_bounds) / sizeof(hop_bounds[0]));
}

int node_metrics_start(struct node *n)
{
  struct node_metrics *m = &n->met;
  if (metrics_add(n->d.metrics, collect, n))
    return CHORD_ENOMEM;
  uv_timer_init(&n->d.loop, &m->timer);
  m->timer.data = n;
  m->timer_on = true;
  uv_timer_start(&m->timer, on_refresh, 0, NODE_METRICS_MS);
  return 0;
}

void node_metrics_stop(struct node *n)
{
  struct node_metrics *m = &n->met;
  if (!m->timer_on)
    return;
  m->timer_on = false;
  uv_close((uv_handle_t *)&m->timer, NULL);
}
