/* SPDX-License-Identifier: MIT */
/* chordctl's private header for its one context struct, passed first to
 * every function of the program, and the defaults of its global flags. */
#ifndef CHORD_CLIENT_CHORDCTL_H
#define CHORD_CLIENT_CHORDCTL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/auth.h"
#include "common/rpc.h"
#include "client/ringview.h"

#define CHORDCTL_DEFAULT_SUPERNODE "127.0.0.1:7000"
#define CHORDCTL_SUPERNODE_ENV "CHORD_SUPERNODE"
#define CHORDCTL_RING_CACHE_ENV "CHORD_RING_CACHE"
#define CHORDCTL_ROUTE_ENV "CHORD_ROUTE"
#define CHORDCTL_DEFAULT_TIMEOUT_MS 10000
#define CHORDCTL_MAX_TIMEOUT_MS ((uint64_t)24 * 3600 * 1000) /* one day */
#define CHORDCTL_MAX_SIZE_LIMIT ((uint64_t)1 << 50)   /* highest --max-size */
#define CHORDCTL_DEFAULT_MAX_SIZE ((uint64_t)1 << 40) /* 1 TiB */
#define CHORDCTL_DEFAULT_CHUNK ((uint64_t)1 << 20)
#define CHORDCTL_MIN_CHUNK ((uint64_t)4 << 10)
#define CHORDCTL_MAX_CHUNK ((uint64_t)64 << 20)
#define CHORDCTL_DEFAULT_WINDOW 8
#define CHORDCTL_MAX_WINDOW 64
/* Largest single message: a chunk or plain file of up to 64 MiB, or a
 * manifest, with room for the envelope. */
#define CHORDCTL_MAX_MESSAGE (((size_t)64 << 20) + ((size_t)1 << 20))

/* The deadline of a call that sends bytes of message: --timeout, plus a
 * second per MiB, so that a big file on a slow link or a loaded ring is
 * given time to cross rather than failed for its size. */
static inline int64_t chordctl_call_ms(int64_t timeout_ms, size_t bytes)
{
  return timeout_ms + (int64_t)(bytes >> 20) * 1000;
}

/* How a request naming a file reaches its owner. */
enum chordctl_route {
  ROUTE_RING,   /* through a node the supernode picks, along the fingers */
  ROUTE_DIRECT, /* straight to the owner in the ring view, else as ring */
};

/* The program's state, from the global flags to the RPC client. */
struct chordctl {
  const char *supernode;      /* HOST:PORT of the supernode */
  bool supernode_from_env;    /* supernode came from CHORD_SUPERNODE */
  const char *node;           /* --node: serve every call; NULL = ask */
  int64_t timeout_ms;         /* deadline of each call, milliseconds */
  int64_t last_call_ms;       /* the deadline the last call was given */
  bool retried_unsure;        /* cluster_node_call retried after a failure
                                 that may have come after the work */
  bool unsure_notfound_ok;    /* then a NOT_FOUND is the caller's to tell */
  int global_argc;            /* argv[1..global_argc): the global flags */
  char **global_argv;         /* (serve passes them on to its children) */
  uint64_t max_size;          /* largest file (whole object) sent or read */
  uint64_t chunk_size;        /* --chunk-size: bytes per chunk */
  unsigned window;            /* --window: chunks in flight */
  bool quiet;                 /* --quiet: no progress line */
  bool json;                  /* one JSON object on stdout, not text */
  enum chordctl_route route;  /* --route */
  const char *ring_cache;     /* --ring-cache FILE, or NULL */
  int64_t ring_ttl_ms;        /* --ring-ttl: the cache file's lifetime */
  struct ringview view;       /* the ring as this process knows it */
  const char *last_route;     /* "direct" or "ring": how the last request
                                 naming a file went (NULL with --node) */
  struct rpc_client *rpc;     /* sync client, made by main before a command */
  struct auth_opts auth_opts; /* --token-file and --tls-* */
  struct auth auth;           /* what they name, loaded by run_net */
};

#endif
