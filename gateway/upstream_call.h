// The upstream side of the gateway: generic gRPC calls (callback API, raw
// bytes) and the registry that lets Shutdown cancel and await them. Results
// are posted to the owning connection's executor, so the connection handles
// them on its own strand.
#ifndef LEADRELAY_GATEWAY_UPSTREAM_CALL_H_
#define LEADRELAY_GATEWAY_UPSTREAM_CALL_H_

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/http_mapping.h"
#include "gateway/routes.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/client_callback.h"

namespace leadrelay::gateway {

// Something in flight upstream that Shutdown can cancel.
class Cancellable {
 public:
  virtual ~Cancellable() = default;
  virtual void Cancel() = 0;
};

// Tracks in-flight upstream calls so that Shutdown can cancel and await them.
class CallRegistry {
 public:
  // False once closed (shutting down): the call must not start.
  bool Add(const void* key, std::weak_ptr<Cancellable> call);
  void Remove(const void* key);
  void CancelAllAndWait();

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<const void*, std::weak_ptr<Cancellable>> calls_
      ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

// Where an upstream call reports, always on the connection's executor.
class UpstreamSink {
 public:
  virtual ~UpstreamSink() = default;
  virtual boost::asio::any_io_executor executor() = 0;
  // Unary: the call ended; `response` is the serialized reply when ok.
  virtual void OnUnaryDone(grpc::Status status, std::string response,
                           HeaderList metadata) {}
  // Stream: the server sent its headers (before any message).
  virtual void OnStreamHeaders(HeaderList metadata) {}
  // Stream: one message (ok) or the end of reading (!ok). `metadata` is the
  // initial metadata with the first message when not reported before.
  virtual void OnStreamRead(bool ok, std::string bytes, HeaderList metadata) {}
  // Stream: the call ended.
  virtual void OnStreamDone(grpc::Status status, HeaderList metadata) {}
};

struct UpstreamRequest {
  const Route* route = nullptr;
  std::string message;
  HeaderList metadata;
  std::optional<absl::Duration> timeout;
};

// Starts a unary call; false (nothing started) when shutting down.
bool StartUnaryCall(grpc::GenericStub* stub, CallRegistry* registry,
                    std::shared_ptr<UpstreamSink> sink,
                    const UpstreamRequest& request);

// A server-streaming call. One read is outstanding at a time: the sink asks
// for the next message with Next() once the previous one is written to the
// client (backpressure), and calls Release() when it stops reading.
class StreamCall
    : public Cancellable,
      public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
      public std::enable_shared_from_this<StreamCall> {
 public:
  StreamCall(std::shared_ptr<UpstreamSink> sink, CallRegistry* registry)
      : sink_(std::move(sink)), registry_(registry) {}

  // False (nothing started) when shutting down.
  bool Start(grpc::GenericStub* stub, const UpstreamRequest& request);
  void Next() { StartRead(&response_); }
  void Release() { RemoveHold(); }
  void Cancel() override { ctx_.TryCancel(); }

  void OnReadInitialMetadataDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  std::shared_ptr<UpstreamSink> sink_;
  CallRegistry* registry_;
  std::shared_ptr<StreamCall> self_;  // alive until OnDone
  grpc::ClientContext ctx_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  // Initial metadata goes to the sink once (the reactions may race).
  std::atomic<bool> metadata_taken_{false};
};

}  // namespace leadrelay::gateway

#endif  // LEADRELAY_GATEWAY_UPSTREAM_CALL_H_
