// Fuzzes REST -> gRPC request transcoding over leadrelay's real API
// (gateway/envoy.yaml + the generated descriptor set): route lookup, path
// variables, query parameters and JSON bodies.
// Input: "METHOD TARGET" on the first line, the body after it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "fuzz_gateway.h"
#include "gateway/transcoder.h"
#include "google/protobuf/dynamic_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const leadrelay::gateway::Transcoder& transcoder =
      leadrelay::fuzz::FuzzTranscoder();
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::string_view line = input.substr(0, input.find('\n'));
  absl::string_view body =
      line.size() < input.size() ? input.substr(line.size() + 1) : "";
  size_t space = line.find(' ');
  if (space == absl::string_view::npos) return 0;
  absl::string_view method = line.substr(0, space);
  absl::string_view target = line.substr(space + 1);

  std::vector<std::string> allowed;
  auto call = transcoder.TranscodeRequest(method, target, body, &allowed);
  if (!call.ok()) {
    // The server answers anything else with 500: a client must not be
    // able to cause that.
    if (!absl::IsNotFound(call.status()) &&
        !absl::IsInvalidArgument(call.status())) {
      std::fprintf(stderr, "unexpected status: %s\n",
                   call.status().ToString().c_str());
      std::abort();
    }
    return 0;
  }
  // What the gateway forwards must be a valid message of the method's input
  // type (the server would otherwise fail to parse it).
  google::protobuf::DynamicMessageFactory factory(&transcoder.pool());
  std::unique_ptr<google::protobuf::Message> message(
      factory.GetPrototype(call->route->method->input_type())->New());
  if (!message->ParseFromString(call->message)) {
    std::fprintf(stderr, "forwarded bytes do not parse as %s\n",
                 call->route->method->input_type()->full_name().c_str());
    std::abort();
  }
  return 0;
}
