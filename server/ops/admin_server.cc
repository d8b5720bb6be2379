// Asio/Beast report errors through error_code overloads here; the constructor
// calls that can throw are wrapped so that nothing escapes StartAdminServer.
#include "ops/admin_server.h"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"

namespace leadrelay::ops {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr auto kIdleTimeout = std::chrono::seconds(30);

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, const PlainRoutes* routes)
      : stream_(std::move(socket)), routes_(routes) {}

  void Read() {
    request_ = http::request<http::string_body>();
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->Close();
                       self->Answer();
                     });
  }

 private:
  void Answer() {
    PlainResponse reply;
    absl::string_view target(request_.target().data(),
                             request_.target().size());
    auto it = routes_->find(std::string(target.substr(0, target.find('?'))));
    if (it == routes_->end()) {
      reply.status = 404;
      reply.body = "not found\n";
    } else if (request_.method() != http::verb::get &&
               request_.method() != http::verb::head) {
      reply.status = 405;
      reply.body = "only GET\n";
    } else {
      reply = it->second();
    }
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(request_.version());
    res->result(static_cast<unsigned>(reply.status));
    res->set(http::field::content_type, reply.content_type);
    res->set(http::field::cache_control, "no-store");
    res->keep_alive(request_.keep_alive());
    if (request_.method() != http::verb::head)
      res->body() = std::move(reply.body);
    res->prepare_payload();
    http::async_write(
        stream_, *res,
        [self = shared_from_this(), res](beast::error_code ec, size_t) {
          if (ec || !res->keep_alive()) return self->Close();
          self->Read();
        });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  const PlainRoutes* routes_;
};

class AdminServerImpl : public AdminServer {
 public:
  explicit AdminServerImpl(PlainRoutes routes)
      : routes_(std::move(routes)), acceptor_(ioc_) {}
  ~AdminServerImpl() override { Shutdown(); }

  absl::Status Listen(const std::string& address) {
    size_t colon = address.rfind(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("admin address \"", address, "\" is not host:port"));
    }
    std::string host = address.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[') {
      host = host.substr(1, host.size() - 2);
    }
    if (host.empty()) host = "0.0.0.0";
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(host, address.substr(colon + 1),
                                    tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot resolve ", address, ": ", ec.message()));
    }
    tcp::endpoint endpoint = results.begin()->endpoint();
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", address, ": ", ec.message()));
    }
    port_ = acceptor_.local_endpoint(ec).port();
    Accept();
    thread_ = std::thread([this] {
      for (;;) {
        try {
          ioc_.run();
          return;
        } catch (const std::exception&) {
          // A handler threw (allocation failure and the like): keep serving.
        }
      }
    });
    return absl::OkStatus();
  }

  int port() const override { return port_; }

  void Shutdown() override {
    if (stopped_.exchange(true)) return;
    ioc_.stop();  // pending operations and connections are dropped
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec) {
        std::make_shared<Connection>(std::move(socket), &routes_)->Read();
      }
      Accept();
    });
  }

  const PlainRoutes routes_;
  net::io_context ioc_{1};
  tcp::acceptor acceptor_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace

absl::StatusOr<std::unique_ptr<AdminServer>> StartAdminServer(
    const std::string& address, PlainRoutes routes) {
  try {
    auto server = std::make_unique<AdminServerImpl>(std::move(routes));
    if (absl::Status s = server->Listen(address); !s.ok()) return s;
    return std::unique_ptr<AdminServer>(std::move(server));
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("cannot start the admin server: ", e.what()));
  }
}

}  // namespace leadrelay::ops
