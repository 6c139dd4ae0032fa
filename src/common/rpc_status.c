/* SPDX-License-Identifier: MIT */
/* The rpc layer's plain parts: gRPC status <-> CHORD_E* mapping, status
 * names, deadlines, gRPC's own log lines, method paths, and the small
 * helpers rpc_server.c and rpc_client.c share (rpc_internal.h). */
#include "common/rpc.h"

#include <errno.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/slice.h>
#include <grpc/support/log.h>

#include "common/err.h"
#include "common/log.h"
#include "common/rpc_internal.h"

#define RPC_ENVELOPE 65536 /* room for names and framing beyond content */

/* ---- status codes and time ---------------------------------------------- */

int rpc_status_to_err(grpc_status_code code)
{
  switch (code) {
  case GRPC_STATUS_OK: return 0;
  case GRPC_STATUS_INVALID_ARGUMENT: return CHORD_EINVAL;
  case GRPC_STATUS_NOT_FOUND: return CHORD_ENOTFOUND;
  case GRPC_STATUS_ALREADY_EXISTS: return CHORD_EEXIST;
  case GRPC_STATUS_UNAVAILABLE: return CHORD_EUNAVAIL;
  case GRPC_STATUS_DEADLINE_EXCEEDED: return CHORD_ETIMEDOUT;
  case GRPC_STATUS_RESOURCE_EXHAUSTED: return CHORD_ETOOBIG;
  case GRPC_STATUS_PERMISSION_DENIED: return CHORD_EPERM;
  case GRPC_STATUS_UNAUTHENTICATED: return CHORD_EUNAUTH;
  case GRPC_STATUS_FAILED_PRECONDITION: return CHORD_ESTATE;
  case GRPC_STATUS_UNIMPLEMENTED: return CHORD_EUNIMPL;
  case GRPC_STATUS_CANCELLED: return CHORD_ECANCELLED;
  case GRPC_STATUS_ABORTED: return CHORD_ELOOP;
  case GRPC_STATUS_DATA_LOSS: return CHORD_EIO;
  default: return CHORD_EINTERNAL;
  }
}

grpc_status_code rpc_err_to_status(int err)
{
  switch (err) {
  case 0: return GRPC_STATUS_OK;
  case CHORD_EINVAL: return GRPC_STATUS_INVALID_ARGUMENT;
  case CHORD_ENOTFOUND: return GRPC_STATUS_NOT_FOUND;
  case CHORD_EEXIST: return GRPC_STATUS_ALREADY_EXISTS;
  case CHORD_EUNAVAIL: return GRPC_STATUS_UNAVAILABLE;
  case CHORD_ETIMEDOUT: return GRPC_STATUS_DEADLINE_EXCEEDED;
  case CHORD_ETOOBIG:
  case CHORD_ENOMEM: return GRPC_STATUS_RESOURCE_EXHAUSTED;
  case CHORD_EPERM: return GRPC_STATUS_PERMISSION_DENIED;
  case CHORD_EUNAUTH: return GRPC_STATUS_UNAUTHENTICATED;
  case CHORD_ESTATE: return GRPC_STATUS_FAILED_PRECONDITION;
  case CHORD_EUNIMPL: return GRPC_STATUS_UNIMPLEMENTED;
  case CHORD_ECANCELLED: return GRPC_STATUS_CANCELLED;
  case CHORD_ELOOP: return GRPC_STATUS_ABORTED;
  case CHORD_EIO: return GRPC_STATUS_DATA_LOSS;
  /* Out of room (disk, quota, descriptors): retry later or elsewhere. */
  case -ENOSPC:
  case -EDQUOT:
  case -EFBIG:
  case -EMFILE:
  case -ENFILE:
  case -ENOMEM: return GRPC_STATUS_RESOURCE_EXHAUSTED;
  default: return GRPC_STATUS_INTERNAL;
  }
}

const char *rpc_status_name(grpc_status_code code)
{
  static const char *const names[] = {"OK",
                                      "CANCELLED",
                                      "UNKNOWN",
                                      "INVALID_ARGUMENT",
                                      "DEADLINE_EXCEEDED",
                                      "NOT_FOUND",
                                      "ALREADY_EXISTS",
                                      "PERMISSION_DENIED",
                                      "RESOURCE_EXHAUSTED",
                                      "FAILED_PRECONDITION",
                                      "ABORTED",
                                      "OUT_OF_RANGE",
                                      "UNIMPLEMENTED",
                                      "INTERNAL",
                                      "UNAVAILABLE",
                                      "DATA_LOSS",
                                      "UNAUTHENTICATED"};
  if ((unsigned)code < sizeof(names) / sizeof(names[0]))
    return names[code];
  return "UNKNOWN";
}

gpr_timespec rpc_deadline_in(int64_t ms)
{
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                      gpr_time_from_millis(ms, GPR_TIMESPAN));
}

int64_t rpc_ms_until(gpr_timespec deadline)
{
  if (gpr_time_cmp(deadline, gpr_inf_future(deadline.clock_type)) == 0)
    return INT64_MAX;
  gpr_timespec d = gpr_convert_clock_type(deadline, GPR_CLOCK_MONOTONIC);
  gpr_timespec left = gpr_time_sub(d, gpr_now(GPR_CLOCK_MONOTONIC));
  return left.tv_sec * 1000 + left.tv_nsec / 1000000;
}

static void library_log(gpr_log_func_args *a)
{
  log_write(LOG_LVL_DEBUG, "grpc %s:%d: %s", a->file, a->line, a->message);
}

void rpc_route_library_logs(void)
{
  gpr_set_log_function(library_log);
  gpr_set_log_verbosity(log_get_level() <= LOG_LVL_DEBUG
                            ? GPR_LOG_SEVERITY_INFO
                            : GPR_LOG_SEVERITY_ERROR);
}

/* Method paths are built once per (service, method) and kept for the life
 * of the process: a small append-only table guarded by a mutex, since the
 * sync client may run on any thread. */
struct path_entry {
  const ProtobufCServiceDescriptor *svc;
  unsigned i;
  char *path;
};
static struct path_entry *path_table;
static size_t path_count, path_cap;
static pthread_mutex_t path_lock = PTHREAD_MUTEX_INITIALIZER;

const char *rpc_method_path(const ProtobufCServiceDescriptor *svc, unsigned i)
{
  const char *res = NULL;
  if (i >= svc->n_methods)
    return NULL;
  pthread_mutex_lock(&path_lock);
  for (size_t k = 0; k < path_count; k++) {
    if (path_table[k].svc == svc && path_table[k].i == i) {
      res = path_table[k].path;
      goto done;
    }
  }
  if (path_count == path_cap) {
    size_t ncap = path_cap ? path_cap * 2 : 64;
    struct path_entry *n = realloc(path_table, ncap * sizeof(*n));
    if (!n)
      goto done;
    path_table = n;
    path_cap = ncap;
  }
  size_t len = strlen(svc->name) + strlen(svc->methods[i].name) + 3;
  char *p = malloc(len);
  if (!p)
    goto done;
  snprintf(p, len, "/%s/%s", svc->name, svc->methods[i].name);
  path_table[path_count++] = (struct path_entry){svc, i, p};
  res = p;
done:
  pthread_mutex_unlock(&path_lock);
  return res;
}

/* ---- shared inside the rpc layer ----------------------------------------- */

/* Sets st to code with a printf-style message; remote and detail are
 * cleared (the status is made up on this side). */
void rpc__status_set(struct rpc_status *st, grpc_status_code code,
                     const char *fmt, ...)
{
  va_list ap;
  st->code = code;
  st->remote = false;
  st->detail[0] = '\0';
  va_start(ap, fmt);
  vsnprintf(st->message, sizeof(st->message), fmt, ap);
  va_end(ap);
}

/* Fills a[] (room for RPC__MAX_ARGS) with the message limits and, when
 * reconnect_max_ms > 0, the client's retry and backoff settings; *n gets
 * the count. */
void rpc__channel_args_fill(grpc_arg *a, size_t *n, size_t max_message,
                            int reconnect_max_ms)
{
  int max = (int)(max_message + RPC_ENVELOPE);
  size_t k = 0;
  a[k++] = (grpc_arg){GRPC_ARG_INTEGER,
                      (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                      {.integer = max}};
  a[k++] = (grpc_arg){GRPC_ARG_INTEGER,
                      (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
                      {.integer = max}};
  if (reconnect_max_ms > 0) {
    /* Retries are off (no policy is used, and they cost 20-30% per call);
     * reconnects start at 100 ms and are capped so a restarted peer is
     * reachable again within reconnect_max_ms. The minimum doubles as the
     * connect timeout, so it stays at a second. */
    a[k++] = (grpc_arg){
        GRPC_ARG_INTEGER, (char *)GRPC_ARG_ENABLE_RETRIES, {.integer = 0}};
    a[k++] = (grpc_arg){GRPC_ARG_INTEGER,
                        (char *)GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
                        {.integer = 100}};
    a[k++] = (grpc_arg){GRPC_ARG_INTEGER,
                        (char *)GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
                        {.integer = 1000}};
    a[k++] = (grpc_arg){GRPC_ARG_INTEGER,
                        (char *)GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
                        {.integer = reconnect_max_ms}};
    /* Each channel its own connection: a channel forgotten after a failure
     * (rpc_client_forget) is replaced by one that dials at once, not one
     * sharing the old connection's backoff. */
    a[k++] = (grpc_arg){GRPC_ARG_INTEGER,
                        (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL,
                        {.integer = 1}};
  }
  *n = k;
}

int rpc__metadata_get(const grpc_metadata_array *md, const char *key, char *out,
                      size_t len)
{
  size_t klen = strlen(key);
  for (size_t i = 0; i < md->count; i++) {
    grpc_slice k = md->metadata[i].key;
    if (GRPC_SLICE_LENGTH(k) != klen ||
        memcmp(GRPC_SLICE_START_PTR(k), key, klen) != 0)
      continue;
    grpc_slice v = md->metadata[i].value;
    size_t vlen = GRPC_SLICE_LENGTH(v);
    if (vlen + 1 > len)
      return CHORD_ETOOBIG;
    memcpy(out, GRPC_SLICE_START_PTR(v), vlen);
    out[vlen] = '\0';
    return 0;
  }
  return CHORD_ENOTFOUND;
}

/* Writes the RPC_ERROR_KEY value for detail into out (len bytes): detail
 * itself, RPC_ERROR_NONE for NULL or "", characters outside [a-z0-9._-]
 * replaced by '_' so that it is a legal header value, cut to fit. */
void rpc__error_value(const char *detail, char *out, size_t len)
{
  size_t n = 0;
  if (!detail || !*detail) {
    snprintf(out, len, "%s", RPC_ERROR_NONE);
    return;
  }
  for (; detail[n] && n + 1 < len; n++) {
    char ch = detail[n];
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-';
    out[n] = ok ? ch : '_';
  }
  out[n] = '\0';
}

bool rpc_status_unsent(const struct rpc_status *st)
{
  /* gRPC core 1.51's pick_first message when no connection could be made;
   * a call that failed on an established connection says something else
   * ("Socket closed", "Connection reset by peer", a GOAWAY). */
  static const char pick_failed[] = "failed to connect to all addresses";
  return !st->remote && st->code == GRPC_STATUS_UNAVAILABLE &&
         strncmp(st->message, pick_failed, sizeof(pick_failed) - 1) == 0;
}
