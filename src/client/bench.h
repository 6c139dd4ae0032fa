/* SPDX-License-Identifier: MIT */
/* chordctl's private header for the bench command, which measures
 * throughput, latency and hops against a running cluster. */
#ifndef CHORD_CLIENT_BENCH_H
#define CHORD_CLIENT_BENCH_H

#include "client/chordctl.h"

/* bench [--op OP] [--count N] ...: runs the benchmark and reports it. */
int bench_run(struct chordctl *ctl, int argc, char **argv);

#endif
