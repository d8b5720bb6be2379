#include "test_backend.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"
#include "google/protobuf/dynamic_message.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/generic/async_generic_service.h"

namespace leadrelay::gateway::testing {
namespace {

using google::protobuf::Message;

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  buffer.Dump(&slices).IgnoreError();
  std::string out;
  for (const auto& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

std::string StatusDetails(int code, const std::string& message,
                          const std::string& reason, int retry) {
  google::rpc::Status status;
  status.set_code(code);
  status.set_message(message);
  if (retry > 0) {
    google::rpc::RetryInfo info;
    info.mutable_retry_delay()->set_seconds(retry);
    status.add_details()->PackFrom(info);
  }
  if (!reason.empty()) {
    google::rpc::ErrorInfo info;
    info.set_reason(reason);
    info.set_domain("leadrelay.dev");
    if (retry > 0) {
      (*info.mutable_metadata())["retry_after_seconds"] = std::to_string(retry);
    }
    status.add_details()->PackFrom(info);
  }
  return status.SerializeAsString();
}

class Backend;

class Reactor : public grpc::ServerGenericBidiReactor {
 public:
  Reactor(Backend* backend, grpc::GenericCallbackServerContext* ctx);
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override { delete this; }

 private:
  // Finish may run OnDone (which deletes this) before it returns: never call
  // it, nor touch members after it, with mu_ held.
  void FinishOnce(const grpc::Status& status) {
    if (!TakeFinish()) return;
    Finish(status);
  }
  bool TakeFinish() {
    absl::MutexLock lock(&mu_);
    if (finished_) return false;
    finished_ = true;
    return true;
  }
  void WriteNext();

  Backend* backend_;
  grpc::GenericCallbackServerContext* ctx_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::unique_ptr<Message> item_;
  int remaining_ = 0;
  int sent_ = 0;
  bool wait_for_cancel_ = false;
  bool is_stream_ = false;
  grpc::Status final_status_;
  absl::Mutex mu_;
  bool finished_ = false;
};

class Backend : public TestBackend, public grpc::CallbackGenericService {
 public:
  bool Init(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    google::protobuf::FileDescriptorSet set;
    if (!set.ParseFromString(ss.str())) return false;
    for (const auto& f : set.file()) db_.Add(f);
    pool_ = std::make_unique<google::protobuf::DescriptorPool>(&db_);
    factory_ =
        std::make_unique<google::protobuf::DynamicMessageFactory>(pool_.get());
    item_type_ = pool_->FindMessageTypeByName("gwtest.v1.Item");
    if (item_type_ == nullptr) return false;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterCallbackGenericService(this);
    server_ = builder.BuildAndStart();
    return server_ != nullptr && port_ > 0;
  }
  ~Backend() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  std::shared_ptr<grpc::Channel> NewChannel() override {
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                               grpc::InsecureChannelCredentials());
  }

  bool WaitForCancellations(int count, absl::Duration timeout) override {
    absl::MutexLock lock(&mu_);
    auto reached = [this, count] {
      mu_.AssertHeld();
      return cancellations_ >= count;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }

  int Cancellations() override {
    absl::MutexLock lock(&mu_);
    return cancellations_;
  }

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* ctx) override {
    return new Reactor(this, ctx);
  }

  void NoteCancelled() {
    absl::MutexLock lock(&mu_);
    ++cancellations_;
  }

  std::unique_ptr<Message> NewItem() {
    return std::unique_ptr<Message>(factory_->GetPrototype(item_type_)->New());
  }

 private:
  google::protobuf::SimpleDescriptorDatabase db_;
  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  std::unique_ptr<google::protobuf::DynamicMessageFactory> factory_;
  const google::protobuf::Descriptor* item_type_ = nullptr;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Mutex mu_;
  int cancellations_ = 0;
};

Reactor::Reactor(Backend* backend, grpc::GenericCallbackServerContext* ctx)
    : backend_(backend),
      ctx_(ctx),
      is_stream_(absl::EndsWith(ctx->method(), "/Stream")) {
  StartRead(&request_);
}

void Reactor::OnReadDone(bool ok) {
  if (!ok)
    return FinishOnce(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
  item_ = backend_->NewItem();
  if (!item_->ParseFromString(ToString(request_))) {
    return FinishOnce(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad request"));
  }
  const auto* d = item_->GetDescriptor();
  const auto* r = item_->GetReflection();
  r->SetString(item_.get(), d->FindFieldByName("method"), ctx_->method());
  for (const auto& [key, value] : ctx_->client_metadata()) {
    std::string k(key.data(), key.size());
    if (k == "authorization" || absl::StartsWith(k, "x-")) {
      r->AddString(
          item_.get(), d->FindFieldByName("metadata"),
          absl::StrCat(k, "=", std::string(value.data(), value.size())));
    }
  }
  if (ctx_->deadline() <
      std::chrono::system_clock::now() + std::chrono::hours(1)) {
    r->AddString(item_.get(), d->FindFieldByName("metadata"), "deadline=set");
  }
  ctx_->AddInitialMetadata("x-ratelimit-limit", "60");
  ctx_->AddInitialMetadata("x-ratelimit-remaining", "59");
  ctx_->AddInitialMetadata("x-ratelimit-reset", "30");

  int fail_code = r->GetInt32(*item_, d->FindFieldByName("fail_code"));
  if (fail_code != 0) {
    std::string message =
        r->GetString(*item_, d->FindFieldByName("fail_message"));
    final_status_ = grpc::Status(
        static_cast<grpc::StatusCode>(fail_code), message,
        StatusDetails(fail_code, message,
                      r->GetString(*item_, d->FindFieldByName("fail_reason")),
                      r->GetInt32(*item_, d->FindFieldByName("retry_after"))));
  }
  if (absl::EndsWith(ctx_->method(), "/Stream")) {
    int count = r->GetInt32(*item_, d->FindFieldByName("stream_count"));
    if (count < 0) {
      wait_for_cancel_ = true;
      if (count == -2) {  // headers only, then nothing until cancelled
        StartSendInitialMetadata();
        return;
      }
      count = 1;
    }
    remaining_ = count;
    return WriteNext();
  }
  if (!final_status_.ok()) return FinishOnce(final_status_);
  response_ = grpc::ByteBuffer();
  grpc::Slice slice(item_->SerializeAsString());
  response_ = grpc::ByteBuffer(&slice, 1);
  if (!TakeFinish()) return;
  StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
}

void Reactor::WriteNext() {
  if (remaining_ == 0) {
    if (wait_for_cancel_) return;  // OnCancel finishes
    return FinishOnce(final_status_);
  }
  --remaining_;
  const auto* d = item_->GetDescriptor();
  item_->GetReflection()->SetInt32(item_.get(), d->FindFieldByName("int_val"),
                                   sent_++);
  grpc::Slice slice(item_->SerializeAsString());
  response_ = grpc::ByteBuffer(&slice, 1);
  StartWrite(&response_);
}

void Reactor::OnWriteDone(bool ok) {
  if (!ok)
    return FinishOnce(
        grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
  WriteNext();
}

void Reactor::OnCancel() {
  if (is_stream_) backend_->NoteCancelled();
  FinishOnce(grpc::Status::CANCELLED);
}

}  // namespace

std::unique_ptr<TestBackend> TestBackend::Start(
    const std::string& descriptor_set) {
  auto backend = std::make_unique<Backend>();
  if (!backend->Init(descriptor_set)) return nullptr;
  return backend;
}

}  // namespace leadrelay::gateway::testing
