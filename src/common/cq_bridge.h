/* SPDX-License-Identifier: MIT */
/* Hands gRPC completion-queue events to a libuv loop: one thread blocks in
 * grpc_completion_queue_next and queues each finished tag; the loop thread
 * runs the tags' callbacks. The only module that crosses threads. */
#ifndef CHORD_CQ_BRIDGE_H
#define CHORD_CQ_BRIDGE_H

#include <stdbool.h>

#include <grpc/grpc.h>
#include <uv.h>

struct cq_tag;
/* Runs on the loop thread; ok is the event's success flag. */
typedef void (*cq_tag_cb)(struct cq_tag *tag, bool ok);

/* Embed one in every object whose address is passed to gRPC as a tag. */
struct cq_tag {
  cq_tag_cb cb;
};

struct cq_bridge;
typedef void (*cq_bridge_done_cb)(void *ud);

/* Creates the completion queue, its polling thread and the loop's poll
 * handle. NULL on failure. Call on the loop thread. */
struct cq_bridge *cq_bridge_create(uv_loop_t *loop);
/* The loop the bridge hands events to. */
uv_loop_t *cq_bridge_loop(struct cq_bridge *b);
/* The completion queue to bind calls and server slots to. */
grpc_completion_queue *cq_bridge_cq(struct cq_bridge *b);
/* Shuts the queue down. Once every pending tag has run and the polling
 * thread has ended, closes the handle and calls done(ud) on the loop; the
 * bridge is freed right after done returns. No new operation may be
 * started on the queue once this is called. */
void cq_bridge_shutdown(struct cq_bridge *b, cq_bridge_done_cb done, void *ud);

#endif
