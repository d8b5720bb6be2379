// One HTTP/1.1 connection of the gateway: reads requests under the server's
// timeouts, answers extra routes, transcodes the rest into upstream calls
// (upstream_call.h) and writes their answers, including server streams.
// Every error -> HTTP decision comes from http_mapping.
//
// Threading: the connection lives on its own strand; upstream results are
// posted to it. A server stream holds no thread: one upstream read is
// outstanding at a time, the next one is requested once the previous chunk
// is written (backpressure), and a pending read on the socket notices a
// client that goes away and cancels the call.
#ifndef LEADRELAY_GATEWAY_CONNECTION_H_
#define LEADRELAY_GATEWAY_CONNECTION_H_

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "gateway/http_mapping.h"
#include "gateway/server_state.h"
#include "gateway/transcoder.h"
#include "gateway/upstream_call.h"

namespace leadrelay::gateway {

class HttpConnection : public UpstreamSink,
                       public std::enable_shared_from_this<HttpConnection> {
 public:
  // The caller has counted the connection in state->connections; the
  // destructor uncounts it.
  HttpConnection(boost::asio::ip::tcp::socket socket,
                 std::shared_ptr<ServerState> state);
  ~HttpConnection() override;

  void Start();

  boost::asio::any_io_executor executor() override;
  void OnUnaryDone(grpc::Status status, std::string response,
                   HeaderList metadata) override;
  void OnStreamHeaders(HeaderList metadata) override;
  void OnStreamRead(bool ok, std::string bytes, HeaderList metadata) override;
  void OnStreamDone(grpc::Status status, HeaderList metadata) override;

 private:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  void DoStart();
  void WaitForNextRequest();
  void ReadHeader();
  void OnHeader(boost::beast::error_code ec);
  void ReadBody();
  void OnReadError(boost::beast::error_code ec);
  void Handle(Request req);
  bool ServeExtraRoute(const Request& req, absl::string_view path);
  void StartUnary(const Transcoder::Call& call, UpstreamRequest request);
  void StartStream(const Transcoder::Call& call, UpstreamRequest request,
                   absl::string_view accept);
  void SendReply(HttpReply reply);
  void AfterResponse(boost::beast::error_code ec);
  void Close();
  void CloseNow();

  // Streaming.
  std::string TakeStreamHead(const HeaderList& metadata);
  void QueueWrite(std::string bytes,
                  std::function<void(boost::beast::error_code)> then);
  void WriteNext();
  void OnStreamWriteFailed();
  void Watch();
  void OnWatch(boost::beast::error_code ec, size_t n);
  void AddMetadataHeaders(const HeaderList& metadata, HeaderList* out);
  // The gateway's own metadata (GatewayConfig::upstream_metadata, the
  // client's address), replacing any copy the client sent.
  void AddTrustedMetadata(HeaderList* metadata);
  // Reports the answered request (GatewayConfig::on_request).
  void Observe(int status);

  ConnectionStream stream_;
  std::shared_ptr<ServerState> state_;
  boost::beast::flat_buffer buffer_;
  std::optional<
      boost::beast::http::request_parser<boost::beast::http::string_body>>
      parser_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_ = false;  // answering HEAD: no body
  std::string request_id_;
  absl::Time started_;                     // the request's headers arrived
  std::string route_label_ = "unmatched";  // for on_request
  const Route* route_ = nullptr;           // of the call in flight
  size_t request_bytes_ = 0;               // the message sent upstream
  std::string continue_;  // "100 Continue", kept alive while written

  // Streaming state.
  std::shared_ptr<StreamCall> stream_call_;
  StreamFraming framing_ = StreamFraming::kJsonArray;
  int sent_ = 0;
  bool streaming_ = false;
  bool headers_sent_ = false;
  bool client_gone_ = false;
  bool watching_ = false;
  bool resume_after_watch_ = false;
  std::optional<HttpReply> local_error_;
  // Upstream headers waiting for OnStreamHeaders' short delay.
  HeaderList pending_head_;
  std::shared_ptr<boost::asio::steady_timer> head_timer_;
  std::deque<
      std::pair<std::string, std::function<void(boost::beast::error_code)>>>
      writes_;
  bool writing_ = false;
};

}  // namespace leadrelay::gateway

#endif  // LEADRELAY_GATEWAY_CONNECTION_H_
