// Fuzzes the gateway's HTTP/1.1 request handling without sockets: the
// Boost.Beast request parser configured as gateway/server.cc configures it
// (header and body limits), then, for a complete request, the pure steps the
// server runs on it (route and transcode, header -> metadata mapping,
// grpc-timeout parsing, stream framing choice, error replies).
// Input: raw request bytes as a client would send them.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz_gateway.h"
#include "gateway/http_mapping.h"
#include "gateway/transcoder.h"

namespace {

namespace http = boost::beast::http;
using leadrelay::gateway::HeaderList;

// gateway/server.cc's limits (header_limit; body_limit from envoy.yaml).
constexpr uint32_t kHeaderLimit = 64 * 1024;

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const leadrelay::gateway::Transcoder& transcoder =
      leadrelay::fuzz::FuzzTranscoder();
  http::request_parser<http::string_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(transcoder.config().max_request_body_size);
  parser.eager(true);

  // Everything is offered at once, as if it all arrived in one read; the
  // end of the input is the end of the connection.
  boost::beast::error_code ec;
  boost::asio::const_buffer rest(data, size);
  while (!parser.is_done()) {
    if (rest.size() == 0) {
      parser.put_eof(ec);
      break;
    }
    size_t used = parser.put(rest, ec);
    rest += used;
    if (ec == http::error::need_more) {
      ec = {};
      if (used == 0) rest = {};  // more is needed than the input has
      continue;
    }
    if (ec || used == 0) break;
  }
  if (ec || !parser.is_done()) {
    // The server answers a malformed request with a 400 naming the error.
    auto reply = leadrelay::gateway::GatewayErrorReply(
        400, "invalid_request",
        absl::StrCat("malformed HTTP request: ", ec.message()));
    Check(reply.status == 400 && !reply.body.empty());
    return 0;
  }

  const http::request<http::string_body>& req = parser.get();
  const std::string method(req.method_string());
  absl::string_view target(req.target().data(), req.target().size());
  std::vector<std::string> allowed;
  auto call = transcoder.TranscodeRequest(method, target, req.body(), &allowed);
  if (!call.ok()) {
    auto reply = leadrelay::gateway::GatewayErrorReply(400, "invalid_request",
                                                       call.status().message());
    Check(!reply.body.empty());
    return 0;
  }
  HeaderList headers;
  for (const auto& field : req.base()) {
    headers.emplace_back(std::string(field.name_string()),
                         std::string(field.value()));
  }
  HeaderList metadata = leadrelay::gateway::MetadataFromHeaders(headers);
  for (const auto& [name, value] : metadata) {
    // gRPC rejects (and would fail the call on) keys that are not lower-case
    // tokens and ASCII values with control characters.
    Check(!name.empty());
    for (char c : name) {
      Check((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '_' || c == '.');
    }
    for (char c : value) Check(c >= 0x20 && c < 0x7f);
  }
  if (auto timeout = req["grpc-timeout"]; !timeout.empty()) {
    leadrelay::gateway::ParseGrpcTimeout(
        absl::string_view(timeout.data(), timeout.size()));
  }
  auto accept = req[http::field::accept];
  leadrelay::gateway::ChooseStreamFraming(
      transcoder.config().print_options,
      absl::string_view(accept.data(), accept.size()));
  return 0;
}
