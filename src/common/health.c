/* SPDX-License-Identifier: MIT */
/* The standard health service, unary Check only. */
#include "common/health.h"

#include <string.h>

#include "grpc/health/v1/health.pb-c.h"

struct health {
  const bool *serving;
  const char *const *names;
};

static void on_check(struct rpc_srv_call *call, const ProtobufCMessage *req,
                     void *ud)
{
  const struct health *h = ud;
  const Grpc__Health__V1__HealthCheckRequest *r =
      (const Grpc__Health__V1__HealthCheckRequest *)req;
  Grpc__Health__V1__HealthCheckResponse resp =
      GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
  bool known = r->service[0] == '\0';
  for (size_t i = 0; !known && h->names && h->names[i]; i++)
    known = strcmp(h->names[i], r->service) == 0;
  if (!known) {
    rpc_srv_reply_error(call, GRPC_STATUS_NOT_FOUND, "unknown service %s",
                        r->service);
    return;
  }
  resp.status =
      *h->serving
          ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
          : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
  rpc_srv_reply(call, &resp.base);
}

int health_add(struct rpc_server *s, const bool *serving,
               const char *const *names)
{
  /* One per process, for the process's lifetime. */
  static struct health h;
  static const rpc_handler_cb handlers[] = {on_check};
  h.serving = serving;
  h.names = names;
  return rpc_server_add_service(s, &grpc__health__v1__health__descriptor,
                                handlers, &h);
}
