/* SPDX-License-Identifier: MIT */
/* chordctl's private header for scanning flags and a command's own
 * arguments: options with or without a value, positional arguments. */
#ifndef CHORD_CLIENT_ARGS_H
#define CHORD_CLIENT_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "client/chordctl.h"

#define ARGS_MAX_POS 4 /* most positional arguments a command takes */

/* An option of one command: a switch, or an option with a value. */
struct args_opt {
  const char *lng;    /* "--output" */
  const char *shrt;   /* "-o", or NULL */
  const char **value; /* where the value goes; NULL for a switch */
  bool *on;           /* a switch: set to true when given */
};

/* What a command accepts. */
struct args_spec {
  const struct args_opt *opts; /* its options; NULL when none */
  size_t nopts;                /* how many */
  size_t min, max;             /* positional arguments wanted */
  const char *expect;          /* them in words, for errors: "NAME [FILE]" */
};

/* Splits a command's arguments into spec's options and positionals. */
int args_parse(struct chordctl *ctl, int argc, char **argv,
               const struct args_spec *spec, const char *pos[ARGS_MAX_POS],
               size_t *npos);
/* Whether argv[*i] is flag name ("NAME VALUE" or "NAME=VALUE"). */
bool args_flag_value(int argc, char **argv, int *i, const char *name,
                     const char **val);
/* Whether a command's arguments ask for its help (before any --). */
bool args_wants_help(int argc, char **argv);
/* 0 when name is a valid file name, else an exit code after saying why. */
int args_check_name(struct chordctl *ctl, const char *what, const char *name);
/* 0 when addr is HOST:PORT, else a usage error after saying why. */
int args_check_addr(struct chordctl *ctl, const char *cmd, const char *addr);

#endif
