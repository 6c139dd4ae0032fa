/* SPDX-License-Identifier: MIT */
/* Descriptor exhaustion, watched from the loop. gRPC core stops accepting
 * for good once accept() fails with EMFILE (measured on 1.51: connections
 * queue in the kernel and are never taken again, even after descriptors
 * free up). So once a second the guard counts the process's descriptors
 * against its limit and looks at the listening port's accept queue:
 *  - near the limit: EXHAUSTED (the daemon says NOT_SERVING and a node
 *    stops heartbeating, so no client is sent to it);
 *  - back under it: a probe connection to the port, which the listener
 *    must take within FDGUARD_PROBE_TICKS, then OK again;
 *  - a probe not taken, or connections left queued for FDGUARD_STUCK_TICKS
 *    while descriptors are free: DEAD (the listener is gone; the daemon
 *    exits with FDGUARD_EXIT_CODE so that a supervisor restarts it). */
#ifndef CHORD_FDGUARD_H
#define CHORD_FDGUARD_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#define FDGUARD_TICK_MS 1000
#define FDGUARD_PROBE_TICKS 5 /* ticks a probe may wait to be accepted */
#define FDGUARD_STUCK_TICKS 10
#define FDGUARD_EXIT_CODE 75 /* EX_TEMPFAIL: restart me */

enum fdguard_state { FDGUARD_OK, FDGUARD_EXHAUSTED, FDGUARD_DEAD };

struct fdguard;
typedef void (*fdguard_cb)(struct fdguard *g, enum fdguard_state s);

struct fdguard {
  uv_timer_t timer; /* data = this */
  uv_loop_t *loop;
  char host[64]; /* where the probe connects (loopback for a wildcard) */
  int port;
  uint64_t limit;   /* RLIMIT_NOFILE soft limit */
  uint64_t reserve; /* EXHAUSTED within this many of the limit */
  enum fdguard_state state;
  int probe_fd; /* the probe connection, or -1 */
  unsigned probe_ticks, stuck_ticks;
  bool closing;
  fdguard_cb cb;
  void *ud;
};

/* Raises the soft descriptor limit to the hard one. Returns the limit in
 * force afterwards. */
uint64_t fdguard_raise_limit(void);
/* Starts watching the listener at listen_host:port (the bound port). */
void fdguard_start(struct fdguard *g, uv_loop_t *loop, const char *listen_host,
                   int port, fdguard_cb cb, void *ud);
/* Stops the timer and closes the probe; the handle closes on the loop. */
void fdguard_stop(struct fdguard *g);
/* Descriptors open in this process: INT_MAX when none is left to look,
 * -1 when /proc cannot tell. */
int fdguard_count_fds(void);
/* Connections waiting in the accept queue of this process's TCP
 * listener(s) on port (0 when none or unknown). */
unsigned fdguard_accept_queue(int port);

#endif
