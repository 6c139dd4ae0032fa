/* SPDX-License-Identifier: MIT */
/* Prometheus metrics: histograms, the text exposition format, the
 * collectors' registry and the process_* families. */
#include "common/metrics.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/err.h"

const uint64_t metrics_seconds_bounds[] = {
    100,   250,    500,    1000,   2500,    5000,    10000,   25000,
    50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
const unsigned metrics_seconds_nbounds =
    sizeof(metrics_seconds_bounds) / sizeof(metrics_seconds_bounds[0]);

struct collector {
  metrics_collect_cb cb;
  void *ud;
};

struct metrics {
  struct collector *c;
  size_t n;
};

void metrics_hist_init(struct metrics_hist *h, const uint64_t *bounds,
                       unsigned nbounds)
{
  memset(h, 0, sizeof(*h));
  h->bounds = bounds;
  h->nbounds =
      nbounds < METRICS_MAX_BUCKETS ? nbounds : METRICS_MAX_BUCKETS - 1;
}

void metrics_hist_observe(struct metrics_hist *h, uint64_t micro)
{
  unsigned i = 0;
  while (i < h->nbounds && micro > h->bounds[i])
    i++;
  metrics_inc(&h->bucket[i], 1); /* i == nbounds: only +Inf */
  metrics_inc(&h->sum, micro);
  metrics_inc(&h->count, 1);
}

void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
{
  va_list ap;
  for (;;) {
    size_t room = b->cap - b->len;
    int n = -1;
    if (b->oom)
      return;
    if (b->p) {
      va_start(ap, fmt);
      n = vsnprintf(b->p + b->len, room, fmt, ap);
      va_end(ap);
      if (n < 0)
        return; /* an encoding error: nothing to add */
      if ((size_t)n < room) {
        b->len += (size_t)n;
        return;
      }
    }
    size_t ncap = b->cap ? b->cap * 2 : 16384;
    if (n >= 0 && ncap < b->len + (size_t)n + 1)
      ncap = b->len + (size_t)n + 1;
    char *np = realloc(b->p, ncap);
    if (!np) {
      b->oom = true;
      return;
    }
    b->p = np;
    b->cap = ncap;
  }
}

void metrics_family(struct metrics_buf *b, const char *name, const char *type,
                    const char *help)
{
  metrics_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_sample(struct metrics_buf *b, const char *name, const char *labels,
                    uint64_t value)
{
  if (labels && labels[0])
    metrics_printf(b, "%s{%s} %" PRIu64 "\n", name, labels, value);
  else
    metrics_printf(b, "%s %" PRIu64 "\n", name, value);
}

/* A value in micro-units as a decimal number of units. */
static void micro_str(char *out, size_t cap, uint64_t micro)
{
  snprintf(out, cap, "%" PRIu64 ".%06" PRIu64, micro / 1000000u,
           micro % 1000000u);
}

void metrics_hist_write(struct metrics_buf *b, const char *name,
                        const char *labels, const struct metrics_hist *h)
{
  const char *sep = labels && labels[0] ? "," : "";
  const char *l = labels ? labels : "";
  uint64_t cum = 0;
  char v[32];
  for (unsigned i = 0; i <= h->nbounds; i++) {
    cum += metrics_get(&h->bucket[i]);
    if (i < h->nbounds)
      micro_str(v, sizeof(v), h->bounds[i]);
    else
      snprintf(v, sizeof(v), "+Inf");
    metrics_printf(b, "%s_bucket{%s%sle=\"%s\"} %" PRIu64 "\n", name, l, sep, v,
                   cum);
  }
  micro_str(v, sizeof(v), metrics_get(&h->sum));
  if (l[0]) {
    metrics_printf(b, "%s_sum{%s} %s\n", name, l, v);
    metrics_printf(b, "%s_count{%s} %" PRIu64 "\n", name, l, cum);
  } else {
    metrics_printf(b, "%s_sum %s\n", name, v);
    metrics_printf(b, "%s_count %" PRIu64 "\n", name, cum);
  }
}

struct metrics *metrics_new(void)
{
  return calloc(1, sizeof(struct metrics));
}

void metrics_free(struct metrics *m)
{
  if (!m)
    return;
  free(m->c);
  free(m);
}

int metrics_add(struct metrics *m, metrics_collect_cb cb, void *ud)
{
  struct collector *n = realloc(m->c, (m->n + 1) * sizeof(*n));
  if (!n)
    return CHORD_ENOMEM;
  m->c = n;
  m->c[m->n++] = (struct collector){cb, ud};
  return 0;
}

void metrics_render(const struct metrics *m, struct metrics_buf *b)
{
  for (size_t i = 0; i < m->n; i++)
    m->c[i].cb(b, m->c[i].ud);
}

static size_t count_fds(void)
{
  size_t n = 0;
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    return 0;
  for (struct dirent *e; (e = readdir(d));)
    n += e->d_name[0] != '.';
  closedir(d);
  return n > 0 ? n - 1 : 0; /* not the one opendir holds */
}

/* utime, stime and starttime (clock ticks) from /proc/self/stat. */
static bool proc_times(uint64_t *utime, uint64_t *stime, uint64_t *start)
{
  char buf[1024];
  FILE *f = fopen("/proc/self/stat", "r");
  if (!f)
    return false;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')'); /* the name may hold spaces */
  if (!p)
    return false;
  /* After ") ": field 3 (state) on; utime is 14, stime 15, start 22. */
  unsigned long long v[20] = {0};
  char state;
  int got = sscanf(p + 2,
                   "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
                   "%*d %*d %*d %*d %*d %*d %llu",
                   &state, &v[0], &v[1], &v[2]);
  if (got != 4)
    return false;
  *utime = v[0];
  *stime = v[1];
  *start = v[2];
  return true;
}

static uint64_t boot_time(void)
{
  char line[256];
  unsigned long long bt = 0;
  FILE *f = fopen("/proc/stat", "r");
  if (!f)
    return 0;
  while (fgets(line, sizeof(line), f))
    if (sscanf(line, "btime %llu", &bt) == 1)
      break;
  fclose(f);
  return bt;
}

void metrics_process(struct metrics_buf *b, void *ud)
{
  long page = sysconf(_SC_PAGESIZE), tck = sysconf(_SC_CLK_TCK);
  unsigned long long size = 0, rss = 0;
  uint64_t ut, st, start;
  struct rlimit rl;
  char v[32];
  (void)ud;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) {
    if (fscanf(f, "%llu %llu", &size, &rss) != 2)
      size = rss = 0;
    fclose(f);
  }
  metrics_family(b, "process_resident_memory_bytes", "gauge",
                 "Resident memory size in bytes.");
  metrics_sample(b, "process_resident_memory_bytes", "",
                 (uint64_t)rss * (uint64_t)page);
  metrics_family(b, "process_virtual_memory_bytes", "gauge",
                 "Virtual memory size in bytes.");
  metrics_sample(b, "process_virtual_memory_bytes", "",
                 (uint64_t)size * (uint64_t)page);
  metrics_family(b, "process_open_fds", "gauge",
                 "Number of open file descriptors.");
  metrics_sample(b, "process_open_fds", "", count_fds());
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    metrics_family(b, "process_max_fds", "gauge",
                   "Maximum number of open file descriptors.");
    metrics_sample(b, "process_max_fds", "", (uint64_t)rl.rlim_cur);
  }
  if (tck > 0 && proc_times(&ut, &st, &start)) {
    snprintf(v, sizeof(v), "%.2f", (double)(ut + st) / (double)tck);
    metrics_family(b, "process_cpu_seconds_total", "counter",
                   "Total user and system CPU time spent in seconds.");
    metrics_printf(b, "process_cpu_seconds_total %s\n", v);
    metrics_family(b, "process_start_time_seconds", "gauge",
                   "Start time of the process since unix epoch in seconds.");
    metrics_sample(b, "process_start_time_seconds", "",
                   boot_time() + start / (uint64_t)tck);
  }
}
