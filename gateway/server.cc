// The gateway's listener: accepts connections under a cap (refusing the
// excess at once with 503), backs off when accept runs out of file
// descriptors, and owns the I/O threads. Connections are in connection.cc,
// upstream calls in upstream_call.cc.
//
// Asio/Beast report errors through error_code overloads here; the few calls
// that can throw are wrapped so that nothing escapes StartGateway.
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/connection.h"
#include "gateway/gateway.h"
#include "gateway/http_mapping.h"
#include "gateway/http_stream.h"
#include "gateway/server_state.h"
#include "gateway/transcoder.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace leadrelay::gateway {

Gateway::~Gateway() = default;

const HttpHandler* ServerState::FindExtraRoute(absl::string_view path) const {
  if (extra_routes.empty()) return nullptr;
  if (auto it = extra_routes.find(std::string(path));
      it != extra_routes.end()) {
    return &it->second;
  }
  // Prefix keys end with '/': try every ancestor directory of `path`,
  // longest first.
  for (size_t slash = path.rfind('/'); slash != absl::string_view::npos;
       slash = slash == 0 ? absl::string_view::npos
                          : path.rfind('/', slash - 1)) {
    auto it = extra_routes.find(std::string(path.substr(0, slash + 1)));
    if (it != extra_routes.end()) return &it->second;
  }
  return nullptr;
}

namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Refused connections being answered at once; past this they are closed
// without an answer (they hold file descriptors too).
constexpr int kMaxRefusalsInFlight = 64;
constexpr auto kRefusalTimeout = std::chrono::seconds(2);
// accept() failing for want of descriptors or memory: wait before retrying
// instead of spinning on a listen queue that stays readable.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);

bool IsResourceShortage(const beast::error_code& ec) {
  return ec == net::error::no_descriptors ||  // EMFILE
         ec.value() == ENFILE || ec == net::error::no_buffer_space ||
         ec == net::error::no_memory;
}

// Answers one connection over the cap with 503 and closes it: write the
// canned answer, half-close, drain what the client sent until it closes
// (so that the close does not turn into a reset that eats the answer).
class Refusal : public std::enable_shared_from_this<Refusal> {
 public:
  Refusal(tcp::socket socket, std::atomic<int>* in_flight)
      : stream_(std::move(socket)), in_flight_(in_flight) {
    ++*in_flight_;
  }
  ~Refusal() { --*in_flight_; }

  void Start(const std::string& answer) {
    answer_ = answer;
    stream_.expires_after(kRefusalTimeout);
    net::async_write(stream_, net::buffer(answer_),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return;
                       beast::error_code ignored;
                       self->stream_.socket().shutdown(
                           tcp::socket::shutdown_send, ignored);
                       self->Drain();
                     });
  }

 private:
  void Drain() {
    stream_.async_read_some(
        net::buffer(sink_),
        [self = shared_from_this()](beast::error_code ec, size_t) {
          if (!ec) self->Drain();
        });
  }

  beast::tcp_stream stream_;
  std::atomic<int>* in_flight_;
  std::string answer_;
  char sink_[1024];
};

// A server-side TLS context from PEM files; the error names the file.
absl::StatusOr<std::unique_ptr<net::ssl::context>> MakeTlsContext(
    const std::string& cert_file, const std::string& key_file) {
  if (cert_file.empty() || key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both a certificate (tls_cert_file) and a key "
        "(tls_key_file)");
  }
  auto context =
      std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
  beast::error_code ec;
  context->set_options(
      net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
          net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
          net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use,
      ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("TLS options: ", ec.message()));
  }
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot load TLS certificate \"", cert_file, "\": ", ec.message()));
  }
  context->use_private_key_file(key_file, net::ssl::context::pem, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot load TLS private key \"", key_file, "\": ", ec.message()));
  }
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS private key \"", key_file,
                     "\" does not match certificate \"", cert_file, "\""));
  }
  return context;
}

class GatewayImpl : public Gateway {
 public:
  explicit GatewayImpl(std::shared_ptr<ServerState> shared, int threads)
      : state_(std::move(shared)),
        ioc_(threads),
        work_(net::make_work_guard(ioc_)),
        acceptor_(net::make_strand(ioc_)),
        backoff_(acceptor_.get_executor()),
        thread_count_(threads),
        refusal_answer_(EncodeClosingResponse(OverCapacityReply())) {}

  ~GatewayImpl() override { Shutdown(); }

  absl::Status Listen(const std::string& address) {
    size_t colon = address.rfind(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("listen address \"", address, "\" is not host:port"));
    }
    std::string host = address.substr(0, colon);
    std::string port = address.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[')
      host = host.substr(1, host.size() - 2);
    if (host.empty()) host = "0.0.0.0";
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(host, port, tcp::resolver::passive, ec);
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
    return absl::OkStatus();
  }

  void Run() {
    DoAccept();
    for (int i = 0; i < thread_count_; ++i) {
      threads_.emplace_back([this] {
        for (;;) {
          try {
            ioc_.run();
            return;
          } catch (const std::exception&) {
            // A handler threw (allocation failure and the like): keep serving.
          }
        }
      });
    }
  }

  int port() const override { return port_; }

  void Shutdown() override {
    if (stopped_.exchange(true)) return;
    if (!threads_.empty()) {
      std::promise<void> closed;
      net::post(acceptor_.get_executor(), [this, &closed] {
        beast::error_code ignored;
        acceptor_.close(ignored);
        backoff_.cancel();
        closed.set_value();
      });
      closed.get_future().wait();
    }
    state_->registry.CancelAllAndWait();
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void DoAccept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec,
                                                          tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      if (IsResourceShortage(ec)) {
        // The pending connection stays queued; retry after a pause.
        backoff_.expires_after(kAcceptBackoff);
        backoff_.async_wait([this](beast::error_code wait_ec) {
          if (!wait_ec && acceptor_.is_open()) DoAccept();
        });
        return;
      }
      if (!ec) Admit(std::move(socket));
      DoAccept();
    });
  }

  void Admit(tcp::socket socket) {
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (state_->connections.load() >= state_->limits.max_connections) {
      // Over the cap: a fast 503 over plain HTTP; TLS connections (whose
      // answer would need a handshake) and refusals past their own cap are
      // closed at once.
      if (state_->tls == nullptr && refusals_.load() < kMaxRefusalsInFlight) {
        std::make_shared<Refusal>(std::move(socket), &refusals_)
            ->Start(refusal_answer_);
      }
      return;
    }
    ++state_->connections;
    std::make_shared<HttpConnection>(std::move(socket), state_)->Start();
  }

  std::shared_ptr<ServerState> state_;
  net::io_context ioc_;
  // Keeps run() going while gRPC completions may still be posted, even when
  // no socket operation is pending.
  net::executor_work_guard<net::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  net::steady_timer backoff_;  // on the acceptor's strand
  int thread_count_;
  const std::string refusal_answer_;
  std::atomic<int> refusals_{0};
  int port_ = 0;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
};

}  // namespace

absl::StatusOr<std::unique_ptr<Gateway>> StartGateway(
    const GatewayConfig& config, std::shared_ptr<grpc::Channel> upstream,
    const std::string& listen_address) {
  if (upstream == nullptr)
    return absl::InvalidArgumentError("no upstream channel");
  auto transcoder = Transcoder::Create(config);
  if (!transcoder.ok()) return transcoder.status();
  if (config.limits.max_connections < 1) {
    return absl::InvalidArgumentError("max_connections must be at least 1");
  }
  auto shared = std::make_shared<ServerState>();
  shared->transcoder = *std::move(transcoder);
  shared->channel = std::move(upstream);
  shared->stub = std::make_unique<grpc::GenericStub>(shared->channel);
  if (config.max_request_body_size > 0) {
    shared->max_request_body = config.max_request_body_size;
  }
  shared->limits = config.limits;
  shared->extra_routes = config.extra_routes;
  if (!config.openapi_path.empty() &&
      !shared->extra_routes.count(config.openapi_path)) {
    shared->extra_routes[config.openapi_path] =
        [openapi = BuildOpenApiJson(*shared->transcoder)](
            const HttpRequestInfo& request) {
          HttpResponseInfo response;
          if (request.method != "GET" && request.method != "HEAD") {
            HttpReply error = TranscodeErrorReply(
                absl::NotFoundError(""), request.method, {"GET", "HEAD"});
            response.status = error.status;
            response.content_type = error.content_type;
            response.body = std::move(error.body);
            response.headers = std::move(error.headers);
            return response;
          }
          response.content_type = "application/json";
          response.body = openapi;
          return response;
        };
  }
  try {
    if (!config.tls_cert_file.empty() || !config.tls_key_file.empty()) {
      auto tls = MakeTlsContext(config.tls_cert_file, config.tls_key_file);
      if (!tls.ok()) return tls.status();
      shared->tls = *std::move(tls);
    }
    auto gateway = std::make_unique<GatewayImpl>(
        std::move(shared), std::max(1, config.io_threads));
    if (auto s = gateway->Listen(listen_address); !s.ok()) return s;
    gateway->Run();
    return std::unique_ptr<Gateway>(std::move(gateway));
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("cannot start the gateway: ", e.what()));
  }
}

}  // namespace leadrelay::gateway
