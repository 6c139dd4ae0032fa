/* SPDX-License-Identifier: MIT */
/* chordctl's private header for reaching the cluster: one blocking call
 * with the --timeout deadline, and a call to any node, retried once. */
#ifndef CHORD_CLIENT_CLUSTER_H
#define CHORD_CLIENT_CLUSTER_H

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "client/chordctl.h"
#include "common/rpc.h"
#include "chord/v1/common.pb-c.h"

/* One blocking call of method on target; returns its status code. */
grpc_status_code cluster_call(struct chordctl *ctl, const char *target,
                              const char *method, const ProtobufCMessage *req,
                              const ProtobufCMessageDescriptor *desc,
                              struct rpc_result *res);
/* 0 when the supernode address is usable, else a usage error. */
int cluster_check_supernode(struct chordctl *ctl);
/* Calls method on --node, the owner of name (--route direct; name may be
 * NULL) or a picked node, retrying once on another. */
int cluster_node_call(struct chordctl *ctl, const char *what, const char *name,
                      const char *method, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *desc,
                      struct rpc_result *res);

/* What a reply says of the owner of the name it served refreshes the
 * ring view, when there is one. */
void cluster_learn_owner(struct chordctl *ctl,
                         const Chord__V1__NodeInfo *owner);

#endif
