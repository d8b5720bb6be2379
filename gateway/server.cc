// The I/O edge of the gateway: a Boost.Beast HTTP/1.1 server and generic gRPC
// calls (callback API, raw bytes) to the upstream. All translation is done by
// Transcoder and http_mapping; this file only moves bytes.
//
// Threading: a few I/O threads run one io_context; each connection is a
// Session on its own strand. gRPC completions arrive on gRPC's threads and are
// posted back to the session's strand. A server stream holds no thread: one
// read is outstanding upstream at a time, the next one is requested once the
// previous chunk is written to the client (backpressure), and a pending read
// on the socket notices a client that goes away and cancels the call.
//
// Asio/Beast report errors through error_code overloads here; the few calls
// that can throw are wrapped so that nothing escapes StartGateway.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/ssl.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/gateway.h"
#include "gateway/http_mapping.h"
#include "gateway/transcoder.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/client_callback.h"

namespace leadrelay::gateway {

Gateway::~Gateway() = default;

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr uint32_t kDefaultMaxRequestBody = 8u << 20;
constexpr size_t kMaxBufferedWhileStreaming = 64 * 1024;
constexpr auto kIdleTimeout = std::chrono::minutes(5);
constexpr auto kTlsHandshakeTimeout = std::chrono::seconds(30);
constexpr auto kTlsShutdownTimeout = std::chrono::seconds(5);

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  out.reserve(buffer.Length());
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

void AppendMetadata(const std::multimap<grpc::string_ref, grpc::string_ref>& md,
                    HeaderList* out) {
  for (const auto& [key, value] : md) {
    out->emplace_back(std::string(key.data(), key.size()),
                      std::string(value.data(), value.size()));
  }
}

std::string NewRequestId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return absl::StrFormat("%016x", rng());
}

// Something in flight upstream that Shutdown can cancel.
class Cancellable {
 public:
  virtual ~Cancellable() = default;
  virtual void Cancel() = 0;
};

// Tracks in-flight upstream calls so that Shutdown can cancel and await them.
class CallRegistry {
 public:
  bool Add(const void* key, std::weak_ptr<Cancellable> call) {
    absl::MutexLock lock(&mu_);
    if (closed_) return false;
    calls_[key] = std::move(call);
    return true;
  }
  void Remove(const void* key) {
    absl::MutexLock lock(&mu_);
    calls_.erase(key);
  }
  void CancelAllAndWait() {
    std::vector<std::weak_ptr<Cancellable>> calls;
    {
      absl::MutexLock lock(&mu_);
      closed_ = true;
      for (auto& [key, call] : calls_) calls.push_back(call);
    }
    for (auto& weak : calls) {
      if (auto call = weak.lock()) call->Cancel();
    }
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](absl::flat_hash_map<const void*, std::weak_ptr<Cancellable>>* m) {
          return m->empty();
        },
        &calls_));
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<const void*, std::weak_ptr<Cancellable>> calls_
      ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

struct Shared {
  std::unique_ptr<Transcoder> transcoder;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
  std::string openapi;
  uint32_t max_request_body = kDefaultMaxRequestBody;
  // Set when the listener speaks HTTPS.
  std::unique_ptr<net::ssl::context> tls;
  CallRegistry registry;
  // GatewayConfig::upstream_metadata (names in lower case).
  HeaderList upstream_metadata;
};

// A connection's byte stream: plain TCP, or TLS over TCP. It models Asio's
// AsyncReadStream and AsyncWriteStream, so Beast's HTTP algorithms and
// net::async_write take it as is; timeouts live on the TCP layer.
class ConnectionStream {
 public:
  using executor_type = net::any_io_executor;

  // `tls` may be null (plain HTTP); otherwise it must outlive the stream.
  ConnectionStream(tcp::socket socket, net::ssl::context* tls) {
    if (tls != nullptr) {
      tls_.emplace(std::move(socket), *tls);
    } else {
      tcp_.emplace(std::move(socket));
    }
  }

  bool is_tls() const { return tls_.has_value(); }
  executor_type get_executor() { return tcp_layer().get_executor(); }
  beast::tcp_stream& tcp_layer() { return tls_ ? tls_->next_layer() : *tcp_; }
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
    tls_->async_handshake(net::ssl::stream_base::server,
                          std::forward<Handler>(handler));
  }
  template <typename Handler>
  void AsyncShutdown(Handler&& handler) {
    tls_->async_shutdown(std::forward<Handler>(handler));
  }

 private:
  std::optional<beast::tcp_stream> tcp_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
};

// A server-side TLS context from PEM files; the error names the file.
absl::StatusOr<std::unique_ptr<net::ssl::context>> MakeTlsContext(
    const std::string& cert_file, const std::string& key_file) {
  if (cert_file.empty() || key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both a certificate (tls_cert_file) and a key (tls_key_file)");
  }
  auto context = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
  beast::error_code ec;
  context->set_options(net::ssl::context::default_workarounds |
                           net::ssl::context::no_sslv2 | net::ssl::context::no_sslv3 |
                           net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1 |
                           net::ssl::context::single_dh_use,
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

class Session;

// Context shared by both call kinds: the headers become metadata.
void PrepareContext(grpc::ClientContext* ctx, const HeaderList& metadata,
                    std::optional<absl::Duration> timeout) {
  for (const auto& [key, value] : metadata) ctx->AddMetadata(key, value);
  if (timeout) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      absl::ToChronoNanoseconds(*timeout));
  }
}

class UnaryUpstream : public Cancellable {
 public:
  void Cancel() override { ctx.TryCancel(); }
  grpc::ClientContext ctx;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  const Route* route = nullptr;
};

class StreamUpstream
    : public Cancellable,
      public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
      public std::enable_shared_from_this<StreamUpstream> {
 public:
  StreamUpstream(std::shared_ptr<Session> session, std::shared_ptr<Shared> shared,
                 const Route* route)
      : session_(std::move(session)), shared_(std::move(shared)), route_(route) {}

  grpc::ClientContext* context() { return &ctx_; }
  const Route* route() const { return route_; }

  void Start(const std::string& message) {
    self_ = shared_from_this();
    request_ = ToByteBuffer(message);
    shared_->stub->PrepareBidiStreamingCall(&ctx_, route_->grpc_path,
                                            grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    AddHold();  // released by the session once it stops reading
    StartRead(&response_);
    StartCall();
  }
  void Next() { StartRead(&response_); }
  void Release() { RemoveHold(); }
  void Cancel() override { ctx_.TryCancel(); }

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  std::shared_ptr<Session> session_;
  std::shared_ptr<Shared> shared_;
  const Route* route_;
  std::shared_ptr<StreamUpstream> self_;
  grpc::ClientContext ctx_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  bool metadata_taken_ = false;  // gRPC thread only
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket), shared->tls.get()), shared_(std::move(shared)) {}

  void Start() {
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->DoStart(); });
  }

  net::any_io_executor executor() { return stream_.get_executor(); }

  // Called on the strand, from StreamUpstream.
  void OnStreamRead(bool ok, std::string bytes, HeaderList metadata);
  void OnStreamDone(grpc::Status status, HeaderList metadata);

 private:
  // TLS: the handshake comes before the first request. A client that does
  // not speak TLS (plain HTTP to an HTTPS port) fails it and is dropped.
  void DoStart() {
    if (!stream_.is_tls()) return DoReadHeader();
    stream_.tcp_layer().expires_after(kTlsHandshakeTimeout);
    stream_.AsyncHandshake([self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->CloseNow();
      self->DoReadHeader();
    });
  }

  void DoReadHeader() {
    parser_.emplace();
    parser_->body_limit(shared_->max_request_body);
    parser_->header_limit(64 * 1024);
    stream_.tcp_layer().expires_after(kIdleTimeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) {
          self->OnHeader(ec);
        });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    started_ = absl::Now();
    route_label_ = "unmatched";
    const auto& req = parser_->get();
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    if (auto length = parser_->content_length();
        length && *length > shared_->max_request_body) {
      return SendTooLarge();
    }
    if (absl::EqualsIgnoreCase(
            std::string(req[http::field::expect]), "100-continue")) {
      out_ = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(out_),
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->Close();
                         self->DoReadBody();
                       });
      return;
    }
    DoReadBody();
  }

  void DoReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->OnReadError(ec);
                       self->stream_.tcp_layer().expires_never();
                       self->Handle(self->parser_->release());
                     });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::body_limit) return SendTooLarge();
    if (ec.category() == beast::http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      keep_alive_ = false;
      version_ = 11;
      return SendReply(GatewayErrorReply(400, "invalid_request",
                                         absl::StrCat("malformed HTTP request: ", ec.message())));
    }
    Close();
  }

  void SendTooLarge() {
    keep_alive_ = false;
    SendReply(GatewayErrorReply(
        413, "payload_too_large",
        absl::StrCat("the request body exceeds ", shared_->max_request_body, " bytes")));
  }

  // Ends the connection; over TLS with a close_notify first, unless a read
  // is still pending (the disconnect watch) or the socket already failed.
  void Close() {
    if (!stream_.is_tls() || watching_ || client_gone_) return CloseNow();
    stream_.tcp_layer().expires_after(kTlsShutdownTimeout);
    stream_.AsyncShutdown(
        [self = shared_from_this()](beast::error_code) { self->CloseNow(); });
  }

  void CloseNow() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  void Handle(http::request<http::string_body> req) {
    request_id_ = std::string(req["x-request-id"]);
    if (request_id_.empty()) request_id_ = NewRequestId();
    const Transcoder& transcoder = *shared_->transcoder;
    const std::string method(req.method_string());
    const absl::string_view target(req.target().data(), req.target().size());
    if (method == "GET" &&
        target.substr(0, target.find('?')) == transcoder.config().openapi_path) {
      route_label_ = absl::StrCat("GET ", transcoder.config().openapi_path);
      HttpReply reply;
      reply.body = shared_->openapi;
      return SendReply(std::move(reply));
    }
    if (method == "GET" || method == "HEAD") {
      const auto& local = transcoder.config().local_routes;
      auto it = local.find(std::string(target.substr(0, target.find('?'))));
      if (it != local.end()) {
        route_label_ = absl::StrCat("GET ", it->first);
        LocalReply answer = it->second();
        HttpReply reply;
        reply.status = answer.status;
        reply.content_type = std::move(answer.content_type);
        reply.body = method == "HEAD" ? "" : std::move(answer.body);
        return SendReply(std::move(reply));
      }
    }
    std::vector<std::string> allowed;
    auto call = transcoder.TranscodeRequest(method, target, req.body(), &allowed);
    if (!call.ok()) {
      if (absl::IsNotFound(call.status()) && !allowed.empty()) {
        HttpReply reply = GatewayErrorReply(
            405, "method_not_allowed",
            absl::StrCat(method, " is not allowed here; use ",
                         absl::StrJoin(allowed, ", ")));
        reply.headers.emplace_back("Allow", absl::StrJoin(allowed, ", "));
        return SendReply(std::move(reply));
      }
      if (absl::IsNotFound(call.status())) {
        return SendReply(GatewayErrorReply(404, "not_found", call.status().message()));
      }
      if (absl::IsInvalidArgument(call.status())) {
        return SendReply(
            GatewayErrorReply(400, "invalid_request", call.status().message()));
      }
      return SendReply(
          GatewayErrorReply(500, "internal_error", call.status().message()));
    }

    route_label_ =
        absl::StrCat(call->route->http_method, " ", call->route->template_text);
    HeaderList headers;
    for (const auto& field : req.base()) {
      headers.emplace_back(std::string(field.name_string()),
                           std::string(field.value()));
    }
    HeaderList metadata = MetadataFromHeaders(headers);
    if (!shared_->upstream_metadata.empty()) {
      metadata.erase(
          std::remove_if(metadata.begin(), metadata.end(),
                         [&](const auto& entry) {
                           for (const auto& fixed : shared_->upstream_metadata) {
                             if (entry.first == fixed.first) return true;
                           }
                           return false;
                         }),
          metadata.end());
      metadata.insert(metadata.end(), shared_->upstream_metadata.begin(),
                      shared_->upstream_metadata.end());
    }
    if (req["x-request-id"].empty()) metadata.emplace_back("x-request-id", request_id_);
    SetClientAddress(&metadata);
    std::optional<absl::Duration> timeout;
    if (auto value = req["grpc-timeout"]; !value.empty()) {
      timeout = ParseGrpcTimeout(absl::string_view(value.data(), value.size()));
      if (!timeout) {
        return SendReply(GatewayErrorReply(400, "invalid_request",
                                           "invalid grpc-timeout header"));
      }
    }
    if (call->route->method->server_streaming()) {
      StartStream(*call, metadata, timeout, std::string(req[http::field::accept]));
    } else {
      StartUnary(*call, metadata, timeout);
    }
  }

  // The server throttles invalid API keys per client address and believes
  // this header only from the gateway; a client's own copy is dropped.
  void SetClientAddress(HeaderList* metadata) {
    static constexpr char kClientAddress[] = "x-leadrelay-client-address";
    metadata->erase(std::remove_if(metadata->begin(), metadata->end(),
                                   [](const auto& entry) {
                                     return entry.first == kClientAddress;
                                   }),
                    metadata->end());
    beast::error_code ec;
    tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    if (!ec) metadata->emplace_back(kClientAddress, remote.address().to_string());
  }

  void StartUnary(const Transcoder::Call& call, const HeaderList& metadata,
                  std::optional<absl::Duration> timeout) {
    auto upstream = std::make_shared<UnaryUpstream>();
    upstream->route = call.route;
    PrepareContext(&upstream->ctx, metadata, timeout);
    upstream->request = ToByteBuffer(call.message);
    if (!shared_->registry.Add(upstream.get(), upstream)) {
      return SendReply(GatewayErrorReply(503, "unavailable", "shutting down"));
    }
    shared_->stub->UnaryCall(
        &upstream->ctx, call.route->grpc_path, grpc::StubOptions(),
        &upstream->request, &upstream->response,
        [self = shared_from_this(), upstream](grpc::Status status) mutable {
          HeaderList md;
          AppendMetadata(upstream->ctx.GetServerInitialMetadata(), &md);
          AppendMetadata(upstream->ctx.GetServerTrailingMetadata(), &md);
          std::shared_ptr<Shared> shared = self->shared_;
          {
            // Every reference to I/O objects (session, executor) is gone
            // before Remove: once the registry is empty the io_context may
            // be destroyed.
            net::any_io_executor executor = self->executor();
            net::post(executor, [self = std::move(self), upstream,
                                 status = std::move(status), md = std::move(md)] {
              self->FinishUnary(*upstream, status, md);
            });
          }
          shared->registry.Remove(upstream.get());
        });
  }

  void FinishUnary(const UnaryUpstream& upstream, const grpc::Status& status,
                   const HeaderList& metadata) {
    const Transcoder& transcoder = *shared_->transcoder;
    HttpReply reply;
    if (!status.ok()) {
      reply = ErrorReplyFromGrpc(status.error_code(), status.error_message(),
                                 status.error_details(),
                                 transcoder.config().convert_grpc_status);
    } else {
      auto json = transcoder.TranscodeResponse(*upstream.route,
                                               ToString(upstream.response));
      if (json.ok()) {
        reply.body = *std::move(json);
      } else {
        reply = GatewayErrorReply(absl::IsResourceExhausted(json.status()) ? 502 : 500,
                                  "internal_error", json.status().message());
      }
    }
    AddMetadataHeaders(metadata, &reply.headers);
    SendReply(std::move(reply));
  }

  void AddMetadataHeaders(const HeaderList& metadata, HeaderList* out) {
    for (auto& header : HeadersFromMetadata(metadata)) {
      if (header.first == "x-request-id") continue;
      out->push_back(std::move(header));
    }
  }

  // Reports the answered request to the embedding process (metrics, logs).
  void Observe(int status) {
    const auto& on_request = shared_->transcoder->config().on_request;
    if (on_request) {
      on_request({route_label_, status, absl::Now() - started_, request_id_});
    }
  }

  void SendReply(HttpReply reply) {
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
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        self->AfterResponse(ec);
                      });
  }

  // After a complete response: next request, or close.
  void AfterResponse(beast::error_code ec) {
    request_id_.clear();
    if (ec || !keep_alive_) return Close();
    if (watching_) {
      // Stop the disconnect watch; its completion starts the next request
      // (bytes it already got, e.g. a pipelined request, stay in buffer_).
      resume_after_watch_ = true;
      beast::error_code ignored;
      stream_.socket().cancel(ignored);
      return;
    }
    DoReadHeader();
  }

  // --- server streaming -----------------------------------------------------

  void StartStream(const Transcoder::Call& call, const HeaderList& metadata,
                   std::optional<absl::Duration> timeout, const std::string& accept) {
    framing_ = ChooseStreamFraming(shared_->transcoder->config().print_options, accept);
    sent_ = 0;
    headers_sent_ = false;
    client_gone_ = false;
    local_error_.reset();
    upstream_ = std::make_shared<StreamUpstream>(shared_from_this(), shared_, call.route);
    PrepareContext(upstream_->context(), metadata, timeout);
    if (!shared_->registry.Add(upstream_->context(), upstream_)) {
      upstream_.reset();
      return SendReply(GatewayErrorReply(503, "unavailable", "shutting down"));
    }
    streaming_ = true;
    upstream_->Start(call.message);
    Watch();
  }

  // Keeps a read pending on the socket while streaming, to notice a client
  // that goes away. Bytes that arrive (a pipelined request) are kept.
  void Watch() {
    watching_ = true;
    stream_.async_read_some(
        buffer_.prepare(4096),
        [self = shared_from_this()](beast::error_code ec, size_t n) {
          self->OnWatch(ec, n);
        });
  }

  void OnWatch(beast::error_code ec, size_t n) {
    watching_ = false;
    if (!ec) {
      buffer_.commit(n);
      if (streaming_) {
        if (buffer_.size() < kMaxBufferedWhileStreaming) Watch();
      } else if (resume_after_watch_) {
        resume_after_watch_ = false;
        DoReadHeader();
      }
      return;
    }
    if (streaming_) {
      client_gone_ = true;
      upstream_->Cancel();
    } else if (resume_after_watch_) {
      resume_after_watch_ = false;
      if (ec == net::error::operation_aborted) return DoReadHeader();
      Close();
    }
  }

  void WriteStreamBytes(std::string bytes, bool last) {
    out_ = std::move(bytes);
    net::async_write(stream_, net::buffer(out_),
                     [self = shared_from_this(), last](beast::error_code ec, size_t) {
                       if (last) return self->AfterResponse(ec);
                       self->OnChunkWritten(ec);
                     });
  }

  std::string Chunk(absl::string_view data) {
    if (version_ == 10 || data.empty()) return std::string(data);
    return absl::StrCat(absl::Hex(data.size()), "\r\n", data, "\r\n");
  }

  void OnChunkWritten(beast::error_code ec) {
    if (ec) {
      client_gone_ = true;
      upstream_->Cancel();
    }
    if (client_gone_ || local_error_) return upstream_->Release();
    upstream_->Next();
  }

  ConnectionStream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Shared> shared_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  std::string request_id_;
  std::string out_;
  absl::Time started_ = absl::Now();
  std::string route_label_ = "unmatched";

  // Streaming state.
  std::shared_ptr<StreamUpstream> upstream_;
  StreamFraming framing_ = StreamFraming::kJsonArray;
  int sent_ = 0;
  bool streaming_ = false;
  bool headers_sent_ = false;
  bool client_gone_ = false;
  bool watching_ = false;
  bool resume_after_watch_ = false;
  std::optional<HttpReply> local_error_;
};

void Session::OnStreamRead(bool ok, std::string bytes, HeaderList metadata) {
  if (!ok || client_gone_ || local_error_) return upstream_->Release();
  auto json = shared_->transcoder->TranscodeResponse(*upstream_->route(), bytes);
  if (!json.ok()) {
    local_error_ = GatewayErrorReply(500, "internal_error", json.status().message());
    upstream_->Cancel();
    return upstream_->Release();
  }
  std::string data = Chunk(FrameStreamMessage(framing_, *json, sent_ == 0));
  ++sent_;
  if (!headers_sent_) {
    headers_sent_ = true;
    HeaderList headers;
    AddMetadataHeaders(metadata, &headers);
    std::string head = absl::StrCat("HTTP/1.", version_ == 10 ? "0" : "1",
                                    " 200 OK\r\nContent-Type: ",
                                    StreamContentType(framing_), "\r\n");
    if (version_ != 10) absl::StrAppend(&head, "Transfer-Encoding: chunked\r\n");
    if (framing_ == StreamFraming::kServerSentEvents) {
      absl::StrAppend(&head, "Cache-Control: no-cache\r\n");
    }
    for (const auto& [name, value] : headers) {
      absl::StrAppend(&head, name, ": ", value, "\r\n");
    }
    absl::StrAppend(&head, "X-Request-Id: ", request_id_, "\r\n");
    if (version_ == 10 || !keep_alive_) {
      keep_alive_ = false;
      absl::StrAppend(&head, "Connection: close\r\n");
    }
    absl::StrAppend(&head, "\r\n");
    data = head + data;
  }
  WriteStreamBytes(std::move(data), /*last=*/false);
}

void Session::OnStreamDone(grpc::Status status, HeaderList metadata) {
  streaming_ = false;
  upstream_.reset();
  if (client_gone_) return Close();
  const bool convert = shared_->transcoder->config().convert_grpc_status;
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
    AddMetadataHeaders(metadata, &reply.headers);
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
  std::string tail = Chunk(FrameStreamEnd(framing_, sent_, error));
  if (version_ != 10) tail += "0\r\n\r\n";
  WriteStreamBytes(std::move(tail), /*last=*/true);
}

void StreamUpstream::OnReadDone(bool ok) {
  std::string bytes;
  HeaderList md;
  if (ok) {
    bytes = ToString(response_);
    if (!metadata_taken_) {
      metadata_taken_ = true;
      AppendMetadata(ctx_.GetServerInitialMetadata(), &md);
    }
  }
  net::post(session_->executor(),
            [session = session_, ok, bytes = std::move(bytes), md = std::move(md)]() mutable {
              session->OnStreamRead(ok, std::move(bytes), std::move(md));
            });
}

void StreamUpstream::OnDone(const grpc::Status& status) {
  HeaderList md;
  AppendMetadata(ctx_.GetServerInitialMetadata(), &md);
  AppendMetadata(ctx_.GetServerTrailingMetadata(), &md);
  std::shared_ptr<StreamUpstream> self = std::move(self_);  // deleted last
  std::shared_ptr<Shared> shared = shared_;
  {
    // No reference to I/O objects may outlive Remove (see StartUnary).
    net::any_io_executor executor = session_->executor();
    net::post(executor, [session = std::move(session_), status,
                         md = std::move(md)]() mutable {
      session->OnStreamDone(status, std::move(md));
    });
  }
  shared->registry.Remove(&ctx_);
}

class GatewayImpl : public Gateway {
 public:
  explicit GatewayImpl(std::shared_ptr<Shared> shared, int threads)
      : shared_(std::move(shared)),
        ioc_(threads),
        work_(net::make_work_guard(ioc_)),
        acceptor_(net::make_strand(ioc_)),
        thread_count_(threads) {}

  ~GatewayImpl() override { Shutdown(); }

  absl::Status Listen(const std::string& address) {
    size_t colon = address.rfind(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("listen address \"", address, "\" is not host:port"));
    }
    std::string host = address.substr(0, colon);
    std::string port = address.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
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
        closed.set_value();
      });
      closed.get_future().wait();
    }
    shared_->registry.CancelAllAndWait();
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void DoAccept() {
    acceptor_.async_accept(
        net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
          if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
          if (!ec) {
            beast::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            std::make_shared<Session>(std::move(socket), shared_)->Start();
          }
          DoAccept();
        });
  }

  std::shared_ptr<Shared> shared_;
  net::io_context ioc_;
  // Keeps run() going while gRPC completions may still be posted, even when
  // no socket operation is pending.
  net::executor_work_guard<net::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  int thread_count_;
  int port_ = 0;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
};

}  // namespace

absl::StatusOr<std::unique_ptr<Gateway>> StartGateway(
    const GatewayConfig& config, std::shared_ptr<grpc::Channel> upstream,
    const std::string& listen_address) {
  if (upstream == nullptr) return absl::InvalidArgumentError("no upstream channel");
  auto transcoder = Transcoder::Create(config);
  if (!transcoder.ok()) return transcoder.status();
  auto shared = std::make_shared<Shared>();
  shared->transcoder = *std::move(transcoder);
  shared->openapi = BuildOpenApiJson(*shared->transcoder);
  shared->channel = std::move(upstream);
  shared->stub = std::make_unique<grpc::GenericStub>(shared->channel);
  if (config.max_request_body_size > 0) {
    shared->max_request_body = config.max_request_body_size;
  }
  for (const auto& [name, value] : config.upstream_metadata) {
    shared->upstream_metadata.emplace_back(absl::AsciiStrToLower(name), value);
  }
  try {
    if (!config.tls_cert_file.empty() || !config.tls_key_file.empty()) {
      auto tls = MakeTlsContext(config.tls_cert_file, config.tls_key_file);
      if (!tls.ok()) return tls.status();
      shared->tls = *std::move(tls);
    }
    auto gateway = std::make_unique<GatewayImpl>(std::move(shared),
                                                 std::max(1, config.io_threads));
    if (auto s = gateway->Listen(listen_address); !s.ok()) return s;
    gateway->Run();
    return std::unique_ptr<Gateway>(std::move(gateway));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("cannot start the gateway: ", e.what()));
  }
}

}  // namespace leadrelay::gateway
