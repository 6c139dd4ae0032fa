/* SPDX-License-Identifier: MIT */
/* The standard health service, unary Check only. */
#include "common/health.h"

#include <string.h>

#include "common/auth.h"
#include "grpc/health/v1/health.pb-c.h"

struct health {
  const bool *serving, *exhausted;
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
      *h->serving && !*h->exhausted
          ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
          : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
  rpc_srv_reply(call, &resp.base);
}

int health_add(struct rpc_server *s, const bool *serving, const bool *exhausted,
               const char *const *names)
{
  /* One per process, for the process's lifetime. */
  static struct health h;
  static const rpc_handler_cb handlers[] = {on_check};
  /* Open to all: probes (an orchestrator's, a load balancer's) carry no
   * token. It tells nothing but SERVING or not. */
  static const unsigned char open[] = {AUTH_OPEN};
  h.serving = serving;
  h.exhausted = exhausted;
  h.names = names;
  int rc = rpc_server_add_service(s, &grpc__health__v1__health__descriptor,
                                  handlers, &h);
  if (!rc)
    rpc_server_guard(s, &grpc__health__v1__health__descriptor, open);
  return rc;
}
