/* SPDX-License-Identifier: MIT */
/* chordctl's way into the cluster: blocking calls with the --timeout
 * deadline, a node picked by the supernode (or --node), and one retry on
 * another node when the first cannot serve. */
#include "client/cluster.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "chord/v1/supernode.pb-c.h"
#include "common/escape.h"
#include "client/output.h"
#include "common/addr.h"
#include "client/ringview.h"

#define SN_GET_NODE "/chord.v1.Supernode/GetNode"
#define GET_NODE_TRIES 3 /* GetNode calls made to find another node */
#define READ_TRIES 8     /* tries of a request that changes nothing */
#define PAUSE_MS 100     /* before the third try; doubles after each */

/* Makes one blocking call of method with request req on target, with the
 * --timeout deadline (a second more per MiB of req), through ctl->rpc. Always
 * fills *res (the caller clears it with rpc_result_clear): on GRPC_STATUS_OK
 * res->resp is the response decoded with desc. Returns res->status.code. Main
 * thread. */
grpc_status_code cluster_call(struct chordctl *ctl, const char *target,
                              const char *method, const ProtobufCMessage *req,
                              const ProtobufCMessageDescriptor *desc,
                              struct rpc_result *res)
{
  ctl->last_call_ms = chordctl_call_ms(ctl->timeout_ms,
                                       protobuf_c_message_get_packed_size(req));
  struct rpc_req r = {.target = target,
                      .method = method,
                      .msg = req,
                      .resp_desc = desc,
                      .deadline = rpc_deadline_in(ctl->last_call_ms)};
  rpc_client_call_sync(ctl->rpc, &r, res);
  return res->status.code;
}

/* Returns 0 when ctl->supernode is a HOST:PORT address, else
 * OUTPUT_EXIT_USAGE after saying which flag or variable is wrong.
 * CHORD_SUPERNODE is checked only here, when a command needs it. */
int cluster_check_supernode(struct chordctl *ctl)
{
  char q[64];
  if (addr_validate(ctl->supernode, 0) == 0)
    return 0;
  escape_quote(q, sizeof(q), ctl->supernode, strlen(ctl->supernode));
  return output_usage(
      ctl, NULL, "%s %s is not a HOST:PORT address",
      ctl->supernode_from_env ? CHORDCTL_SUPERNODE_ENV : "--supernode", q);
}

/* Asks the supernode for a live node, other than avoid when it can (up to
 * GET_NODE_TRIES calls), and copies its address into addr. 0, or an exit
 * code after printing why. */
static int pick_node(struct chordctl *ctl, const char *avoid,
                     char addr[ADDR_STR_MAX])
{
  Chord__V1__GetNodeRequest req = CHORD__V1__GET_NODE_REQUEST__INIT;
  struct rpc_result res;
  const Chord__V1__GetNodeResponse *r;
  char q[64];
  int rc = cluster_check_supernode(ctl);

  if (rc)
    return rc;
  for (int t = 0; t < (avoid ? GET_NODE_TRIES : 1); t++) {
    if (cluster_call(ctl, ctl->supernode, SN_GET_NODE, &req.base,
                     &chord__v1__get_node_response__descriptor,
                     &res) != GRPC_STATUS_OK) {
      rc =
          output_rpc_error(ctl, NULL, "supernode", ctl->supernode, &res.status);
      /* No member at all is "no node from the supernode", not a missing
       * file. */
      if (res.status.code == GRPC_STATUS_NOT_FOUND)
        rc = OUTPUT_EXIT_UNREACHABLE;
      goto cleanup;
    }
    r = (const Chord__V1__GetNodeResponse *)res.resp;
    if (!r->node || !r->node->addr[0]) {
      output_error(ctl, "the supernode at %s answered without a node",
                   ctl->supernode);
      rc = OUTPUT_EXIT_UNREACHABLE;
      goto cleanup;
    }
    if (addr_validate(r->node->addr, 0)) {
      escape_quote(q, sizeof(q), r->node->addr, strlen(r->node->addr));
      output_error(ctl, "the supernode at %s offered a malformed address %s",
                   ctl->supernode, q);
      rc = OUTPUT_EXIT_FAILURE;
      goto cleanup;
    }
    snprintf(addr, ADDR_STR_MAX, "%s", r->node->addr);
    rpc_result_clear(&res);
    if (!avoid || strcmp(addr, avoid) != 0)
      break;
  }
  return 0;

cleanup:
  rpc_result_clear(&res);
  return rc;
}

/* Where a request naming name goes with --route direct: *target becomes
 * the name's owner in the ring view (loaded on first use), or NULL when
 * the view is empty (ask the supernode); otherwise it is left alone. 0,
 * or an exit code after printing why. */
static int direct_target(struct chordctl *ctl, const char *what,
                         const char *name, const char **target)
{
  if (ctl->node || !name || ctl->route != ROUTE_DIRECT)
    return 0;
  int rc = ringview_load(ctl, what, &ctl->view);
  if (rc)
    return rc;
  if (ctl->view.n)
    *target = ctl->view.addrs[ringview_owner(&ctl->view, name, strlen(name))];
  return 0;
}

/* Calls method with req on a node: --node; with --route direct and a file
 * name, the name's owner in the ring view; else one from the supernode.
 * When that node answers UNAVAILABLE (it is down, or cannot serve: a peer
 * behind it is gone) or CANCELLED (chordctl never cancels its calls: gRPC
 * core does that to a request reaching a server as it shuts down, before
 * the node sees it), once more on another: the next owner in the view,
 * which no longer holds the first, or one from the supernode. A request
 * that changes nothing is tried up to READ_TRIES times within --timeout,
 * pausing from the third try on, so that a read through a ring that has
 * just lost a node waits for the ring to close over it. On 0, *res
 * holds the response decoded with desc (the caller clears it); otherwise
 * *res is clear and an exit code is returned after printing why, starting
 * with what (the action, e.g. `read "x"`). Main thread. */
static int64_t mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether method changes nothing (Read, Lookup): it may be tried again
 * whatever happened to the try before. */
static bool read_only(const char *method)
{
  const char *m = strrchr(method, '/');
  return m && (strcmp(m, "/Read") == 0 || strcmp(m, "/Lookup") == 0);
}

/* Sleeps before try t (from 0) of a read-only request: none before the
 * second (another node), then PAUSE_MS doubling, for the ring to close
 * over a node that died, within what is left of --timeout. False when no
 * time is left for another try. */
static bool pause_before(struct chordctl *ctl, int t, int64_t t0)
{
  int64_t left = ctl->timeout_ms - (mono_ms() - t0);
  int64_t ms = t < 2 ? 0 : (int64_t)PAUSE_MS << (t - 2);
  if (left <= ms + 100)
    return false;
  if (ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
  }
  return true;
}

int cluster_node_call(struct chordctl *ctl, const char *what, const char *name,
                      const char *method, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *desc,
                      struct rpc_result *res)
{
  char addr[ADDR_STR_MAX], prev[ADDR_STR_MAX];
  int tries = ctl->node ? 1 : read_only(method) ? READ_TRIES : 2, rc;
  int64_t t0 = mono_ms();

  memset(res, 0, sizeof(*res));
  for (int t = 0; t < tries; t++) {
    const char *target = ctl->node; /* NULL: ask the supernode */
    rc = direct_target(ctl, what, name, &target);
    if (rc)
      return rc;
    if (!ctl->node)
      ctl->last_route = target ? "direct" : "ring";
    if (!target) {
      rc = pick_node(ctl, t ? prev : NULL, addr);
      if (rc)
        return rc;
      target = addr;
    }
    snprintf(prev, sizeof(prev), "%s", target);
    if (cluster_call(ctl, prev, method, req, desc, res) == GRPC_STATUS_OK)
      return 0;
    bool retry = res->status.code == GRPC_STATUS_UNAVAILABLE ||
                 res->status.code == GRPC_STATUS_CANCELLED;
    /* The first try may have done its work before failing: the caller of
     * a change must read a NOT_FOUND from the retry in that light. */
    if (retry && !rpc_status_unsent(&res->status))
      ctl->retried_unsure = true;
    if (res->status.code == GRPC_STATUS_NOT_FOUND && ctl->retried_unsure &&
        ctl->unsure_notfound_ok) {
      rpc_result_clear(res);
      return OUTPUT_EXIT_NOTFOUND;
    }
    if (!retry || t + 1 == tries || !pause_before(ctl, t + 1, t0)) {
      rc = output_rpc_error(ctl, what, "node", prev, &res->status);
      rpc_result_clear(res);
      return rc;
    }
    /* The node itself is down or leaving (not one behind it): the view's
     * next owner of the name is its successor, which takes the keys
     * over. */
    if (ctl->route == ROUTE_DIRECT && !res->status.remote)
      ringview_forget(&ctl->view, prev);
    rpc_result_clear(res);
  }
  return OUTPUT_EXIT_FAILURE; /* not reached: the last try returns */
}

void cluster_learn_owner(struct chordctl *ctl, const Chord__V1__NodeInfo *owner)
{
  if (owner && ctl->view.loaded)
    ringview_learn(&ctl->view, owner->id.data, owner->id.len, owner->addr);
}
