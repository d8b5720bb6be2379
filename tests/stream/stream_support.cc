#include "stream/stream_support.h"

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace leadrelay::itest {
namespace {

std::chrono::system_clock::time_point Deadline(absl::Duration in) {
  return absl::ToChronoTime(absl::Now() + in);
}

}  // namespace

Subscription::Subscription(v1::EventService::Stub& stub, const std::string& key,
                           const v1::StreamEventsRequest& request,
                           absl::Duration call_deadline) {
  context_.set_deadline(Deadline(call_deadline));
  if (!key.empty()) {
    context_.AddMetadata("authorization", absl::StrCat("Bearer ", key));
  }
  reader_ = stub.StreamEvents(&context_, request);
  thread_ = std::thread([this] { ReadLoop(); });
}

Subscription::~Subscription() { Cancel(); }

void Subscription::ReadLoop() {
  v1::StreamEventsResponse message;
  while (reader_->Read(&message)) {
    absl::MutexLock lock(&mu_);
    if (message.has_event()) ++events_;
    if (message.has_heartbeat()) ++heartbeats_;
    messages_.push_back(std::move(message));
    message.Clear();
  }
  grpc::Status status = reader_->Finish();
  absl::MutexLock lock(&mu_);
  end_ = std::move(status);
}

bool Subscription::WaitUntil(const Predicate& done, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto holds = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return done(View{messages_, events_, heartbeats_, end_});
  };
  return mu_.AwaitWithTimeout(absl::Condition(&holds), timeout);
}

bool Subscription::WaitForEvents(int count, absl::Duration timeout) {
  bool ended_early = false;
  bool reached = WaitUntil(
      [&](const View& v) {
        if (v.events >= count) return true;
        ended_early = v.end.has_value();
        return ended_early;
      },
      timeout);
  return reached && !ended_early;
}

std::optional<grpc::Status> Subscription::WaitForEnd(absl::Duration timeout) {
  WaitUntil([](const View& v) { return v.end.has_value(); }, timeout);
  return End();
}

std::vector<v1::StreamEventsResponse> Subscription::Messages() {
  absl::MutexLock lock(&mu_);
  return messages_;
}

std::vector<v1::Event> Subscription::Events() {
  absl::MutexLock lock(&mu_);
  std::vector<v1::Event> out;
  for (const v1::StreamEventsResponse& m : messages_) {
    if (m.has_event()) out.push_back(m.event());
  }
  return out;
}

std::optional<grpc::Status> Subscription::End() {
  absl::MutexLock lock(&mu_);
  return end_;
}

std::string Subscription::Summary() {
  absl::MutexLock lock(&mu_);
  std::string out = absl::StrCat(messages_.size(), " messages (", events_,
                                 " events, ", heartbeats_, " heartbeats)");
  if (!messages_.empty()) {
    const v1::StreamEventsResponse& last = messages_.back();
    absl::StrAppend(
        &out, ", last: ", last.has_event() ? last.event().type() : "heartbeat",
        " cursor ", last.cursor());
  }
  absl::StrAppend(&out, end_.has_value()
                            ? absl::StrCat(", ended ", Describe(*end_))
                            : ", still open");
  return out;
}

void Subscription::Cancel() {
  if (!thread_.joinable()) return;
  context_.TryCancel();
  thread_.join();
}

std::vector<std::string> IdsOf(const std::vector<v1::Event>& events) {
  std::vector<std::string> ids;
  ids.reserve(events.size());
  for (const v1::Event& e : events) ids.push_back(e.id());
  return ids;
}

std::string FirstDuplicate(const std::vector<std::string>& ids) {
  std::set<std::string> seen;
  for (const std::string& id : ids) {
    if (!seen.insert(id).second) return id;
  }
  return "";
}

v1::PublishEventRequest DmSent(const std::string& tag) {
  return EventOfType("dm.sent", tag);
}

v1::PublishEventRequest EventOfType(const std::string& type,
                                    const std::string& tag) {
  v1::PublishEventRequest request;
  request.set_type(type);
  if (type == "dm.sent" || type == "dm.failed") {
    v1::DirectMessageData* dm = request.mutable_dm();
    dm->set_platform("instagram");
    dm->set_tracked_username("leadrelay_stream");
    dm->set_target_username("someone");
    dm->set_message(tag);
    if (type == "dm.failed") dm->set_error("blocked");
  } else if (type == "follower.gained" || type == "follower.lost") {
    v1::FollowerChangeData* f = request.mutable_follower();
    f->set_platform("instagram");
    f->set_tracked_username("leadrelay_stream");
    f->set_target_username(tag);
    f->set_target_user_id("42");
    f->set_change_date(UtcDate());
  } else if (type == "stats.updated") {
    v1::StatsUpdatedData* s = request.mutable_stats();
    s->set_platform("instagram");
    s->set_username(tag);
    s->set_follower_count(10);
  } else if (type == "job.completed" || type == "job.failed") {
    v1::JobData* j = request.mutable_job();
    j->set_job_id(7);
    j->set_job_type(tag);
    j->set_status(type == "job.failed" ? "failed" : "completed");
  } else if (type == "connection.completed") {
    v1::ConnectionCompletedData* c = request.mutable_connection();
    c->set_custom_user_id(tag);
    c->set_status("success");
  }
  return request;
}

absl::StatusOr<v1::Event> Publish(v1::EventService::Stub& stub,
                                  const std::string& key,
                                  const v1::PublishEventRequest& request) {
  grpc::ClientContext context;
  Authorize(&context, key);
  v1::PublishEventResponse response;
  grpc::Status status = stub.PublishEvent(&context, request, &response);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("PublishEvent ", request.type(), ": ", Describe(status)));
  }
  return response.event();
}

absl::StatusOr<std::vector<v1::Event>> ListAllEvents(
    v1::EventService::Stub& stub, const std::string& key,
    const std::string& after) {
  std::vector<v1::Event> out;
  std::string cursor = after;
  for (;;) {
    grpc::ClientContext context;
    Authorize(&context, key);
    v1::ListEventsRequest request;
    request.set_after(cursor);
    request.set_limit(1000);
    v1::ListEventsResponse response;
    grpc::Status status = stub.ListEvents(&context, request, &response);
    if (!status.ok()) {
      return absl::InternalError(
          absl::StrCat("ListEvents: ", Describe(status)));
    }
    if (response.events_size() == 0) return out;
    for (const v1::Event& e : response.events()) out.push_back(e);
    cursor = response.next_cursor();
  }
}

absl::StatusOr<std::string> CreateKey(Api& api, const std::string& admin_key,
                                      const std::vector<std::string>& scopes) {
  grpc::ClientContext context;
  Authorize(&context, admin_key);
  v1::CreateApiKeyRequest request;
  request.set_name(UniqueName("stream-key"));
  for (const std::string& s : scopes) request.add_scopes(s);
  v1::CreateApiKeyResponse response;
  grpc::Status status = api.keys->CreateApiKey(&context, request, &response);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("CreateApiKey: ", Describe(status)));
  }
  return response.key();
}

int64_t ResidentKib(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, "VmRSS:")) {
      rest = absl::StripAsciiWhitespace(rest);
      rest = absl::StripSuffix(rest, "kB");
      int64_t kib = -1;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &kib)) return kib;
    }
  }
  return -1;
}

absl::StatusOr<std::unique_ptr<ExtraServer>> ExtraServer::Start(
    const Harness& harness, const std::string& probe_key,
    const std::vector<std::string>& extra_flags) {
  absl::StatusOr<std::string> bin = RequiredEnv("LEADRELAY_SERVER_BIN");
  if (!bin.ok()) return bin.status();
  absl::StatusOr<int> port = PickFreePort();
  if (!port.ok()) return port.status();
  std::unique_ptr<ExtraServer> server(new ExtraServer());
  absl::StatusOr<std::unique_ptr<TempDir>> dir = TempDir::Create();
  if (!dir.ok()) return dir.status();
  server->dir_ = *std::move(dir);
  server->address_ = absl::StrCat("127.0.0.1:", *port);
  const std::string& address = server->address_;
  std::vector<std::string> argv = {
      *bin, absl::StrCat("--database_url=", harness.database_url()),
      absl::StrCat("--grpc_address=", address),
      "--allow_webhook_hosts=localhost,127.0.0.1"};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> process = ChildProcess::Spawn(
      argv, absl::StrCat(server->dir_->path(), "/server.log"));
  if (!process.ok()) return process.status();
  server->process_ = *std::move(process);
  server->api_ = std::make_unique<Api>(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));

  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  grpc::Status last;
  while (absl::Now() < give_up) {
    if (!server->process_->IsRunning()) {
      return absl::UnavailableError(
          absl::StrCat("leadrelay-server ", server->process_->ExitDescription(),
                       " during start-up; log:\n", server->LogTail()));
    }
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    context.set_deadline(Deadline(absl::Seconds(1)));
    context.AddMetadata("authorization", absl::StrCat("Bearer ", probe_key));
    v1::GetMeResponse response;
    last =
        server->api_->accounts->GetMe(&context, v1::GetMeRequest(), &response);
    if (last.error_code() != grpc::StatusCode::UNAVAILABLE &&
        last.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return server;
    }
  }
  return absl::UnavailableError(
      absl::StrCat("leadrelay-server on ", address, " not serving after 30 s (",
                   Describe(last), "); log:\n", server->LogTail()));
}

ExtraServer::~ExtraServer() {
  api_.reset();
  if (process_ != nullptr) process_->Stop();
}

std::string ExtraServer::LogTail(int lines) const {
  return FileTail(process_->log_path(), lines);
}

}  // namespace leadrelay::itest
