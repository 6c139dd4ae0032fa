/* SPDX-License-Identifier: MIT */
/* Prometheus metrics: collectors that write their families in the text
 * exposition format (0.0.4) when scraped. Values live in atomics that any
 * thread updates with relaxed adds; a scrape reads them on the HTTP thread
 * (metrics_http.c) and never touches the loop. */
#ifndef CHORD_METRICS_H
#define CHORD_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_BUCKETS 20

/* A histogram of values in micro-units (microseconds, or a count times
 * 1e6), with fixed upper bounds in the same units. */
struct metrics_hist {
  const uint64_t *bounds; /* ascending, nbounds of them; +Inf is implied */
  unsigned nbounds;
  atomic_uint_fast64_t bucket[METRICS_MAX_BUCKETS]; /* not cumulative */
  atomic_uint_fast64_t count;
  atomic_uint_fast64_t sum; /* micro-units */
};

/* Latency bounds: 100 us to 10 s. */
extern const uint64_t metrics_seconds_bounds[];
extern const unsigned metrics_seconds_nbounds;

void metrics_hist_init(struct metrics_hist *h, const uint64_t *bounds,
                       unsigned nbounds);
void metrics_hist_observe(struct metrics_hist *h, uint64_t micro);

static inline void metrics_inc(atomic_uint_fast64_t *c, uint64_t by)
{
  atomic_fetch_add_explicit(c, by, memory_order_relaxed);
}

static inline uint64_t metrics_get(const atomic_uint_fast64_t *c)
{
  return atomic_load_explicit((atomic_uint_fast64_t *)c, memory_order_relaxed);
}

/* The text of one scrape. */
struct metrics_buf {
  char *p;
  size_t len, cap;
  bool oom; /* an append failed: the scrape answers 500 */
};

void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void metrics_family(struct metrics_buf *b, const char *name, const char *type,
                    const char *help);
/* One sample: name{labels} value; labels is "" or 'k="v",...'. */
void metrics_sample(struct metrics_buf *b, const char *name, const char *labels,
                    uint64_t value);
/* The _bucket, _sum and _count samples of h (values divided by 1e6). */
void metrics_hist_write(struct metrics_buf *b, const char *name,
                        const char *labels, const struct metrics_hist *h);

typedef void (*metrics_collect_cb)(struct metrics_buf *b, void *ud);

struct metrics;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);
/* Adds a collector; only before scrapes start (the list is then read
 * without a lock). 0 or CHORD_ENOMEM. */
int metrics_add(struct metrics *m, metrics_collect_cb cb, void *ud);
/* Runs every collector into b (which the caller frees: free(b->p)).
 * Any thread. */
void metrics_render(const struct metrics *m, struct metrics_buf *b);
/* The standard process_* families: resident memory, open descriptors,
 * CPU seconds, start time. A collector (ud unused). */
void metrics_process(struct metrics_buf *b, void *ud);

#endif
