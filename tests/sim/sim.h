/* SPDX-License-Identifier: MIT */
/* Private to tests/sim: the state the maintenance simulator's files share
 * (nodes, the event queue, the sorted live members) and their calls. */
#ifndef CHORD_SIM_H
#define CHORD_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/maint.h"
#include "node/ring.h"

#define SIM_MAX_HOPS 64
#define SIM_ERR_MAX 1024
#define SIM_DEAD_TICKS                                   \
  30 /* as maintain.c: stabilize ticks a dead mark lasts \
      */

/* What one run is asked to do; every choice comes from seed. */
struct sim_cfg {
  uint64_t seed;
  size_t nodes;    /* members at the start */
  size_t succ;     /* successor list length r */
  size_t events;   /* joins + failures in the churn phase */
  unsigned delay;  /* a message takes 1..delay ticks */
  unsigned period; /* stabilize / check_pred / fix_fingers, jittered */
  unsigned count;  /* lookups per fix_fingers */
  bool brk;        /* break Zave's failure limit once */
  bool naive;      /* the failure limit ignores answers in flight */
  bool verbose;
};

struct sim_node {
  struct chord_peer self;
  struct ring ring;
  struct maint m;
  bool alive;
  unsigned stabs; /* stabilizations since the quiet phase began */
};

enum sim_kind {
  SIM_STAB,    /* node's stabilize tick */
  SIM_CHECK,   /* node's check_pred tick */
  SIM_FIX,     /* node's fix_fingers tick */
  SIM_DELIVER, /* msg from node reaches msg.to */
  SIM_LIST,    /* node gets the list answer to msg */
  SIM_OK,      /* node's msg was answered */
  SIM_FAIL,    /* node's msg timed out */
  SIM_FOUND,   /* node's FindSuccessor for msg.finger answered found */
  SIM_CHURN,   /* a join or a failure */
};

struct sim_ev {
  uint64_t t, seq;
  enum sim_kind kind;
  size_t node;
  struct maint_msg msg;
  bool has_pred;
  struct chord_peer pred;
  struct chord_peer list[FINGER_SUCC_MAX];
  size_t n;
  struct chord_peer found;
};

struct sim {
  struct sim_cfg cfg;
  uint64_t rng;
  struct sim_node *node; /* every node ever, by index; never moves */
  size_t nnode, cap;
  size_t *live; /* indices of live nodes, ids ascending */
  size_t nlive;
  struct sim_ev **heap;
  size_t nheap, capheap;
  uint64_t now, seq, nevent;
  uint64_t lost_dead, lost_loop; /* lookups lost at a dead hop, a loop */
  size_t churn_left;
  bool quiet;
  unsigned round; /* quiet rounds completed: every node stabilized */
  size_t behind;  /* live nodes yet to stabilize in this round */
  bool new_round; /* set when round grows; the caller clears it */
  /* Scratch for the checks, cap entries each. */
  int *mark, *cover;
  size_t *entry;
  char err[SIM_ERR_MAX];
  char why[256]; /* why sim_check_ideal said no */
};

/* splitmix64. */
uint64_t sim_net_rand(struct sim *s);
/* Sets up cfg.nodes members with an ideal ring and their first ticks.
 * 0 or -1 (out of memory; s is then closed). */
int sim_net_open(struct sim *s, const struct sim_cfg *cfg);
/* Frees everything s holds. */
void sim_net_close(struct sim *s);
/* Pops and runs the next event. changed says whether a successor list or
 * the live set changed. 0, 1 when the queue is empty, -1 on error. */
int sim_net_step(struct sim *s, bool *changed);
/* The node whose address names index k, or SIZE_MAX. */
size_t sim_net_index(const struct sim *s, const struct chord_peer *p);

/* The first entry of n's list that is alive and not n, or SIZE_MAX. */
size_t sim_check_best(const struct sim *s, size_t n);
/* Zave's invariant over the live members; 0, or -1 with s->err set. */
int sim_check_invariant(struct sim *s);
/* Live members no list skips (Zave's principals). */
size_t sim_check_principals(struct sim *s);
/* Whether every live node has a live entry in its list. */
bool sim_check_live_succ(const struct sim *s, size_t *bad);
/* Whether preds and successor lists are exact (fingers too if fingers). */
bool sim_check_ideal(struct sim *s, bool fingers);
/* Position in s->live of the first live id >= id (nlive when none). */
size_t sim_check_lower(const struct sim *s, const struct chord_id *id);

#endif
