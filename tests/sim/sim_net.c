/* SPDX-License-Identifier: MIT */
/* The simulated network: a seeded event queue in integer ticks that runs
 * the real maint_* rules on every node, delivers their messages with
 * random delays, and applies joins and failures within Zave's limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

uint64_t sim_net_rand(struct sim *s)
{
  uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Uniform in lo..hi. */
static uint64_t between(struct sim *s, uint64_t lo, uint64_t hi)
{
  return lo + sim_net_rand(s) % (hi - lo + 1);
}

static bool ev_before(const struct sim_ev *a, const struct sim_ev *b)
{
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

/* Queues e (owned by the queue from here) at now + after. */
static int push(struct sim *s, struct sim_ev *e, uint64_t after)
{
  if (s->nheap == s->capheap) {
    size_t cap = s->capheap ? 2 * s->capheap : 256;
    struct sim_ev **h = realloc(s->heap, cap * sizeof(*h));
    if (!h) {
      free(e);
      return -1;
    }
    s->heap = h;
    s->capheap = cap;
  }
  e->t = s->now + after;
  e->seq = s->seq++;
  size_t i = s->nheap++;
  while (i > 0 && ev_before(e, s->heap[(i - 1) / 2])) {
    s->heap[i] = s->heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  s->heap[i] = e;
  return 0;
}

static struct sim_ev *pop(struct sim *s)
{
  if (s->nheap == 0)
    return NULL;
  struct sim_ev *top = s->heap[0], *last = s->heap[--s->nheap];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= s->nheap)
      break;
    if (c + 1 < s->nheap && ev_before(s->heap[c + 1], s->heap[c]))
      c++;
    if (!ev_before(s->heap[c], last))
      break;
    s->heap[i] = s->heap[c];
    i = c;
  }
  if (s->nheap)
    s->heap[i] = last;
  return top;
}

static struct sim_ev *ev_new(enum sim_kind kind, size_t node)
{
  struct sim_ev *e = malloc(sizeof(*e));
  if (e) {
    memset(e, 0, offsetof(struct sim_ev, pred));
    e->kind = kind;
    e->node = node;
  }
  return e;
}

static int queue(struct sim *s, enum sim_kind kind, size_t node, uint64_t after)
{
  struct sim_ev *e = ev_new(kind, node);
  return e ? push(s, e, after) : -1;
}

/* A timer's next tick: period, jittered by up to a quarter either way. */
static uint64_t tick(struct sim *s)
{
  unsigned p = s->cfg.period, j = p / 4;
  return between(s, p - j, p + j);
}

size_t sim_net_index(const struct sim *s, const struct chord_peer *p)
{
  if (strncmp(p->addr, "node-", 5) != 0)
    return SIZE_MAX;
  size_t k = (size_t)strtoul(p->addr + 5, NULL, 10);
  if (k >= s->nnode || !chord_id_eq(&s->node[k].self.id, &p->id))
    return SIZE_MAX;
  return k;
}

/* Sends what node k's event produced. */
static int send(struct sim *s, size_t k, const struct maint_out *out)
{
  for (size_t i = 0; i < out->n; i++) {
    struct sim_ev *e = ev_new(SIM_DELIVER, k);
    if (!e)
      return -1;
    e->msg = out->msg[i];
    if (push(s, e, between(s, 1, s->cfg.delay)))
      return -1;
  }
  return 0;
}

/* A reply (e reused) back to its sender after a delay. */
static int reply(struct sim *s, struct sim_ev *e, enum sim_kind kind)
{
  e->kind = kind;
  return push(s, e, between(s, 1, s->cfg.delay));
}

/* FindSuccessor(key) from node k, hop by hop with each node's own
 * ring_route. A dead later hop or a loop loses the lookup (SIZE_MAX):
 * the first hop's sender cannot tell it from a slow answer. */
static size_t lookup(struct sim *s, size_t k, const struct chord_id *key)
{
  for (int hop = 0; hop < SIM_MAX_HOPS; hop++) {
    const struct chord_peer *next;
    if (ring_route(&s->node[k].ring, key, &next) == RING_LOCAL)
      return k;
    k = sim_net_index(s, next);
    if (k == SIZE_MAX || !s->node[k].alive) {
      s->lost_dead++;
      return SIZE_MAX;
    }
  }
  s->lost_loop++;
  return SIZE_MAX;
}

/* e (SIM_DELIVER) reaches its target; e is reused for the answer. */
static int deliver(struct sim *s, struct sim_ev *e)
{
  size_t to = sim_net_index(s, &e->msg.to);
  if (to == SIZE_MAX || !s->node[to].alive) {
    e->kind = SIM_FAIL;
    return push(s, e, 3 * (uint64_t)s->cfg.delay); /* the timeout */
  }
  struct sim_node *t = &s->node[to];
  struct maint_out out = {.n = 0};
  size_t found;
  switch (e->msg.what) {
  case MAINT_STAB_SUCC:
  case MAINT_STAB_PRED:
  case MAINT_CHECK_PRED:
    e->has_pred = t->ring.ft.has_pred;
    e->pred = t->ring.ft.pred;
    e->n = t->ring.ft.nsucc;
    memcpy(e->list, t->ring.ft.succ, e->n * sizeof(e->list[0]));
    return reply(s, e, SIM_LIST);
  case MAINT_NOTIFY:
    maint_on_notify(&t->m, &t->ring, &s->node[e->node].self, &out);
    if (send(s, to, &out)) {
      free(e);
      return -1;
    }
    return reply(s, e, SIM_OK);
  case MAINT_RECTIFY: return reply(s, e, SIM_OK);
  case MAINT_FIX_FINGER:
    found = lookup(s, to, &e->msg.key);
    if (found == SIZE_MAX) {
      free(e);
      return 0;
    }
    e->found = s->node[found].self;
    return reply(s, e, SIM_FOUND);
  }
  free(e);
  return 0;
}

/* Inserts node k into the sorted live list. */
static void live_add(struct sim *s, size_t k)
{
  size_t pos = sim_check_lower(s, &s->node[k].self.id);
  memmove(&s->live[pos + 1], &s->live[pos],
          (s->nlive - pos) * sizeof(s->live[0]));
  s->live[pos] = k;
  s->nlive++;
  s->node[k].alive = true;
}

static void live_remove(struct sim *s, size_t k)
{
  size_t pos = sim_check_lower(s, &s->node[k].self.id);
  memmove(&s->live[pos], &s->live[pos + 1],
          (s->nlive - pos - 1) * sizeof(s->live[0]));
  s->nlive--;
  s->node[k].alive = false;
}

/* A new node k with a fresh id (distinct from every id ever used). */
static void make_node(struct sim *s, size_t k)
{
  struct sim_node *n = &s->node[k];
  memset(&n->self, 0, sizeof(n->self));
  for (;;) {
    for (int i = 0; i < CHORD_ID_BYTES; i++)
      n->self.id.b[i] = (uint8_t)sim_net_rand(s);
    size_t j = 0;
    while (j < k && !chord_id_eq(&s->node[j].self.id, &n->self.id))
      j++;
    if (j == k)
      break;
  }
  snprintf(n->self.addr, sizeof(n->self.addr), "node-%zu.test:%zu", k,
           7000 + k);
  ring_init(&n->ring, &n->self, s->cfg.succ);
  maint_init(&n->m);
  n->alive = false;
  n->stabs = 0;
  s->nnode++;
}

/* Installs the live members as node k's ring, as a joiner does. */
static int install(struct sim *s, size_t k)
{
  struct chord_peer *list = malloc((s->nlive + 1) * sizeof(*list));
  if (!list)
    return -1;
  for (size_t i = 0; i < s->nlive; i++)
    list[i] = s->node[s->live[i]].self;
  int rc = ring_install(&s->node[k].ring, &s->node[k].self, list, s->nlive);
  free(list);
  return rc ? -1 : 0;
}

static int start_timers(struct sim *s, size_t k)
{
  if (queue(s, SIM_STAB, k, tick(s)) || queue(s, SIM_CHECK, k, tick(s)) ||
      queue(s, SIM_FIX, k, tick(s)))
    return -1;
  return 0;
}

/* A join: the supernode's member list installed, and the successor told
 * of its new predecessor at the key hand-off. */
static int join(struct sim *s)
{
  size_t k = s->nnode;
  make_node(s, k);
  if (install(s, k))
    return -1;
  live_add(s, k);
  size_t succ = sim_net_index(s, &s->node[k].ring.ft.succ[0]);
  if (succ != SIZE_MAX && succ != k)
    ring_set_pred(&s->node[succ].ring, &s->node[k].self);
  if (s->cfg.verbose)
    printf("t=%llu join node %zu\n", (unsigned long long)s->now, k);
  return start_timers(s, k);
}

static bool alive(const struct sim *s, const struct chord_peer *p)
{
  size_t k = sim_net_index(s, p);
  return k != SIZE_MAX && s->node[k].alive;
}

/* Whether the list an answer in flight will install (maint.c's
 * reconcile: the answerer, then its list up to the receiver, cut to r)
 * has a live entry. */
static bool answer_has_live(const struct sim *s, const struct sim_ev *e)
{
  const struct chord_peer *self = &s->node[e->node].self;
  if (alive(s, &e->msg.to))
    return true;
  for (size_t i = 0; i < e->n && i + 1 < s->cfg.succ; i++) {
    if (chord_id_eq(&e->list[i].id, &self->id))
      break;
    if (alive(s, &e->list[i]))
      return true;
  }
  return false;
}

/* Zave's limit: k may fail if afterwards every live member still has a
 * live successor and there are at least r + 1 members and principals.
 * Her steps are atomic; here a list answer can be in flight, so the
 * list it will install must keep a live entry too (unless --naive). */
static bool may_fail(struct sim *s, size_t k)
{
  size_t r = s->cfg.succ, bad;
  if (s->nlive < r + 2)
    return false;
  live_remove(s, k);
  bool ok = sim_check_live_succ(s, &bad) && sim_check_principals(s) >= r + 1;
  for (size_t i = 0; ok && !s->cfg.naive && i < s->nheap; i++) {
    const struct sim_ev *e = s->heap[i];
    if (e->kind == SIM_LIST && e->msg.what != MAINT_CHECK_PRED &&
        s->node[e->node].alive)
      ok = answer_has_live(s, e);
  }
  live_add(s, k);
  return ok;
}

static int fail_some(struct sim *s)
{
  for (int tries = 0; tries < 8; tries++) {
    size_t k = s->live[sim_net_rand(s) % s->nlive];
    if (!may_fail(s, k))
      continue;
    live_remove(s, k);
    if (s->cfg.verbose)
      printf("t=%llu fail node %zu\n", (unsigned long long)s->now, k);
    return 0;
  }
  return join(s); /* nobody may fail now */
}

/* --break: every live entry of one node's list fails at once. */
static void break_limit(struct sim *s)
{
  size_t k = s->live[sim_net_rand(s) % s->nlive];
  const struct finger_table *ft = &s->node[k].ring.ft;
  for (size_t i = 0; i < ft->nsucc; i++) {
    size_t j = sim_net_index(s, &ft->succ[i]);
    if (j != SIZE_MAX && j != k && s->node[j].alive)
      live_remove(s, j);
  }
  printf("break: every successor of node %zu failed at once\n", k);
}

/* Churn is over: rounds are counted from here. */
static void quiet(struct sim *s)
{
  s->quiet = true;
  s->round = 0;
  s->behind = s->nlive;
  for (size_t i = 0; i < s->nlive; i++)
    s->node[s->live[i]].stabs = 0;
}

/* Node n stabilized: maybe every node has now done so once more. */
static void count_round(struct sim *s, struct sim_node *n)
{
  if (!s->quiet || ++n->stabs != s->round + 1 || --s->behind > 0)
    return;
  s->round++;
  s->new_round = true;
  for (size_t i = 0; i < s->nlive; i++)
    s->behind += s->node[s->live[i]].stabs <= s->round;
}

static int churn(struct sim *s)
{
  int rc;
  if (s->cfg.brk && s->churn_left == s->cfg.events / 2 + 1) {
    break_limit(s);
    rc = 0;
  } else if (sim_net_rand(s) % 2 && s->nnode < s->cap)
    rc = join(s);
  else
    rc = fail_some(s);
  if (rc)
    return rc;
  if (--s->churn_left > 0)
    return queue(s, SIM_CHURN, 0, between(s, 1, s->cfg.period));
  quiet(s);
  return 0;
}

/* Whether list (n ids) is still t's successor list. */
static bool same_list(const struct chord_id *list, size_t n,
                      const struct finger_table *t)
{
  if (n != t->nsucc)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!chord_id_eq(&list[i], &t->succ[i].id))
      return false;
  return true;
}

/* Runs a node's event: a tick, or the answer to one of its messages. */
static int node_event(struct sim *s, struct sim_ev *e, struct maint_out *out)
{
  struct sim_node *n = &s->node[e->node];
  switch (e->kind) {
  case SIM_STAB:
    ring_age_dead(&n->ring, SIM_DEAD_TICKS);
    maint_stabilize(&n->m, &n->ring, out);
    count_round(s, n);
    return queue(s, SIM_STAB, e->node, tick(s));
  case SIM_CHECK:
    maint_check_pred(&n->m, &n->ring, out);
    return queue(s, SIM_CHECK, e->node, tick(s));
  case SIM_FIX:
    maint_fix_fingers(&n->m, &n->ring, s->cfg.count, out);
    return queue(s, SIM_FIX, e->node, tick(s));
  case SIM_LIST:
    maint_on_list(&n->m, &n->ring, e->msg.what, &e->msg.to,
                  e->has_pred ? &e->pred : NULL, e->list, e->n, out);
    return 0;
  case SIM_OK: maint_on_ok(&n->m, &n->ring, &e->msg, out); return 0;
  case SIM_FAIL: maint_on_fail(&n->m, &n->ring, &e->msg, out); return 0;
  case SIM_FOUND:
    maint_on_found(&n->m, &n->ring, e->msg.finger, &e->found);
    return 0;
  default: return 0;
  }
}

int sim_net_step(struct sim *s, bool *changed)
{
  struct sim_ev *e = pop(s);
  struct maint_out out = {.n = 0};
  size_t before = s->nlive;
  int rc = 0;
  *changed = false;
  if (!e)
    return 1;
  s->now = e->t;
  s->nevent++;
  if (e->kind == SIM_CHURN) {
    rc = churn(s);
    *changed = true;
    free(e);
    return rc;
  }
  /* The node whose lists this event may change: the target of a
   * delivery (a notify), else the node the event belongs to. */
  size_t k = e->node;
  if (e->kind == SIM_DELIVER) {
    k = sim_net_index(s, &e->msg.to);
    if (!s->node[e->node].alive && e->msg.what != MAINT_NOTIFY) {
      free(e); /* its sender is gone: nobody waits for the answer */
      return 0;
    }
  }
  if (k == SIZE_MAX || !s->node[k].alive) {
    if (e->kind == SIM_DELIVER)
      return deliver(s, e); /* to a dead node: a timeout */
    free(e);
    return 0;
  }
  struct chord_id old[FINGER_SUCC_MAX];
  size_t nold = s->node[k].ring.ft.nsucc;
  for (size_t i = 0; i < nold; i++)
    old[i] = s->node[k].ring.ft.succ[i].id;
  if (e->kind == SIM_DELIVER) {
    rc = deliver(s, e);
  } else {
    rc = node_event(s, e, &out);
    if (!rc)
      rc = send(s, e->node, &out);
    free(e);
  }
  *changed = !same_list(old, nold, &s->node[k].ring.ft) || s->nlive != before;
  return rc;
}

int sim_net_open(struct sim *s, const struct sim_cfg *cfg)
{
  memset(s, 0, sizeof(*s));
  s->cfg = *cfg;
  s->rng = cfg->seed;
  s->cap = cfg->nodes + cfg->events + 1;
  s->node = calloc(s->cap, sizeof(*s->node));
  s->live = calloc(s->cap, sizeof(*s->live));
  s->mark = calloc(s->cap + 1, sizeof(*s->mark));
  s->cover = calloc(s->cap + 1, sizeof(*s->cover));
  s->entry = calloc(s->cap + 1, sizeof(*s->entry));
  if (!s->node || !s->live || !s->mark || !s->cover || !s->entry)
    goto fail;
  for (size_t k = 0; k < cfg->nodes; k++) {
    make_node(s, k);
    live_add(s, k);
  }
  for (size_t k = 0; k < cfg->nodes; k++)
    if (install(s, k) || start_timers(s, k))
      goto fail;
  s->churn_left = cfg->events;
  if (cfg->events == 0)
    quiet(s);
  else if (queue(s, SIM_CHURN, 0, between(s, 1, cfg->period)))
    goto fail;
  return 0;
fail:
  sim_net_close(s);
  return -1;
}

void sim_net_close(struct sim *s)
{
  for (size_t k = 0; k < s->nnode; k++)
    ring_close(&s->node[k].ring);
  for (size_t i = 0; i < s->nheap; i++)
    free(s->heap[i]);
  free(s->heap);
  free(s->node);
  free(s->live);
  free(s->mark);
  free(s->cover);
  free(s->entry);
  memset(s, 0, sizeof(*s));
}
