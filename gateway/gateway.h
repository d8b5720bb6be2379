// REST <-> gRPC gateway: serves the google.api.http rules of the configured
// services as REST/JSON over HTTP/1.1 and forwards each request as a generic
// gRPC call (raw bytes) to an upstream channel. It knows nothing of any
// particular API: everything comes from a descriptor set and an Envoy-style
// grpc_json_transcoder configuration.
//
// Usage:
//   absl::StatusOr<GatewayConfig> config =
//   LoadGatewayConfig("gateway/envoy.yaml"); config->proto_descriptor =
//   "build/leadrelay.pb";  // optional override auto gateway =
//   StartGateway(*config, channel, "127.0.0.1:8080");
//   ... gateway.value()->port() ...
//   gateway.value()->Shutdown();
#ifndef LEADRELAY_GATEWAY_GATEWAY_H_
#define LEADRELAY_GATEWAY_GATEWAY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace leadrelay::gateway {

// How path variables are percent-decoded (Envoy's url_unescape_spec).
enum class UrlUnescapeSpec {
  // RFC 6570 reserved characters stay percent-encoded (Envoy's default).
  kAllCharactersExceptReserved,
  // Everything is decoded, except "%2F" inside multi-segment variables
  // (google.api.http's own rule).
  kAllCharactersExceptSlash,
  // Everything is decoded.
  kAllCharacters,
};

// Envoy's grpc_json_transcoder print_options.
struct PrintOptions {
  bool add_whitespace = false;
  bool always_print_primitive_fields = false;
  bool always_print_enums_as_ints = false;
  bool preserve_proto_field_names = false;
  bool stream_newline_delimited = false;
  bool stream_sse_style_delimited = false;
};

// A request to an extra (non-gRPC) route; see GatewayConfig::extra_routes.
struct HttpRequestInfo {
  std::string method;  // "GET", "HEAD", ...
  std::string path;    // without the query string
  std::string query;   // after '?', still percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpResponseInfo {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;  // dropped (Content-Length kept) when answering HEAD
  std::vector<std::pair<std::string, std::string>> headers;
};

// Answers an extra route. Runs on an I/O thread: it must not block (no
// upstream calls, no database); copy what it needs beforehand.
using HttpHandler = std::function<HttpResponseInfo(const HttpRequestInfo&)>;

// Limits of the HTTP server against slow or hostile clients.
struct HttpServerLimits {
  // Open connections; past this a new one gets 503 over_capacity (with
  // Retry-After: 1 and Connection: close) without its request being read.
  int max_connections = 1024;
  // From accept (or the first byte of a later request) to the end of the
  // request headers; past it the connection is closed.
  absl::Duration header_timeout = absl::Seconds(10);
  // A keep-alive connection waiting for its next request; then closed.
  absl::Duration idle_timeout = absl::Seconds(60);
  // From the end of the headers to the end of the body; past it the
  // connection is closed.
  absl::Duration body_timeout = absl::Seconds(30);
};

// The fields of Envoy's grpc_json_transcoder filter config (v3) that the
// gateway honours, plus a few gateway-only settings at the end.
struct GatewayConfig {
  // Path of a FileDescriptorSet (protoc --include_imports).
  std::string proto_descriptor;
  // Or the FileDescriptorSet itself (takes precedence when non-empty).
  std::string proto_descriptor_bin;
  // Fully qualified service names to expose.
  std::vector<std::string> services;
  PrintOptions print_options;
  // Methods without a google.api.http rule answer POST /pkg.Service/Method.
  bool auto_mapping = false;
  std::vector<std::string> ignored_query_parameters;
  bool ignore_unknown_query_parameters = false;
  // Error bodies are the google.rpc.Status JSON instead of
  // {"code": "...", "message": "..."}.
  bool convert_grpc_status = false;
  UrlUnescapeSpec url_unescape_spec =
      UrlUnescapeSpec::kAllCharactersExceptReserved;
  bool query_param_unescape_plus = false;
  bool match_unregistered_custom_verb = false;
  // request_validation_options. The gateway has no pass-through upstream, so
  // an unknown method is always 404 and an unknown query parameter always 400
  // (unless ignored); the flags are accepted for Envoy compatibility.
  bool reject_unknown_method = false;
  bool reject_unknown_query_parameters = false;
  bool reject_binding_body_field_collisions = false;
  bool case_insensitive_enum_parsing = false;
  // 0: the gateway default (8 MiB) for requests, unlimited for responses.
  uint32_t max_request_body_size = 0;
  uint32_t max_response_body_size = 0;

  // Gateway-only settings (not part of the Envoy filter).
  int io_threads = 2;
  std::string openapi_path = "/openapi.json";
  // PEM certificate chain and private key. When both are set the listener
  // speaks HTTPS only; when both are empty, plain HTTP. One without the
  // other, or a file that does not load, makes StartGateway fail.
  std::string tls_cert_file;
  std::string tls_key_file;
  HttpServerLimits limits;
  // Extra routes served by the same HTTP server ahead of the transcoded
  // ones, for health probes, /metrics, static console files and the like.
  // A key is an exact path ("/healthz"), or a prefix when it ends with '/'
  // ("/console/" takes "/console/app.js"); the longest key that applies
  // wins. Every method reaches the handler; HEAD answers carry no body.
  // openapi_path is served the same way (GET/HEAD).
  std::map<std::string, HttpHandler> extra_routes;
};

// Reads the grpc_json_transcoder block of an Envoy bootstrap (YAML or JSON),
// or a file holding just that block's fields.
absl::StatusOr<GatewayConfig> LoadGatewayConfig(
    const std::string& envoy_yaml_path);
// Same, from text.
absl::StatusOr<GatewayConfig> ParseGatewayConfig(const std::string& text);

class Gateway {
 public:
  virtual ~Gateway();
  // The bound TCP port.
  virtual int port() const = 0;
  // Stops accepting, cancels in-flight calls and joins the I/O threads.
  // Idempotent; the destructor calls it.
  virtual void Shutdown() = 0;
};

// Serves HTTP (HTTPS when config has a certificate) on `listen_address`
// ("127.0.0.1:0" picks a free port), forwarding to `upstream`.
absl::StatusOr<std::unique_ptr<Gateway>> StartGateway(
    const GatewayConfig& config, std::shared_ptr<grpc::Channel> upstream,
    const std::string& listen_address);

}  // namespace leadrelay::gateway

#endif  // LEADRELAY_GATEWAY_GATEWAY_H_
