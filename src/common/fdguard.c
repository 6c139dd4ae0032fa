/* SPDX-License-Identifier: MIT */
/* Watches descriptors and the listener's accept queue (see fdguard.h). */
#include "common/fdguard.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

uint64_t fdguard_raise_limit(void)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rlim_t want = rl.rlim_max;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
      getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

/* The port a listening TCP socket fd is bound to, or -1 when fd is not
 * one (closed, not a socket, not listening). */
static int listener_port(int fd)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  int on = 0;
  socklen_t olen = sizeof(on);
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen) != 0 || !on)
    return -1;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
    return -1;
  if (ss.ss_family == AF_INET)
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (ss.ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return -1;
}

/* One pass over this process's descriptors: returns how many are open
 * (INT_MAX when none is left to look, -1 when /proc cannot tell) and, when
 * queued is given, adds to it the accept queues of this process's own
 * listeners on port, from TCP_INFO (for a listener, tcpi_unacked is the
 * connections waiting to be accepted). Not /proc/net/tcp: reading it
 * walks every TCP socket of the host's network namespace, a cost that
 * every daemon paid each second and that grew with the ring (64 nodes on
 * one machine spent most of their CPU there). */
static int scan_fds(int port, unsigned *queued)
{
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int n = 0;
  if (!d)
    return errno == EMFILE || errno == ENFILE ? INT_MAX : -1;
  while ((e = readdir(d)) != NULL) {
    char *end;
    long fd = strtol(e->d_name, &end, 10);
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    if (*end || end == e->d_name || fd == dirfd(d) || fd > INT_MAX)
      continue; /* ".", "..", and the directory's own descriptor */
    n++;
    if (!queued || listener_port((int)fd) != port)
      continue;
    memset(&ti, 0, sizeof(ti));
    if (getsockopt((int)fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
        ti.tcpi_state == 10 /* TCP_LISTEN */)
      *queued += ti.tcpi_unacked;
  }
  closedir(d);
  return n;
}

int fdguard_count_fds(void)
{
  return scan_fds(-1, NULL);
}

unsigned fdguard_accept_queue(int port)
{
  unsigned queued = 0;
  scan_fds(port, &queued);
  return queued;
}

/* A non-blocking connection to the listener: the kernel completes it into
 * the accept queue, where only the listener can take it. */
static int probe_open(struct fdguard *g)
{
  struct sockaddr_storage ss;
  socklen_t len;
  memset(&ss, 0, sizeof(ss));
  struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, g->host, &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons((uint16_t)g->port);
    len = sizeof(*in4);
  } else if (inet_pton(AF_INET6, g->host, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)g->port);
    len = sizeof(*in6);
  } else {
    return -1; /* a host name: no probe, trust the queue check */
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

static void probe_close(struct fdguard *g)
{
  if (g->probe_fd >= 0)
    close(g->probe_fd);
  g->probe_fd = -1;
  g->probe_ticks = 0;
}

static void set_state(struct fdguard *g, enum fdguard_state s)
{
  if (g->state == s)
    return;
  g->state = s;
  g->cb(g, s);
}

static void on_tick(uv_timer_t *t)
{
  struct fdguard *g = t->data;
  unsigned queued = 0;
  int fds = scan_fds(g->port, &queued);
  if (g->state == FDGUARD_DEAD || fds < 0)
    return;
  if (fds == INT_MAX || (uint64_t)fds + g->reserve >= g->limit) {
    if (g->state != FDGUARD_EXHAUSTED)
      LOG_WARN("%s of %llu descriptors in use: not serving until they free "
               "up",
               fds == INT_MAX ? "all" : "most", (unsigned long long)g->limit);
    probe_close(g);
    g->stuck_ticks = 0;
    set_state(g, FDGUARD_EXHAUSTED);
    return;
  }
  if (g->state == FDGUARD_EXHAUSTED) {
    /* Descriptors are back: does the listener still take connections? */
    if (g->probe_fd < 0) {
      g->probe_fd = probe_open(g);
      if (g->probe_fd < 0) {
        LOG_INFO("descriptors free again (%d in use)", fds);
        set_state(g, FDGUARD_OK);
      }
      return;
    }
    if (queued == 0) {
      LOG_INFO("descriptors free again (%d in use) and the listener accepts",
               fds);
      probe_close(g);
      set_state(g, FDGUARD_OK);
    } else if (++g->probe_ticks >= FDGUARD_PROBE_TICKS) {
      LOG_ERROR("the listener on port %d takes no connection since "
                "descriptors ran out: exiting for a restart (code %d)",
                g->port, FDGUARD_EXIT_CODE);
      probe_close(g);
      set_state(g, FDGUARD_DEAD);
    }
    return;
  }
  g->stuck_ticks = queued ? g->stuck_ticks + 1 : 0;
  if (g->stuck_ticks >= FDGUARD_STUCK_TICKS) {
    LOG_ERROR("%u connections wait on port %d for %d s with descriptors free: "
              "the listener is gone; exiting for a restart (code %d)",
              queued, g->port, FDGUARD_STUCK_TICKS * FDGUARD_TICK_MS / 1000,
              FDGUARD_EXIT_CODE);
    set_state(g, FDGUARD_DEAD);
  }
}

void fdguard_start(struct fdguard *g, uv_loop_t *loop, const char *listen_host,
                   int port, fdguard_cb cb, void *ud)
{
  memset(g, 0, sizeof(*g));
  g->loop = loop;
  g->port = port;
  g->probe_fd = -1;
  g->cb = cb;
  g->ud = ud;
  if (!strcmp(listen_host, "0.0.0.0") || !strcmp(listen_host, "") ||
      !strcmp(listen_host, "localhost"))
    snprintf(g->host, sizeof(g->host), "127.0.0.1");
  else if (!strcmp(listen_host, "::"))
    snprintf(g->host, sizeof(g->host), "::1");
  else
    snprintf(g->host, sizeof(g->host), "%s", listen_host);
  struct rlimit rl;
  g->limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                 ? (uint64_t)rl.rlim_cur
                 : UINT64_MAX / 2;
  /* Room for the store's files, outbound channels and the probe. */
  g->reserve = g->limit / 20 > 16 ? g->limit / 20 : 16;
  if (g->reserve > 256)
    g->reserve = 256;
  uv_timer_init(loop, &g->timer);
  g->timer.data = g;
  uv_timer_start(&g->timer, on_tick, FDGUARD_TICK_MS, FDGUARD_TICK_MS);
}

void fdguard_stop(struct fdguard *g)
{
  if (g->closing || !g->loop)
    return;
  g->closing = true;
  probe_close(g);
  uv_timer_stop(&g->timer);
  uv_close((uv_handle_t *)&g->timer, NULL);
}
