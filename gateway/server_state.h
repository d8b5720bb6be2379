// What the HTTP connections of one gateway share, and the byte stream of a
// connection (plain TCP or TLS). Internal to the gateway's server files.
#ifndef LEADRELAY_GATEWAY_SERVER_STATE_H_
#define LEADRELAY_GATEWAY_SERVER_STATE_H_

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gateway/gateway.h"
#include "gateway/transcoder.h"
#include "gateway/upstream_call.h"

namespace leadrelay::gateway {

struct ServerState {
  std::unique_ptr<Transcoder> transcoder;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
  uint32_t max_request_body = 8u << 20;
  HttpServerLimits limits;
  // Extra routes, openapi_path included (see GatewayConfig::extra_routes).
  std::map<std::string, HttpHandler> extra_routes;
  // Set when the listener speaks HTTPS.
  std::unique_ptr<boost::asio::ssl::context> tls;
  CallRegistry registry;
  // Open HTTP connections (the cap counts these).
  std::atomic<int> connections{0};

  // GatewayConfig::upstream_metadata (names in lower case).
  std::vector<std::pair<std::string, std::string>> upstream_metadata;
  // GatewayConfig::on_request.
  std::function<void(const RequestRecord&)> on_request;

  // The handler for `path`: exact key, else the longest '/'-ending prefix
  // (the key that matched in `*key`, when given).
  const HttpHandler* FindExtraRoute(absl::string_view path,
                                    std::string* key = nullptr) const;
};

// A connection's byte stream: plain TCP, or TLS over TCP. It models Asio's
// AsyncReadStream and AsyncWriteStream, so Beast's HTTP algorithms and
// net::async_write take it as is; timeouts live on the TCP layer.
class ConnectionStream {
 public:
  using executor_type = boost::asio::any_io_executor;
  using tcp = boost::asio::ip::tcp;

  // `tls` may be null (plain HTTP); otherwise it must outlive the stream.
  ConnectionStream(tcp::socket socket, boost::asio::ssl::context* tls) {
    if (tls != nullptr) {
      tls_.emplace(std::move(socket), *tls);
    } else {
      tcp_.emplace(std::move(socket));
    }
  }

  bool is_tls() const { return tls_.has_value(); }
  executor_type get_executor() { return tcp_layer().get_executor(); }
  boost::beast::tcp_stream& tcp_layer() {
    return tls_ ? tls_->next_layer() : *tcp_;
  }
  tcp::socket& socket() { return tcp_layer().socket(); }

  template <typename MutableBuffers, typename Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      tcp_->async_read_some(buffers, std::forward<Handler>(handler));
    }
  }

  template <typename ConstBuffers, typename Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    } else {
      tcp_->async_write_some(buffers, std::forward<Handler>(handler));
    }
  }

  // TLS only.
  template <typename Handler>
  void AsyncHandshake(Handler&& handler) {
    tls_->async_handshake(boost::asio::ssl::stream_base::server,
                          std::forward<Handler>(handler));
  }
  template <typename Handler>
  void AsyncShutdown(Handler&& handler) {
    tls_->async_shutdown(std::forward<Handler>(handler));
  }

 private:
  std::optional<boost::beast::tcp_stream> tcp_;
  std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls_;
};

}  // namespace leadrelay::gateway

#endif  // LEADRELAY_GATEWAY_SERVER_STATE_H_
