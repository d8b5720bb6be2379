// The REST routes of a set of gRPC services: their google.api.http rules
// (read from the descriptors at run time), and request matching with the
// spec's precedence. Pure logic, no I/O.
#ifndef LEADRELAY_GATEWAY_ROUTES_H_
#define LEADRELAY_GATEWAY_ROUTES_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "gateway/gateway.h"
#include "gateway/path_template.h"
#include "google/protobuf/descriptor.h"

namespace leadrelay::gateway {

using FieldPath = std::vector<const google::protobuf::FieldDescriptor*>;

// One HTTP binding of one method.
struct Route {
  const google::protobuf::MethodDescriptor* method = nullptr;
  std::string grpc_path;    // "/pkg.Service/Method"
  std::string http_method;  // "GET", "POST", ... or a custom kind
  std::string template_text;
  PathTemplate path;
  std::string body;  // "", "*" or a field path
  FieldPath body_field;
  std::string response_body;
  FieldPath response_body_field;
  std::vector<FieldPath> variable_fields;  // parallel to path.variables
};

// Resolves a dotted path of proto field names (JSON names are accepted too).
absl::StatusOr<FieldPath> ResolveFieldPath(
    const google::protobuf::Descriptor* message, absl::string_view dotted);

class RouteTable {
 public:
  // The routes of `services` in `pool` (their google.api.http options); with
  // `auto_mapping`, methods without a rule get POST /pkg.Service/Method with
  // body "*". Two bindings with the same HTTP method and the same template
  // shape (variable names aside) are refused, naming both methods.
  static absl::StatusOr<std::unique_ptr<RouteTable>> Build(
      const google::protobuf::DescriptorPool& pool,
      const std::vector<std::string>& services, bool auto_mapping);

  struct Match {
    const Route* route = nullptr;
    std::vector<VariableBinding> bindings;
  };
  // The most specific route for `http_method` and `path` (no query string).
  // When none matches but the path matches under other methods, fills
  // `allowed` (sorted, unique) so that the caller can answer 405.
  std::optional<Match> Find(absl::string_view http_method,
                            absl::string_view path, const GatewayConfig& config,
                            std::vector<std::string>* allowed) const;

  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  std::vector<std::unique_ptr<Route>> routes_;
  absl::flat_hash_set<std::string> verbs_;
};

}  // namespace leadrelay::gateway

#endif  // LEADRELAY_GATEWAY_ROUTES_H_
