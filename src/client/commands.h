/* SPDX-License-Identifier: MIT */
/* chordctl's private header for its context and subcommands: one cmd_
 * function per command, each taking the command's own arguments. */
#ifndef CHORD_CLIENT_COMMANDS_H
#define CHORD_CLIENT_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/rpc.h"

#define CMD_DEFAULT_SUPERNODE "127.0.0.1:7000"
#define CMD_SUPERNODE_ENV "CHORD_SUPERNODE"
#define CMD_DEFAULT_TIMEOUT_MS 10000
#define CMD_MAX_TIMEOUT_MS ((uint64_t)24 * 3600 * 1000) /* one day */
#define CMD_MAX_SIZE_LIMIT ((uint64_t)1 << 30) /* highest --max-size */

/* The program's state, from the global flags to the RPC client. */
struct chordctl {
  const char *supernode;    /* HOST:PORT of the supernode */
  bool supernode_from_env;  /* supernode came from CHORD_SUPERNODE */
  const char *node;         /* --node: serve every call; NULL = ask */
  int64_t timeout_ms;       /* deadline of each call, milliseconds */
  uint64_t max_size;        /* largest file content sent or received */
  bool json;                /* one JSON object on stdout, not text */
  struct rpc_client *rpc;   /* sync client, made by main before a command */
};

/* Each returns an exit code (enum out_exit) after printing the result or
 * one error sentence. argv[0] is the command's name; argv[1..argc) are
 * its arguments. ctl->rpc must be set. */
int cmd_write(struct chordctl *ctl, int argc, char **argv);
int cmd_read(struct chordctl *ctl, int argc, char **argv);
int cmd_delete(struct chordctl *ctl, int argc, char **argv);
int cmd_lookup(struct chordctl *ctl, int argc, char **argv);
int cmd_ring(struct chordctl *ctl, int argc, char **argv);
int cmd_status(struct chordctl *ctl, int argc, char **argv);
/* bench.c */
int cmd_bench(struct chordctl *ctl, int argc, char **argv);
int cmd_health(struct chordctl *ctl, int argc, char **argv);

#endif
