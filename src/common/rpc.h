/* SPDX-License-Identifier: MIT */
/* The gRPC core wrapper: a server whose handlers answer asynchronously
 * (rpc_server.c), a client with a per-peer channel cache and unary calls
 * with deadlines (rpc_client.c), and the mapping between gRPC status codes
 * and CHORD_E* codes (rpc_status.c). Everything except rpc_client_call_sync
 * runs on the loop thread that drives the cq_bridge. */
#ifndef CHORD_RPC_H
#define CHORD_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "common/cq_bridge.h"

#define RPC_DEFAULT_MAX_MESSAGE ((size_t)64 << 20) /* bytes */
#define RPC_MESSAGE_MAX 256 /* longest status message kept, with NUL */

#define RPC_DETAIL_MAX 32 /* longest error detail kept, with NUL */

/* Errors are told apart by code and detail, never by message text.
 *
 * Every non-OK status a chord server sends through this layer carries the
 * trailing metadata entry RPC_ERROR_KEY. Its value is the handler's detail
 * (an RPC_DETAIL_* string) or RPC_ERROR_NONE when there is none. That
 * includes the errors the layer sends for the server itself: UNAVAILABLE
 * "server shutting down", INVALID_ARGUMENT for an undecodable request,
 * UNIMPLEMENTED, and INTERNAL when a response cannot be encoded. A status
 * without the entry was made up by gRPC (no connection, deadline, a
 * message over a size limit, cancellation) or by a server that is not
 * chord's. A detail is 1 to RPC_DETAIL_MAX - 1 characters of [a-z0-9._-]
 * (others are sent as '_', longer ones cut); "-" is not a detail. */
#define RPC_ERROR_KEY "chord-error" /* trailing metadata key */
#define RPC_ERROR_NONE "-"          /* its value when there is no detail */

/* The join lock is held by another node: retry later (UNAVAILABLE). */
#define RPC_DETAIL_BUSY "busy"
/* A node could not reach the next hop of a forwarded request. */
#define RPC_DETAIL_UNREACHABLE "unreachable"
/* A forwarded request ran out of hops. */
#define RPC_DETAIL_HOP_LIMIT "hop-limit"
/* The node is not yet a member of the ring (still joining). */
#define RPC_DETAIL_JOINING "joining"
/* The node is not (or no longer) a member of the ring. */
#define RPC_DETAIL_NOT_MEMBER "not-member"

struct rpc_status {
  grpc_status_code code;
  char message[RPC_MESSAGE_MAX]; /* for people; never parsed */
  /* Set when a chord server sent the status: every OK, and every error
   * carrying RPC_ERROR_KEY. Clear when gRPC or this side made it up (no
   * connection, deadline, size limit, a response that would not decode). */
  bool remote;
  /* A chord handler's machine-readable reason (RPC_DETAIL_*), or "". */
  char detail[RPC_DETAIL_MAX];
};

/* CHORD_E* for a gRPC status (0 for OK). */
int rpc_status_to_err(grpc_status_code code);
/* gRPC status for a CHORD_E* or -errno code (GRPC_STATUS_OK for 0). */
grpc_status_code rpc_err_to_status(int err);
/* Whether a failed call surely never reached the server: gRPC could not
 * connect (its pick failed: "failed to connect to all addresses"), so the
 * request was never sent. Any other failure (a connection that broke
 * mid-call, a server shutting down, a deadline) may come after the server
 * acted on the request: a change must not be sent again blindly. */
bool rpc_status_unsent(const struct rpc_status *st);
/* "OK", "NOT_FOUND", ...: the canonical upper-case name. */
const char *rpc_status_name(grpc_status_code code);
/* An absolute deadline ms milliseconds from now (monotonic clock). */
gpr_timespec rpc_deadline_in(int64_t ms);
/* Milliseconds left until deadline (negative when past; INT64_MAX when
 * infinite). */
int64_t rpc_ms_until(gpr_timespec deadline);
/* Sends gRPC core's own log lines to log_write at debug level (the
 * caller reports failures itself, through status codes). */
void rpc_route_library_logs(void);
/* "/package.Service/Method" for method i of svc, in a static table filled
 * on first use; NULL when i is out of range. */
const char *rpc_method_path(const ProtobufCServiceDescriptor *svc, unsigned i);

/* ---- server ------------------------------------------------------------ */

struct rpc_server;
struct rpc_srv_call; /* one inbound call, valid until answered */

/* Handles a decoded request. req belongs to the call and lives until the
 * call is answered; the handler must answer exactly once, now or later,
 * with rpc_srv_reply, rpc_srv_reply_error or rpc_srv_reply_error_detail. */
typedef void (*rpc_handler_cb)(struct rpc_srv_call *call,
                               const ProtobufCMessage *req, void *ud);
/* The server is shutting down and has answered call itself: drop every
 * reference to it; it is freed after this returns. */
typedef void (*rpc_cancel_cb)(struct rpc_srv_call *call, void *ud);

struct auth;

struct rpc_server_opts {
  size_t max_message;      /* largest request accepted; 0 = default */
  unsigned slots;          /* requests kept armed per method; 0 = 8 */
  const struct auth *auth; /* TLS and tokens (outlives the server); NULL:
                              plaintext, every call admitted */
};

/* A server whose events run on b's loop. NULL on failure. */
struct rpc_server *rpc_server_create(struct cq_bridge *b,
                                     const struct rpc_server_opts *o);
/* Serves every method of svc; handlers[i] handles method i (a NULL entry
 * answers UNIMPLEMENTED). Before start only. 0 or CHORD_ENOMEM. */
int rpc_server_add_service(struct rpc_server *s,
                           const ProtobufCServiceDescriptor *svc,
                           const rpc_handler_cb *handlers, void *ud);
/* Sets what the callers of svc's methods must prove: levels[i] (an enum
 * auth_level) for method i. A method never guarded needs AUTH_RING, so a
 * forgotten one is closed, not open. Before start only; svc added. A call
 * that falls short is answered UNAUTHENTICATED or PERMISSION_DENIED before
 * its request is decoded. */
void rpc_server_guard(struct rpc_server *s,
                      const ProtobufCServiceDescriptor *svc,
                      const unsigned char *levels);
/* Binds addr ("host:port", port 0 for an ephemeral one), with TLS when the
 * server's auth has it.
 * Writes the bound port to *port when not NULL. Before start only.
 * 0, or CHORD_EINVAL when the address cannot be bound. */
int rpc_server_listen(struct rpc_server *s, const char *addr, int *port);
/* Starts serving. 0 or CHORD_ENOMEM. */
int rpc_server_start(struct rpc_server *s);
struct metrics;
/* Adds the server's figures to m: answers by method and status, their
 * latency, calls in flight. 0 or CHORD_ENOMEM. */
int rpc_server_metrics(struct rpc_server *s, struct metrics *m);
/* Stops accepting calls, answers every unanswered call with UNAVAILABLE
 * (running its cancel callback), cancels the rest, and once every tag is
 * back destroys the server and calls done(ud) (right away when the server
 * never started). The server is freed before done runs. */
void rpc_server_shutdown(struct rpc_server *s, void (*done)(void *ud),
                         void *ud);
/* As rpc_server_shutdown, but first lets the calls under way finish for up
 * to grace_ms (new calls are refused meanwhile), so that a stopping
 * daemon does not cut off requests it has half done. */
void rpc_server_drain(struct rpc_server *s, uint64_t grace_ms,
                      void (*done)(void *ud), void *ud);

/* Calls the server has received since it started (any method). */
uint64_t rpc_server_served(const struct rpc_server *s);
/* The call's deadline as the caller set it (may be infinite). */
gpr_timespec rpc_srv_deadline(const struct rpc_srv_call *c);
/* The full method path of the call. */
const char *rpc_srv_method(const struct rpc_srv_call *c);
/* Copies the value of request metadata key into out (NUL-terminated).
 * 0, CHORD_ENOTFOUND, or CHORD_ETOOBIG when it does not fit. */
int rpc_srv_metadata(const struct rpc_srv_call *c, const char *key, char *out,
                     size_t len);
/* Whether the caller proved the cluster token (always true when no
 * cluster token is set): a ring member, not just a client. */
bool rpc_srv_member(const struct rpc_srv_call *c);
/* Registers cb to run if the server answers the call itself at shutdown. */
void rpc_srv_on_cancel(struct rpc_srv_call *c, rpc_cancel_cb cb, void *ud);
/* Answers OK with resp (packed at once; resp stays the caller's). The
 * call is invalid afterwards. 0, or an error after which the call was
 * answered INTERNAL. */
int rpc_srv_reply(struct rpc_srv_call *c, const ProtobufCMessage *resp);
/* Answers OK with an already-encoded message (bb stays the caller's). */
int rpc_srv_reply_raw(struct rpc_srv_call *c, grpc_byte_buffer *bb);
/* Answers with a non-OK status and a printf-style message (no detail). */
void rpc_srv_reply_error(struct rpc_srv_call *c, grpc_status_code code,
                         const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* As rpc_srv_reply_error, plus detail (RPC_DETAIL_*; NULL for none) in the
 * RPC_ERROR_KEY trailer. */
void rpc_srv_reply_error_detail(struct rpc_srv_call *c, grpc_status_code code,
                                const char *detail, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- client ------------------------------------------------------------ */

struct rpc_client;

struct rpc_client_opts {
  size_t max_message;   /* largest response accepted; 0 = default */
  int reconnect_max_ms; /* cap on reconnect backoff; 0 = 2000 */
  /* TLS credentials, and the cluster token sent as metadata on every call;
   * borrowed, outlives the client. NULL: plaintext, no token. */
  const struct auth *auth;
};

struct rpc_req {
  const char *target;          /* host:port */
  const char *method;          /* "/package.Service/Method" */
  const ProtobufCMessage *msg; /* the request, or ... */
  grpc_byte_buffer *raw;       /* ... an encoded one (stays the caller's) */
  const ProtobufCMessageDescriptor *resp_desc; /* NULL: keep raw only */
  gpr_timespec deadline;
  bool wait_for_ready; /* queue while the peer is unreachable */
};

struct rpc_result {
  struct rpc_status status;
  ProtobufCMessage *resp; /* decoded response when OK and resp_desc set */
  grpc_byte_buffer *raw;  /* the response bytes when OK */
};

/* Runs on the loop thread when a call ends. The library frees r->resp and
 * r->raw after it returns; the callback may take either by setting the
 * field to NULL (then it frees it: codec_free, grpc_byte_buffer_destroy). */
typedef void (*rpc_done_cb)(struct rpc_result *r, void *ud);

/* A client for async calls on b's queue (b may be NULL for a client that
 * only makes sync calls). NULL on failure. */
struct rpc_client *rpc_client_create(struct cq_bridge *b,
                                     const struct rpc_client_opts *o);
/* Starts an async unary call. 0, or an error (CHORD_EINVAL, CHORD_ENOMEM,
 * CHORD_ECANCELLED once shutting down) and then cb is never called. */
int rpc_client_call(struct rpc_client *c, const struct rpc_req *r,
                    rpc_done_cb cb, void *ud);
/* A blocking unary call on the caller's thread. Fills *out, whose resp
 * and raw the caller releases with rpc_result_clear. Returns the call's
 * status as a CHORD_E* code (0 for OK). */
int rpc_client_call_sync(struct rpc_client *c, const struct rpc_req *r,
                         struct rpc_result *out);
/* As rpc_client_call_sync, waiting on cq: a pluck queue of the caller's
 * (grpc_completion_queue_create_for_pluck), one per thread, since one
 * queue takes at most 6 waiting threads. Channels stay shared. */
int rpc_client_call_sync_on(struct rpc_client *c, grpc_completion_queue *cq,
                            const struct rpc_req *r, struct rpc_result *out);
/* Frees out->resp and out->raw. */
void rpc_result_clear(struct rpc_result *out);
/* Calls in flight. */
size_t rpc_client_inflight(const struct rpc_client *c);
/* Forgets the cached channel to target (e.g. a peer that left). */
void rpc_client_forget(struct rpc_client *c, const char *target);
/* Refuses new calls, cancels those in flight, and once their callbacks
 * have run frees the client and calls done(ud) (at once when idle). */
void rpc_client_shutdown(struct rpc_client *c, void (*done)(void *ud),
                         void *ud);

#endif
