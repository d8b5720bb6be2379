#include "gateway/http_stream.h"

#include "absl/strings/str_cat.h"

namespace leadrelay::gateway {

std::string StreamResponseHead(unsigned http_version, StreamFraming framing,
                               const HeaderList& headers,
                               absl::string_view request_id, bool keep_alive) {
  const bool http10 = http_version == 10;
  std::string head = absl::StrCat(
      "HTTP/1.", http10 ? "0" : "1",
      " 200 OK\r\nContent-Type: ", StreamContentType(framing), "\r\n");
  if (!http10) absl::StrAppend(&head, "Transfer-Encoding: chunked\r\n");
  // Intermediaries must neither cache nor buffer a live stream.
  absl::StrAppend(&head, "Cache-Control: no-cache\r\n");
  for (const auto& [name, value] : headers) {
    absl::StrAppend(&head, name, ": ", value, "\r\n");
  }
  if (!request_id.empty())
    absl::StrAppend(&head, "X-Request-Id: ", request_id, "\r\n");
  if (http10 || !keep_alive) absl::StrAppend(&head, "Connection: close\r\n");
  absl::StrAppend(&head, "\r\n");
  return head;
}

std::string EncodeChunk(unsigned http_version, absl::string_view data) {
  if (http_version == 10 || data.empty()) return std::string(data);
  return absl::StrCat(absl::Hex(data.size()), "\r\n", data, "\r\n");
}

std::string LastChunk(unsigned http_version) {
  return http_version == 10 ? "" : "0\r\n\r\n";
}

std::string EncodeClosingResponse(const HttpReply& reply) {
  absl::string_view phrase = reply.status == 503   ? "Service Unavailable"
                             : reply.status == 400 ? "Bad Request"
                                                   : "Error";
  std::string out =
      absl::StrCat("HTTP/1.1 ", reply.status, " ", phrase,
                   "\r\nContent-Type: ", reply.content_type,
                   "\r\nContent-Length: ", reply.body.size(), "\r\n");
  for (const auto& [name, value] : reply.headers) {
    absl::StrAppend(&out, name, ": ", value, "\r\n");
  }
  absl::StrAppend(&out, "Connection: close\r\n\r\n", reply.body);
  return out;
}

}  // namespace leadrelay::gateway
