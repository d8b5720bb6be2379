// Request and response translation between REST/JSON and protobuf bytes,
// driven by descriptors at run time (no generated code). Pure logic: the HTTP
// server and the gRPC client live in server.cc.
#ifndef LEADRELAY_GATEWAY_TRANSCODER_H_
#define LEADRELAY_GATEWAY_TRANSCODER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/gateway.h"
#include "gateway/routes.h"

namespace google::protobuf {
class DescriptorPool;
class DynamicMessageFactory;
class Message;
class SimpleDescriptorDatabase;
namespace util {
class TypeResolver;
}  // namespace util
}  // namespace google::protobuf

namespace leadrelay::gateway {

// How a server-streaming response is framed.
enum class StreamFraming { kJsonArray, kNewlineDelimited, kServerSentEvents };

// The Accept header picks the framing (text/event-stream: SSE,
// application/x-ndjson: NDJSON); otherwise the print options do (JSON array
// by default).
StreamFraming ChooseStreamFraming(const PrintOptions& options,
                                  absl::string_view accept_header);
absl::string_view StreamContentType(StreamFraming framing);
// The bytes for one message (`first`: the first one of the stream).
std::string FrameStreamMessage(StreamFraming framing, absl::string_view json,
                               bool first);
// The bytes that end a stream after `sent` messages; `error_json` is an
// in-band error object, sent as {"error": ...}.
std::string FrameStreamEnd(StreamFraming framing, int sent,
                           const std::optional<std::string>& error_json);

class Transcoder {
 public:
  // Loads the descriptor set named by `config` and builds the routes.
  static absl::StatusOr<std::unique_ptr<Transcoder>> Create(
      const GatewayConfig& config);
  ~Transcoder();

  // An upstream call, translated from an HTTP request.
  struct Call {
    const Route* route = nullptr;
    std::string message;  // serialized request
  };
  // Errors: NotFound (no route; `allowed` is then non-empty when other
  // methods match the path: answer 405), InvalidArgument (bad JSON, bad
  // parameter).
  absl::StatusOr<Call> TranscodeRequest(
      absl::string_view http_method, absl::string_view target,
      absl::string_view body, std::vector<std::string>* allowed) const;

  // JSON for a serialized response message of `route`'s method, honouring
  // response_body and the print options. ResourceExhausted when larger than
  // max_response_body_size.
  absl::StatusOr<std::string> TranscodeResponse(
      const Route& route, absl::string_view message) const;

  const GatewayConfig& config() const { return config_; }
  const RouteTable& routes() const { return *routes_; }
  const google::protobuf::DescriptorPool& pool() const { return *pool_; }

 private:
  Transcoder() = default;

  absl::StatusOr<std::string> BodyToBinary(const Route& route,
                                           absl::string_view body) const;
  absl::Status SetField(google::protobuf::Message* message,
                        const FieldPath& path, absl::string_view value) const;
  std::string TypeUrl(const google::protobuf::Descriptor* d) const;

  GatewayConfig config_;
  std::unique_ptr<google::protobuf::SimpleDescriptorDatabase> database_;
  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  std::unique_ptr<google::protobuf::util::TypeResolver> resolver_;
  std::unique_ptr<google::protobuf::DynamicMessageFactory> factory_;
  std::unique_ptr<RouteTable> routes_;
};

// OpenAPI 3.0 document (JSON) for the routes of `transcoder`.
std::string BuildOpenApiJson(const Transcoder& transcoder);

}  // namespace leadrelay::gateway

#endif  // LEADRELAY_GATEWAY_TRANSCODER_H_
