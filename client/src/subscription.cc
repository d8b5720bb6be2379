#include "leadrelay/subscription.h"

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "leadrelay/errors.h"

namespace leadrelay {
namespace {

// Failures that end a subscription: retrying cannot fix them.
bool IsPermanent(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kFailedPrecondition:
      return true;
    default:
      return false;
  }
}

}  // namespace

RetryPolicy DefaultStreamBackoff() {
  RetryPolicy policy;
  policy.max_attempts = 0;
  policy.initial_backoff = absl::Milliseconds(200);
  policy.max_backoff = absl::Seconds(5);
  return policy;
}

absl::StatusOr<std::string> ReadCursorFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return std::string();
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read checkpoint file ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(text.str()));
}

absl::Status WriteCursorFile(const std::string& path,
                             const std::string& cursor) {
  const std::string temp = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(temp, std::ios::trunc);
    out << cursor << "\n";
    out.flush();
    if (!out) {
      return absl::UnavailableError(
          absl::StrCat("cannot write checkpoint file ", temp));
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot replace checkpoint file ", path));
  }
  return absl::OkStatus();
}

Subscription::Subscription(Client& client, SubscriptionOptions options,
                           EventHandler on_event)
    : client_(client),
      options_(std::move(options)),
      on_event_(std::move(on_event)) {}

absl::StatusOr<std::unique_ptr<Subscription>> Subscription::Start(
    Client& client, SubscriptionOptions options, EventHandler on_event) {
  if (!options.checkpoint_file.empty() && options.request.after().empty() &&
      !options.request.has_since()) {
    absl::StatusOr<std::string> saved = ReadCursorFile(options.checkpoint_file);
    if (!saved.ok()) return saved.status();
    options.request.set_after(*saved);
  }
  std::unique_ptr<Subscription> sub(
      new Subscription(client, std::move(options), std::move(on_event)));
  {
    absl::MutexLock lock(&sub->mu_);
    sub->cursor_ = sub->options_.request.after();
  }
  sub->thread_ = std::thread([s = sub.get()] { s->Run(); });
  return sub;
}

Subscription::~Subscription() { Stop(); }

void Subscription::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (live_context_ != nullptr) live_context_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status Subscription::Wait() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](std::optional<absl::Status>* r) { return r->has_value(); },
      &result_));
  return *result_;
}

std::optional<absl::Status> Subscription::WaitFor(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(
      absl::Condition(
          +[](std::optional<absl::Status>* r) { return r->has_value(); },
          &result_),
      timeout);
  return result_;
}

std::string Subscription::cursor() const {
  absl::MutexLock lock(&mu_);
  return cursor_;
}

int Subscription::connections() const {
  absl::MutexLock lock(&mu_);
  return connections_;
}

void Subscription::Advance(const std::string& cursor) {
  if (cursor.empty()) return;
  {
    absl::MutexLock lock(&mu_);
    if (cursor == cursor_) return;
    cursor_ = cursor;
  }
  if (!options_.checkpoint_file.empty()) {
    // A failed write is retried at the next checkpoint; the in-memory cursor
    // stays right either way.
    (void)WriteCursorFile(options_.checkpoint_file, cursor);
  }
  if (options_.on_checkpoint) options_.on_checkpoint(cursor);
}

absl::Status Subscription::ReadOnce(bool* progressed) {
  grpc::ClientContext context;
  v1::StreamEventsRequest request = options_.request;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("stopped");
    if (!cursor_.empty()) {
      // Resume exactly after what was handed over; the original `since` no
      // longer applies.
      request.set_after(cursor_);
      request.clear_since();
    }
    live_context_ = &context;
    ++connections_;
  }
  std::unique_ptr<grpc::ClientReader<v1::StreamEventsResponse>> reader =
      client_.OpenEventStream(&context, request);
  v1::StreamEventsResponse message;
  while (reader->Read(&message)) {
    *progressed = true;
    if (message.has_event()) on_event_(message.event());
    Advance(message.cursor());
  }
  absl::Status status = FromGrpcStatus(reader->Finish());
  absl::MutexLock lock(&mu_);
  live_context_ = nullptr;
  if (stopping_) return absl::CancelledError("stopped");
  // A stream the server closed cleanly is resumed like a broken one.
  if (status.ok()) return absl::UnavailableError("stream ended by the server");
  return status;
}

void Subscription::Run() {
  absl::BitGen gen;
  int failures = 0;
  absl::Status final_status = absl::OkStatus();
  for (;;) {
    bool progressed = false;
    absl::Status status = ReadOnce(&progressed);
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
    }
    if (IsPermanent(status)) {
      final_status = status;
      break;
    }
    failures = progressed ? 1 : failures + 1;
    absl::Duration wait =
        Backoff(options_.backoff, failures, absl::Uniform(gen, 0.0, 1.0));
    if (std::optional<absl::Duration> server = RetryDelay(status)) {
      wait = std::max(wait, *server);
    }
    if (options_.on_reconnect) options_.on_reconnect(status, wait);
    absl::MutexLock lock(&mu_);
    // Sleeps the backoff, or less when Stop() is called meanwhile.
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait);
    if (stopping_) break;
  }
  absl::MutexLock lock(&mu_);
  result_ = final_status;
}

}  // namespace leadrelay
