#include "gateway/connection.h"

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <random>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/http_stream.h"

namespace leadrelay::gateway {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr size_t kMaxBufferedWhileStreaming = 64 * 1024;
constexpr uint32_t kMaxHeaderBytes = 64 * 1024;
constexpr auto kTlsShutdownTimeout = std::chrono::seconds(5);
// See OnStreamHeaders.
constexpr auto kStreamHeadDelay = std::chrono::milliseconds(50);

std::chrono::steady_clock::duration Chrono(absl::Duration d) {
  return absl::ToChronoNanoseconds(d);
}

std::string NewRequestId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return absl::StrFormat("%016x", rng());
}

absl::string_view View(beast::string_view s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace

HttpConnection::HttpConnection(tcp::socket socket,
                               std::shared_ptr<ServerState> state)
    : stream_(std::move(socket), state->tls.get()), state_(std::move(state)) {}

HttpConnection::~HttpConnection() { --state_->connections; }

net::any_io_executor HttpConnection::executor() {
  return stream_.get_executor();
}

void HttpConnection::Start() {
  net::dispatch(stream_.get_executor(),
                [self = shared_from_this()] { self->DoStart(); });
}

// TLS: the handshake comes before the first request, under the header
// timeout. A client that does not speak TLS fails it and is dropped.
void HttpConnection::DoStart() {
  if (!stream_.is_tls()) return ReadHeader();
  stream_.tcp_layer().expires_after(Chrono(state_->limits.header_timeout));
  stream_.AsyncHandshake([self = shared_from_this()](beast::error_code ec) {
    if (ec) return self->CloseNow();
    self->ReadHeader();
  });
}

// Keep-alive: wait (idle timeout) for the first byte of the next request,
// then give its headers the header timeout.
void HttpConnection::WaitForNextRequest() {
  if (buffer_.size() > 0) return ReadHeader();
  stream_.tcp_layer().expires_after(Chrono(state_->limits.idle_timeout));
  stream_.async_read_some(
      buffer_.prepare(4096),
      [self = shared_from_this()](beast::error_code ec, size_t n) {
        if (ec) return self->CloseNow();
        self->buffer_.commit(n);
        self->ReadHeader();
      });
}

void HttpConnection::ReadHeader() {
  parser_.emplace();
  parser_->body_limit(state_->max_request_body);
  parser_->header_limit(kMaxHeaderBytes);
  head_ = false;
  stream_.tcp_layer().expires_after(Chrono(state_->limits.header_timeout));
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) {
        self->OnHeader(ec);
      });
}

void HttpConnection::OnHeader(beast::error_code ec) {
  if (ec) return OnReadError(ec);
  started_ = absl::Now();
  route_label_ = "unmatched";
  const auto& req = parser_->get();
  version_ = req.version();
  keep_alive_ = req.keep_alive();
  head_ = req.method() == http::verb::head;
  if (absl::string_view te = View(req[http::field::transfer_encoding]);
      !IsSupportedTransferEncoding(te)) {
    keep_alive_ = false;  // the body's framing is unknown: drop the rest
    return SendReply(UnsupportedTransferEncodingReply(te));
  }
  if (auto length = parser_->content_length();
      length && *length > state_->max_request_body) {
    keep_alive_ = false;
    return SendReply(PayloadTooLargeReply(state_->max_request_body));
  }
  if (absl::EqualsIgnoreCase(View(req[http::field::expect]), "100-continue")) {
    continue_ = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(continue_),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->CloseNow();
                       self->ReadBody();
                     });
    return;
  }
  ReadBody();
}

void HttpConnection::ReadBody() {
  stream_.tcp_layer().expires_after(Chrono(state_->limits.body_timeout));
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) {
                     if (ec) return self->OnReadError(ec);
                     self->stream_.tcp_layer().expires_never();
                     self->Handle(self->parser_->release());
                   });
}

void HttpConnection::OnReadError(beast::error_code ec) {
  // A timeout has already closed the socket (beast::tcp_stream).
  if (ec == beast::error::timeout) return CloseNow();
  if (ec == http::error::body_limit) {
    keep_alive_ = false;
    return SendReply(PayloadTooLargeReply(state_->max_request_body));
  }
  if (ec.category() ==
          http::make_error_code(http::error::bad_target).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message) {
    keep_alive_ = false;
    version_ = 11;
    return SendReply(MalformedRequestReply(ec.message()));
  }
  Close();
}

// Ends the connection; over TLS with a close_notify first, unless a read is
// still pending (the disconnect watch) or the socket already failed.
void HttpConnection::Close() {
  if (!stream_.is_tls() || watching_ || client_gone_) return CloseNow();
  stream_.tcp_layer().expires_after(kTlsShutdownTimeout);
  stream_.AsyncShutdown(
      [self = shared_from_this()](beast::error_code) { self->CloseNow(); });
}

void HttpConnection::CloseNow() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
}

bool HttpConnection::ServeExtraRoute(const Request& req,
                                     absl::string_view path) {
  std::string key;
  const HttpHandler* handler = state_->FindExtraRoute(path, &key);
  if (handler == nullptr) return false;
  HttpRequestInfo info;
  info.method = std::string(req.method_string());
  route_label_ = absl::StrCat(info.method, " ", key);
  info.path = std::string(path);
  absl::string_view target = View(req.target());
  if (size_t q = target.find('?'); q != absl::string_view::npos) {
    info.query = std::string(target.substr(q + 1));
  }
  for (const auto& field : req.base()) {
    info.headers.emplace_back(std::string(field.name_string()),
                              std::string(field.value()));
  }
  info.body = req.body();
  HttpResponseInfo answer = (*handler)(info);
  HttpReply reply;
  reply.status = answer.status;
  reply.content_type = std::move(answer.content_type);
  reply.body = std::move(answer.body);
  reply.headers = std::move(answer.headers);
  SendReply(std::move(reply));
  return true;
}

void HttpConnection::Handle(Request req) {
  request_id_ = std::string(req["x-request-id"]);
  if (request_id_.empty()) request_id_ = NewRequestId();
  const std::string method(req.method_string());
  const absl::string_view target = View(req.target());
  if (ServeExtraRoute(req, target.substr(0, target.find('?')))) return;

  // HEAD is answered like GET (same status and headers), without the body.
  const Transcoder& transcoder = *state_->transcoder;
  std::vector<std::string> allowed;
  auto call = transcoder.TranscodeRequest(head_ ? "GET" : method, target,
                                          req.body(), &allowed);
  if (!call.ok()) {
    return SendReply(TranscodeErrorReply(call.status(), method, allowed));
  }
  if (head_ && call->route->method->server_streaming()) {
    // A stream's headers promise a stream: HEAD is not offered there.
    return SendReply(
        TranscodeErrorReply(absl::NotFoundError("no HEAD"), method, {"GET"}));
  }

  HeaderList headers;
  for (const auto& field : req.base()) {
    headers.emplace_back(std::string(field.name_string()),
                         std::string(field.value()));
  }
  route_label_ =
      absl::StrCat(call->route->http_method, " ", call->route->template_text);
  UpstreamRequest upstream;
  upstream.route = call->route;
  upstream.metadata = MetadataFromHeaders(headers);
  AddTrustedMetadata(&upstream.metadata);
  if (req["x-request-id"].empty()) {
    upstream.metadata.emplace_back("x-request-id", request_id_);
  }
  if (auto value = req["grpc-timeout"]; !value.empty()) {
    upstream.timeout = ParseGrpcTimeout(View(value));
    if (!upstream.timeout) {
      return SendReply(GatewayErrorReply(400, "invalid_request",
                                         "invalid grpc-timeout header"));
    }
  }
  upstream.message = std::move(call->message);
  if (call->route->method->server_streaming()) {
    StartStream(*call, std::move(upstream), View(req[http::field::accept]));
  } else {
    StartUnary(*call, std::move(upstream));
  }
}

void HttpConnection::StartUnary(const Transcoder::Call& call,
                                UpstreamRequest request) {
  route_ = call.route;
  request_bytes_ = request.message.size();
  if (!StartUnaryCall(state_->stub.get(), &state_->registry, shared_from_this(),
                      request)) {
    SendReply(ShuttingDownReply());
  }
}

void HttpConnection::OnUnaryDone(grpc::Status status, std::string response,
                                 HeaderList metadata) {
  HttpReply reply;
  const Transcoder& transcoder = *state_->transcoder;
  if (!status.ok()) {
    reply = ErrorReplyFromGrpc(
        status.error_code(), status.error_message(), status.error_details(),
        transcoder.config().convert_grpc_status, request_bytes_);
  } else if (auto json = transcoder.TranscodeResponse(*route_, response);
             json.ok()) {
    reply.body = *std::move(json);
  } else {
    reply = ResponseErrorReply(json.status());
  }
  AddMetadataHeaders(metadata, &reply.headers);
  SendReply(std::move(reply));
}

void HttpConnection::AddMetadataHeaders(const HeaderList& metadata,
                                        HeaderList* out) {
  for (auto& header : HeadersFromMetadata(metadata)) {
    if (header.first == "x-request-id") continue;
    out->push_back(std::move(header));
  }
}

void HttpConnection::AddTrustedMetadata(HeaderList* metadata) {
  // The server throttles invalid API keys per client address and believes
  // this header only from the gateway.
  static constexpr char kClientAddress[] = "x-leadrelay-client-address";
  auto trusted = [&](const std::string& name) {
    if (name == kClientAddress) return true;
    for (const auto& fixed : state_->upstream_metadata) {
      if (name == fixed.first) return true;
    }
    return false;
  };
  metadata->erase(
      std::remove_if(metadata->begin(), metadata->end(),
                     [&](const auto& entry) { return trusted(entry.first); }),
      metadata->end());
  metadata->insert(metadata->end(), state_->upstream_metadata.begin(),
                   state_->upstream_metadata.end());
  beast::error_code ec;
  tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
  if (!ec) metadata->emplace_back(kClientAddress, remote.address().to_string());
}

void HttpConnection::Observe(int status) {
  if (state_->on_request) {
    state_->on_request(
        {route_label_, status, absl::Now() - started_, request_id_});
  }
}

void HttpConnection::SendReply(HttpReply reply) {
  Observe(reply.status);
  auto res = std::make_shared<http::response<http::string_body>>();
  res->result(static_cast<unsigned>(reply.status));
  res->version(version_ == 10 ? 10 : 11);
  res->set(http::field::content_type, reply.content_type);
  for (const auto& [name, value] : reply.headers) res->insert(name, value);
  if (!request_id_.empty()) res->set("X-Request-Id", request_id_);
  res->keep_alive(keep_alive_);
  res->body() = std::move(reply.body);
  res->prepare_payload();
  // HEAD: the Content-Length a GET would have, and no body, ever.
  if (head_) res->body().clear();
  http::async_write(
      stream_, *res,
      [self = shared_from_this(), res](beast::error_code ec, size_t) {
        self->AfterResponse(ec);
      });
}

// After a complete response: next request, or close.
void HttpConnection::AfterResponse(beast::error_code ec) {
  request_id_.clear();
  head_ = false;
  if (ec || !keep_alive_) return Close();
  if (watching_) {
    // Stop the disconnect watch; its completion starts the next request
    // (bytes it already got, e.g. a pipelined request, stay in buffer_).
    resume_after_watch_ = true;
    beast::error_code ignored;
    stream_.socket().cancel(ignored);
    return;
  }
  WaitForNextRequest();
}

// --- server streaming -------------------------------------------------------

void HttpConnection::StartStream(const Transcoder::Call& call,
                                 UpstreamRequest request,
                                 absl::string_view accept) {
  route_ = call.route;
  framing_ =
      ChooseStreamFraming(state_->transcoder->config().print_options, accept);
  sent_ = 0;
  headers_sent_ = false;
  client_gone_ = false;
  local_error_.reset();
  stream_call_ =
      std::make_shared<StreamCall>(shared_from_this(), &state_->registry);
  if (!stream_call_->Start(state_->stub.get(), request)) {
    stream_call_.reset();
    return SendReply(ShuttingDownReply());
  }
  streaming_ = true;
  Watch();
}

// The response head, the first time only (empty afterwards).
std::string HttpConnection::TakeStreamHead(const HeaderList& metadata) {
  if (headers_sent_) return "";
  headers_sent_ = true;
  HeaderList headers;
  AddMetadataHeaders(metadata, &headers);
  if (version_ == 10) keep_alive_ = false;
  return StreamResponseHead(version_, framing_, headers, request_id_,
                            keep_alive_);
}

void HttpConnection::QueueWrite(std::string bytes,
                                std::function<void(beast::error_code)> then) {
  writes_.emplace_back(std::move(bytes), std::move(then));
  if (!writing_) WriteNext();
}

void HttpConnection::WriteNext() {
  writing_ = true;
  net::async_write(stream_, net::buffer(writes_.front().first),
                   [self = shared_from_this()](beast::error_code ec, size_t) {
                     auto then = std::move(self->writes_.front().second);
                     self->writes_.pop_front();
                     self->writing_ = false;
                     then(ec);
                     if (!self->writing_ && !self->writes_.empty())
                       self->WriteNext();
                   });
}

void HttpConnection::OnStreamWriteFailed() {
  client_gone_ = true;
  if (stream_call_) stream_call_->Cancel();
}

// The upstream accepted the stream: the client learns it at once, before
// the first event or heartbeat.
void HttpConnection::OnStreamHeaders(HeaderList metadata) {
  if (!streaming_ || headers_sent_ || client_gone_) return;
  // A refused stream (429 too_many_streams, 401...) sends its headers and
  // its status together: wait a moment before promising a 200, so that a
  // refusal still gets its own HTTP status. An accepted stream's client
  // learns it is connected within kStreamHeadDelay, not at the first event.
  pending_head_ = std::move(metadata);
  head_timer_ = std::make_shared<net::steady_timer>(executor());
  head_timer_->expires_after(kStreamHeadDelay);
  head_timer_->async_wait(
      [self = shared_from_this(), timer = head_timer_](beast::error_code ec) {
        if (ec || timer != self->head_timer_) return;
        if (!self->streaming_ || self->headers_sent_ || self->client_gone_)
          return;
        self->QueueWrite(self->TakeStreamHead(self->pending_head_),
                         [self](beast::error_code ec) {
                           if (ec) self->OnStreamWriteFailed();
                         });
      });
}

void HttpConnection::OnStreamRead(bool ok, std::string bytes,
                                  HeaderList metadata) {
  if (!ok || client_gone_ || local_error_) return stream_call_->Release();
  const Transcoder& transcoder = *state_->transcoder;
  auto json = transcoder.TranscodeResponse(*route_, bytes);
  if (!json.ok()) {
    local_error_ = ResponseErrorReply(json.status());
    stream_call_->Cancel();
    return stream_call_->Release();
  }
  // The upstream's headers may have come first (OnStreamHeaders).
  std::string data =
      TakeStreamHead(metadata.empty() ? pending_head_ : metadata) +
      EncodeChunk(version_, FrameStreamMessage(framing_, *json, sent_ == 0));
  ++sent_;
  QueueWrite(std::move(data),
             [self = shared_from_this()](beast::error_code ec) {
               if (ec) self->OnStreamWriteFailed();
               if (self->stream_call_ == nullptr) return;
               if (self->client_gone_ || self->local_error_) {
                 return self->stream_call_->Release();
               }
               self->stream_call_->Next();
             });
}

void HttpConnection::OnStreamDone(grpc::Status status, HeaderList metadata) {
  streaming_ = false;
  stream_call_.reset();
  if (client_gone_) return Close();
  const bool convert = state_->transcoder->config().convert_grpc_status;
  if (!headers_sent_) {
    HttpReply reply;
    if (local_error_) {
      reply = *local_error_;
    } else if (!status.ok()) {
      reply = ErrorReplyFromGrpc(status.error_code(), status.error_message(),
                                 status.error_details(), convert);
    } else {
      reply.content_type = std::string(StreamContentType(framing_));
      reply.body = FrameStreamEnd(framing_, 0, std::nullopt);
    }
    AddMetadataHeaders(metadata.empty() ? pending_head_ : metadata,
                       &reply.headers);
    return SendReply(std::move(reply));
  }
  std::optional<std::string> error;
  if (local_error_) {
    error = local_error_->body;
  } else if (!status.ok()) {
    error = ErrorJsonFromGrpc(status.error_code(), status.error_message(),
                              status.error_details(), convert);
  }
  Observe(200);
  std::string tail =
      EncodeChunk(version_, FrameStreamEnd(framing_, sent_, error));
  tail += LastChunk(version_);
  QueueWrite(std::move(tail),
             [self = shared_from_this()](beast::error_code ec) {
               self->AfterResponse(ec);
             });
}

// Keeps a read pending on the socket while streaming, to notice a client
// that goes away. Bytes that arrive (a pipelined request) are kept.
void HttpConnection::Watch() {
  watching_ = true;
  stream_.async_read_some(
      buffer_.prepare(4096),
      [self = shared_from_this()](beast::error_code ec, size_t n) {
        self->OnWatch(ec, n);
      });
}

void HttpConnection::OnWatch(beast::error_code ec, size_t n) {
  watching_ = false;
  if (!ec) {
    buffer_.commit(n);
    if (streaming_) {
      if (buffer_.size() < kMaxBufferedWhileStreaming) Watch();
    } else if (resume_after_watch_) {
      resume_after_watch_ = false;
      WaitForNextRequest();
    }
    return;
  }
  if (streaming_) {
    client_gone_ = true;
    if (stream_call_) stream_call_->Cancel();
  } else if (resume_after_watch_) {
    resume_after_watch_ = false;
    if (ec == net::error::operation_aborted) return WaitForNextRequest();
    Close();
  }
}

}  // namespace leadrelay::gateway
