/* SPDX-License-Identifier: MIT */
/* chordctl's private header for its subcommands: one commands_ function
 * per command, each taking the command's own arguments. */
#ifndef CHORD_CLIENT_COMMANDS_H
#define CHORD_CLIENT_COMMANDS_H

#include "client/chordctl.h"

/* write NAME [FILE]: stores FILE or stdin as NAME. */
int commands_write(struct chordctl *ctl, int argc, char **argv);
/* read NAME [-o FILE]: prints the file NAME or saves it to FILE. */
int commands_read(struct chordctl *ctl, int argc, char **argv);
/* delete NAME: removes the file NAME. */
int commands_delete(struct chordctl *ctl, int argc, char **argv);
/* lookup NAME: shows the owner of NAME and the path to it. */
int commands_lookup(struct chordctl *ctl, int argc, char **argv);
/* ring: lists the members and their load. */
int commands_ring(struct chordctl *ctl, int argc, char **argv);
/* status [HOST:PORT] [--all-fingers]: shows one node's state. */
int commands_status(struct chordctl *ctl, int argc, char **argv);
/* health [HOST:PORT]: checks that a daemon is serving. */
int commands_health(struct chordctl *ctl, int argc, char **argv);

#endif
