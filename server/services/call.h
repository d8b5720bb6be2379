// The frame of every unary handler: authorize against the method's declared
// policy, run the body, translate the status.
#ifndef LEADRELAY_SERVER_SERVICES_CALL_H_
#define LEADRELAY_SERVER_SERVICES_CALL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "auth/authorizer.h"
#include "crypto/secret_box.h"
#include "delivery/dispatcher.h"
#include "grpcpp/server_context.h"
#include "services/grpc_status.h"
#include "store/pg.h"
#include "stream/event_hub.h"

namespace leadrelay {

struct ServiceOptions {
  // Hosts that may receive webhooks over http (local development, tests).
  std::vector<std::string> allowed_webhook_hosts;
  absl::Duration secret_rotation_grace = absl::Hours(24);
};

struct ServiceDeps {
  store::Pool* pool;
  auth::Authorizer* authorizer;
  ServiceOptions options;
  // Sends test deliveries; null when this process runs no dispatcher.
  delivery::Dispatcher* dispatcher = nullptr;
  stream::EventHub* hub = nullptr;
  // Encrypts webhook secrets at rest.
  const crypto::SecretBox* secret_box = nullptr;
};

template <typename Body>
grpc::Status Serve(const ServiceDeps& deps, grpc::ServerContext* context,
                   absl::string_view method, Body&& body) {
  absl::StatusOr<auth::Caller> caller =
      deps.authorizer->Authorize(*context, method);
  absl::Status status = caller.ok() ? body(*caller) : caller.status();
  return ToGrpcStatus(status, method);
}

}  // namespace leadrelay

#endif  // LEADRELAY_SERVER_SERVICES_CALL_H_
