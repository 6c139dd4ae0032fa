/* SPDX-License-Identifier: MIT */
/* chordctl serve: the live ring page and its JSON API. */
#ifndef CHORD_CLIENT_SERVE_H
#define CHORD_CLIENT_SERVE_H

#include "client/chordctl.h"

/* Serves until SIGINT or SIGTERM; an exit code. */
int serve_run(struct chordctl *ctl, int argc, char **argv);

#endif
