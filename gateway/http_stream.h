// The HTTP/1.x side of a server stream: the response head sent as soon as the
// stream is open, chunked transfer coding (HTTP/1.1) or raw bytes until close
// (HTTP/1.0). Pure logic; the message framing itself (JSON array, NDJSON,
// SSE) is in transcoder.h.
#ifndef LEADRELAY_GATEWAY_HTTP_STREAM_H_
#define LEADRELAY_GATEWAY_HTTP_STREAM_H_

#include <string>

#include "absl/strings/string_view.h"
#include "gateway/http_mapping.h"
#include "gateway/transcoder.h"

namespace leadrelay::gateway {

// "HTTP/1.1 200 OK" and the headers of a stream response. `http_version` is
// 10 or 11; HTTP/1.0 and non-keep-alive streams say Connection: close.
std::string StreamResponseHead(unsigned http_version, StreamFraming framing,
                               const HeaderList& headers,
                               absl::string_view request_id, bool keep_alive);
// One chunk of body (HTTP/1.1), or the bytes as they are (HTTP/1.0). Empty
// data gives nothing (an empty chunk would end the body).
std::string EncodeChunk(unsigned http_version, absl::string_view data);
// The terminating chunk (HTTP/1.1), or nothing.
std::string LastChunk(unsigned http_version);

// A complete HTTP/1.1 response that closes the connection (Connection:
// close), for answers written before any request is read (over capacity).
std::string EncodeClosingResponse(const HttpReply& reply);

}  // namespace leadrelay::gateway

#endif  // LEADRELAY_GATEWAY_HTTP_STREAM_H_
