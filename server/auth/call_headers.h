// A gRPC call's request headers (its client metadata), as the
// authorization code and the services read them.
#ifndef LEADRELAY_SERVER_AUTH_CALL_HEADERS_H_
#define LEADRELAY_SERVER_AUTH_CALL_HEADERS_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"

namespace leadrelay::auth {

// The value of header `name` (lower case, as gRPC keeps them), or nullopt
// when the call has none. Valid while the call is.
inline std::optional<absl::string_view> CallHeader(
    const grpc::ServerContextBase& context, absl::string_view name) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(name.data(), name.size()));
  if (it == metadata.end()) return std::nullopt;
  return absl::string_view(it->second.data(), it->second.size());
}

}  // namespace leadrelay::auth

#endif  // LEADRELAY_SERVER_AUTH_CALL_HEADERS_H_
