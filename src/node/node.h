/* SPDX-License-Identifier: MIT */
/* The node's context and the pieces its files share (private to
 * chord-node). All of it lives on the loop thread. */
#ifndef CHORD_NODE_H
#define CHORD_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "chord/v1/node.pb-c.h"
#include "common/daemon.h"
#include "node/ring.h"
#include "node/store.h"

enum node_state {
  NODE_JOINING, /* not yet a member: requests go to the successor */
  NODE_JOINED,  /* a member */
  NODE_LEAVING, /* handing its keys to the successor */
  NODE_LEFT,    /* its range is the successor's: forward everything */
};

struct push; /* join.c: one page of a leave push */

/* A request parked while a hand-off settles, replayed afterwards. */
struct parked {
  struct rpc_srv_call *call;
  const ProtobufCMessage *req;
  rpc_handler_cb handler;
  struct parked *next;
};

/* A set of keys (changed during a hand-off). */
struct keyset {
  struct chord_id *keys;
  size_t n, cap;
};

/* A range being handed to another node: by a successor to a joiner, or
 * by a leaving node to its successor. Writes and deletes in the range
 * while it is active are recorded, and sent again at the end. */
struct handoff {
  bool active;
  struct chord_peer to;
  struct chord_id from, upto; /* the range (from, upto] */
  struct keyset changed;
  uint64_t last_ms; /* last request of the joiner */
};

#define NODE_HANDOFF_IDLE_MS 60000 /* a joiner silent this long is gone */

struct node_opts {
  char listen[ADDR_STR_MAX];
  char advertise[ADDR_STR_MAX];
  char supernode[ADDR_STR_MAX];
  struct chord_id id;
  bool id_fixed;
  const char *store_kind; /* "mem" or "dir" */
  const char *data_dir;
  uint64_t max_file;       /* largest content accepted */
  uint64_t rpc_timeout_ms; /* ring-internal calls */
  uint64_t forward_timeout_ms; /* cap on a forward without a deadline */
  unsigned hop_limit;
  unsigned succ_len;       /* successor list length */
  unsigned join_retries;   /* unreachable supernode attempts */
  uint64_t join_timeout_ms; /* total time to wait while busy */
  uint64_t page_bytes;     /* TransferKeys/Replicate page size */
};

struct node {
  struct daemon d;
  struct node_opts o;
  struct chord_peer self;
  enum node_state state;
  struct ring ring;
  struct store *store;
  uint64_t started_ms;
  uint64_t last_version;   /* versions handed out are increasing */
  unsigned jobs;           /* store jobs in flight */
  struct handoff give;     /* our range (part) going to another node */
  struct parked *parked, **parked_tail;
  bool park_own;           /* park writes/deletes for give's range */
  struct rpc_srv_call *release_call;
  const ProtobufCMessage *release_req;
  /* join and membership */
  struct chord_peer succ_at_join;
  uv_timer_t hb_timer;     /* heartbeats, join retries */
  uv_timer_t leave_timer;  /* cuts a stuck leave short */
  bool leave_requested;
  uint64_t hb_interval_ms;
  unsigned join_attempts;
  uint64_t join_started_ms;
  bool hb_failing;
  bool registered;         /* PostJoin done: a full member */
  /* key pull from the successor while joining */
  struct chord_peer *pending_members; /* the list to install once released */
  size_t npending_members;
  unsigned transfer_attempts;
  uint8_t transfer_after[CHORD_ID_BYTES]; /* last key of the previous page */
  bool have_after, transfer_started, releasing;
  uint64_t lease_ms;       /* the join lock's lease, from JoinResponse */
  uint64_t lease_at;       /* when the lease was last granted or renewed */
  size_t pulled;
  /* key push to the successor while leaving */
  size_t pushed;
  struct push *leave_final; /* the final push, waiting for jobs to drain */
};

/* A job on the store: work runs off the loop for the dir backend (inline
 * for mem), then done runs on the loop. */
struct job {
  uv_work_t req;
  struct node *n;
  void (*work)(struct job *j);
  void (*done)(struct job *j);
};

/* service.c */
int node_svc_register(struct node *n);
/* Replays parked requests (after a hand-off settles). */
void node_svc_unpark(struct node *n);
/* Runs a release that waited for store jobs to drain. */
void node_svc_jobs_drained(struct node *n);
/* Builds store entries (new references, in *out) from wire files, checking
 * names and sizes. 0 or CHORD_EINVAL / CHORD_ENOMEM with *why. */
int node_entries_from_files(struct node *n, Chord__V1__File **files,
                            size_t nf, struct store_entry ***out,
                            const char **why);
/* Deletes our entries in (from, upto] (a range handed to another node). */
void node_drop_range(struct node *n, const struct chord_id *from,
                     const struct chord_id *upto);
/* Records key in the active hand-off when it falls in its range. */
void node_handoff_touch(struct node *n, const struct chord_id *key);
void node_handoff_clear(struct handoff *h);

/* join.c */
void node_join_start(struct node *n);
void node_leave_start(struct node *n);
/* Starts a final leave push that waited for store jobs to drain. */
void node_leave_jobs_drained(struct node *n);
/* Ring-internal deadline for calls of this node. */
gpr_timespec node_deadline(const struct node *n);

/* main.c */
void node_job_submit(struct node *n, struct job *j);
uint64_t node_now_ms(void);
/* Closes the node's timers and stops the daemon (idempotent). */
void node_stop(struct node *n, int exit_code);
/* Installs a membership list (UpdateDHT, join, leave); logs the change. */
int node_install(struct node *n, const struct chord_peer *members, size_t k);

#endif
