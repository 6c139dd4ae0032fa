/* SPDX-License-Identifier: MIT */
/* The node's shared calls: state changes, ring installs, versions, the
 * change record of a hand-off, and stopping. */
#include "node/node.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/log.h"

uint64_t node_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *state_name(enum node_state s)
{
  switch (s) {
  case NODE_JOINING: return "joining";
  case NODE_JOINED: return "joined";
  case NODE_LEAVING: return "leaving";
  case NODE_LEFT: return "left";
  }
  return "?";
}

void node_set_state(struct node *n, enum node_state s)
{
  if (n->state != s)
    LOG_DEBUG("state: %s -> %s", state_name(n->state), state_name(s));
  n->state = s;
}

void node_ring_changed(struct node *n, const struct chord_peer *old_pred,
                       const struct chord_peer *old_succ)
{
  const struct finger_table *ft = &n->ring.ft;
  if (!chord_id_eq(&old_pred->id, &ft->pred.id) ||
      !chord_id_eq(&old_succ->id, &ft->succ[0].id)) {
    metrics_inc(&n->met.ring_changes, 1);
    LOG_INFO("ring: pred %s, succ %s (%zu successors, %zu marked dead)",
             ft->pred.addr, ft->succ[0].addr, ft->nsucc, n->ring.ndead);
  }
}

/* Installs members (the supernode's list at a join, UpdateDHT) and logs
 * when the neighbours changed. 0 or CHORD_ENOMEM (ring unchanged). */
int node_install(struct node *n, const struct chord_peer *members, size_t k)
{
  struct chord_peer old_pred = n->ring.ft.pred, old_succ = n->ring.ft.succ[0];
  int rc = ring_install(&n->ring, &n->self, members, k);
  if (!rc)
    node_ring_changed(n, &old_pred, &old_succ);
  return rc;
}

/* Microseconds of the wall clock, or one more than the last version handed
 * out or seen, whichever is higher: versions never go backwards here. */
void node_peer_failed(struct node *n, const struct chord_peer *p)
{
  if (ring_is_dead(&n->ring, &p->id))
    return;
  LOG_INFO("%s does not answer: routing around it", p->addr);
  metrics_inc(&n->met.peers_dead, 1);
  ring_mark_dead(&n->ring, &p->id);
  /* A restarted peer must not wait out the old channel's backoff. */
  rpc_client_forget(n->d.client, p->addr);
}

uint64_t node_wall_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t node_version_next(struct node *n)
{
  uint64_t v = node_wall_us();
  if (v <= n->last_version && n->last_version < UINT64_MAX)
    v = n->last_version + 1; /* peers' versions are checked (transfer.c) */
  n->last_version = v;
  return v;
}

void node_version_seen(struct node *n, uint64_t v)
{
  if (v > n->last_version)
    n->last_version = v;
}

/* Jittered, so that joiners retrying together spread out. */
uint64_t node_backoff_ms(unsigned attempt)
{
  uint64_t ms = 50u << (attempt < 5 ? attempt : 5);
  if (ms > 1000)
    ms = 1000;
  return ms / 2 + (uint64_t)(rand() % (int)(ms / 2 + 1));
}

void node_stop(struct node *n, int exit_code)
{
  if (n->d.stopping)
    return;
  uv_timer_t *timers[] = {&n->mem.timer,    &n->pull.timer,
                          &n->leave_timer,  &n->maintain.timer,
                          &n->repair.timer, &n->chunk_gc.timer};
  for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++) {
    uv_timer_stop(timers[i]);
    if (!uv_is_closing((uv_handle_t *)timers[i]))
      uv_close((uv_handle_t *)timers[i], NULL);
  }
  node_metrics_stop(n);
  daemon_stop(&n->d, exit_code);
}

void node_fail(struct node *n, const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  LOG_ERROR("%s", msg);
  node_stop(n, 1);
}

void node_touch(struct node *n, const struct chord_id *key)
{
  enum handoff_touch what;
  struct chord_peer to = n->give.to;
  if (handoff_touch(&n->give, key, node_now_ms(), n->state == NODE_JOINED,
                    &what)) {
    /* Without the record the change could be lost: stop loudly rather
     * than lose it silently. */
    LOG_ERROR("out of memory recording a change during a hand-off");
    abort();
  }
  if (what == HANDOFF_EXPIRED)
    LOG_WARN("hand-off to %s idle for %d s: dropped", to.addr,
             HANDOFF_IDLE_MS / 1000);
}
