#include "gateway/upstream_call.h"

#include <boost/asio/post.hpp>
#include <chrono>
#include <utility>
#include <vector>

namespace leadrelay::gateway {
namespace {

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

// The request headers become metadata; grpc-timeout a deadline.
void PrepareContext(grpc::ClientContext* ctx, const UpstreamRequest& request) {
  for (const auto& [key, value] : request.metadata)
    ctx->AddMetadata(key, value);
  if (request.timeout) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      absl::ToChronoNanoseconds(*request.timeout));
  }
}

class UnaryCall : public Cancellable {
 public:
  void Cancel() override { ctx.TryCancel(); }
  grpc::ClientContext ctx;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
};

}  // namespace

bool CallRegistry::Add(const void* key, std::weak_ptr<Cancellable> call) {
  absl::MutexLock lock(&mu_);
  if (closed_) return false;
  calls_[key] = std::move(call);
  return true;
}

void CallRegistry::Remove(const void* key) {
  absl::MutexLock lock(&mu_);
  calls_.erase(key);
}

void CallRegistry::CancelAllAndWait() {
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

bool StartUnaryCall(grpc::GenericStub* stub, CallRegistry* registry,
                    std::shared_ptr<UpstreamSink> sink,
                    const UpstreamRequest& request) {
  auto call = std::make_shared<UnaryCall>();
  PrepareContext(&call->ctx, request);
  call->request = ToByteBuffer(request.message);
  if (!registry->Add(call.get(), call)) return false;
  stub->UnaryCall(
      &call->ctx, request.route->grpc_path, grpc::StubOptions(), &call->request,
      &call->response,
      [sink = std::move(sink), call, registry](grpc::Status status) mutable {
        HeaderList md;
        AppendMetadata(call->ctx.GetServerInitialMetadata(), &md);
        AppendMetadata(call->ctx.GetServerTrailingMetadata(), &md);
        std::string response = status.ok() ? ToString(call->response) : "";
        {
          // Every reference to I/O objects (connection, executor) is gone
          // before Remove: once the registry is empty the io_context may be
          // destroyed.
          boost::asio::any_io_executor executor = sink->executor();
          boost::asio::post(
              executor,
              [sink = std::move(sink), status = std::move(status),
               response = std::move(response), md = std::move(md)]() mutable {
                sink->OnUnaryDone(std::move(status), std::move(response),
                                  std::move(md));
              });
        }
        registry->Remove(call.get());
      });
  return true;
}

bool StreamCall::Start(grpc::GenericStub* stub,
                       const UpstreamRequest& request) {
  PrepareContext(&ctx_, request);
  if (!registry_->Add(&ctx_, shared_from_this())) return false;
  self_ = shared_from_this();
  request_ = ToByteBuffer(request.message);
  stub->PrepareBidiStreamingCall(&ctx_, request.route->grpc_path,
                                 grpc::StubOptions(), this);
  StartWriteLast(&request_, grpc::WriteOptions());
  AddHold();  // released by the sink once it stops reading
  StartRead(&response_);
  StartCall();
  return true;
}

void StreamCall::OnReadInitialMetadataDone(bool ok) {
  // Not ok: the call failed before the server sent headers (trailers only);
  // OnDone reports it.
  if (!ok || metadata_taken_.exchange(true)) return;
  HeaderList md;
  AppendMetadata(ctx_.GetServerInitialMetadata(), &md);
  boost::asio::post(sink_->executor(),
                    [sink = sink_, md = std::move(md)]() mutable {
                      sink->OnStreamHeaders(std::move(md));
                    });
}

void StreamCall::OnReadDone(bool ok) {
  std::string bytes;
  HeaderList md;
  if (ok) {
    bytes = ToString(response_);
    if (!metadata_taken_.exchange(true)) {
      AppendMetadata(ctx_.GetServerInitialMetadata(), &md);
    }
  }
  boost::asio::post(sink_->executor(),
                    [sink = sink_, ok, bytes = std::move(bytes),
                     md = std::move(md)]() mutable {
                      sink->OnStreamRead(ok, std::move(bytes), std::move(md));
                    });
}

void StreamCall::OnDone(const grpc::Status& status) {
  HeaderList md;
  AppendMetadata(ctx_.GetServerInitialMetadata(), &md);
  AppendMetadata(ctx_.GetServerTrailingMetadata(), &md);
  std::shared_ptr<StreamCall> self = std::move(self_);  // deleted last
  CallRegistry* registry = registry_;
  {
    // No reference to I/O objects may outlive Remove (see StartUnaryCall).
    std::shared_ptr<UpstreamSink> sink = std::move(sink_);
    boost::asio::any_io_executor executor = sink->executor();
    boost::asio::post(executor, [sink = std::move(sink), status,
                                 md = std::move(md)]() mutable {
      sink->OnStreamDone(status, std::move(md));
    });
  }
  registry->Remove(&ctx_);
}

}  // namespace leadrelay::gateway
