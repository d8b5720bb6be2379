#include "support/harness.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace leadrelay::itest {
namespace {

constexpr char kErrorDomain[] = "leadrelay.dev";
constexpr int kCallDeadlineSeconds = 10;
constexpr int kReadinessSeconds = 20;
constexpr int kBootstrapSeconds = 60;

std::chrono::system_clock::time_point DeadlineIn(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

std::optional<google::rpc::Status> DetailsOf(const grpc::Status& status) {
  if (status.error_details().empty()) return std::nullopt;
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return std::nullopt;
  return details;
}

template <typename Message>
std::optional<Message> FindDetail(const grpc::Status& status) {
  std::optional<google::rpc::Status> details = DetailsOf(status);
  if (!details.has_value()) return std::nullopt;
  for (const google::protobuf::Any& any : details->details()) {
    Message message;
    if (any.Is<Message>() && any.UnpackTo(&message)) return message;
  }
  return std::nullopt;
}

std::string CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return absl::StrCat("code ", static_cast<int>(code));
  }
}

// Finds `key` in a metadata multimap; nullopt when absent.
std::optional<std::string> FindMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const std::string& key) {
  auto it = metadata.find(key);
  if (it == metadata.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

absl::StatusOr<RateLimitHeaders> ParseRateLimit(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const std::string& source) {
  RateLimitHeaders headers;
  headers.source = source;
  struct Field {
    const char* name;
    int64_t* value;
  };
  for (const Field& field : {Field{"x-ratelimit-limit", &headers.limit},
                             Field{"x-ratelimit-remaining", &headers.remaining},
                             Field{"x-ratelimit-reset", &headers.reset}}) {
    std::optional<std::string> text = FindMetadata(metadata, field.name);
    if (!text.has_value()) {
      return absl::NotFoundError(
          absl::StrCat(field.name, " missing from ", source, " metadata"));
    }
    if (!absl::SimpleAtoi(*text, field.value)) {
      return absl::InvalidArgumentError(absl::StrCat(
          field.name, " is not an integer: '", *text, "' (", source, ")"));
    }
  }
  return headers;
}

}  // namespace

Api::Api(const std::shared_ptr<grpc::Channel>& channel)
    : channel(channel),
      accounts(v1::AccountService::NewStub(channel)),
      keys(v1::ApiKeyService::NewStub(channel)),
      leads(v1::LeadService::NewStub(channel)),
      events(v1::EventService::NewStub(channel)),
      webhooks(v1::WebhookService::NewStub(channel)) {}

absl::StatusOr<std::unique_ptr<Harness>> Harness::Start(int num_servers) {
  absl::StatusOr<std::string> server_bin = RequiredEnv("LEADRELAY_SERVER_BIN");
  if (!server_bin.ok()) return server_bin.status();
  absl::StatusOr<std::string> admin_url = RequiredEnv("LEADRELAY_TEST_PG_URL");
  if (!admin_url.ok()) return admin_url.status();
  if (access(server_bin->c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("LEADRELAY_SERVER_BIN=", *server_bin,
                     " is not an executable file; build leadrelay-server"));
  }

  std::unique_ptr<Harness> harness(new Harness());
  harness->server_bin_ = *server_bin;
  absl::StatusOr<std::unique_ptr<TempDir>> temp_dir = TempDir::Create();
  if (!temp_dir.ok()) return temp_dir.status();
  harness->temp_dir_ = *std::move(temp_dir);
  absl::StatusOr<std::unique_ptr<TempDatabase>> database =
      TempDatabase::Create(*admin_url);
  if (!database.ok()) return database.status();
  harness->database_ = *std::move(database);

  // The bootstrap applies the migrations, so it comes before the servers and
  // before our own connection looks at any table.
  absl::StatusOr<Account> probe =
      harness->BootstrapAccount("readiness-probe", "enterprise", 0);
  if (!probe.ok()) return probe.status();
  harness->probe_ = *std::move(probe);

  absl::StatusOr<std::unique_ptr<PgConnection>> db =
      PgConnection::Open(harness->database_->url());
  if (!db.ok()) return db.status();
  harness->db_ = *std::move(db);

  for (int i = 0; i < num_servers; ++i) {
    absl::Status started = harness->StartServer();
    if (!started.ok()) {
      harness->KeepLogs();
      return started;
    }
  }
  return harness;
}

Harness::~Harness() {
  for (Server& server : servers_) {
    server.api.reset();
    if (server.process != nullptr) server.process->Stop();
  }
  db_.reset();
  database_.reset();
}

absl::Status Harness::StartServer() {
  absl::StatusOr<int> port = PickFreePort();
  if (!port.ok()) return port.status();
  Server server;
  server.address = absl::StrCat("127.0.0.1:", *port);
  std::string log_path =
      absl::StrCat(temp_dir_->path(), "/server-", servers_.size(), ".log");
  absl::StatusOr<std::unique_ptr<ChildProcess>> process = ChildProcess::Spawn(
      {server_bin_, absl::StrCat("--database_url=", database_->url()),
       absl::StrCat("--grpc_address=", server.address),
       "--allow_webhook_hosts=localhost,127.0.0.1"},
      log_path);
  if (!process.ok()) return process.status();
  server.process = *std::move(process);
  server.api = std::make_unique<Api>(
      grpc::CreateChannel(server.address, grpc::InsecureChannelCredentials()));

  // Ready when GetMe with a valid key gets an answer other than UNAVAILABLE.
  const auto deadline = DeadlineIn(kReadinessSeconds);
  grpc::Status last;
  while (std::chrono::system_clock::now() < deadline) {
    if (!server.process->IsRunning()) {
      return absl::UnavailableError(absl::StrCat(
          "leadrelay-server on ", server.address, " ",
          server.process->ExitDescription(), " during start-up; log tail:\n",
          FileTail(log_path, 40)));
    }
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    context.set_deadline(DeadlineIn(1));
    context.AddMetadata("authorization", "Bearer " + probe_.admin_key);
    v1::GetMeResponse response;
    last = server.api->accounts->GetMe(&context, v1::GetMeRequest(), &response);
    if (last.error_code() != grpc::StatusCode::UNAVAILABLE &&
        last.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      servers_.push_back(std::move(server));
      return absl::OkStatus();
    }
  }
  std::string how = server.process->Stop();
  return absl::UnavailableError(absl::StrCat(
      "leadrelay-server on ", server.address, " not serving after ",
      kReadinessSeconds, " s (last GetMe: ", Describe(last),
      "); stopped: ", how, "; log tail:\n", FileTail(log_path, 40)));
}

absl::StatusOr<Account> BootstrapAccountWith(const std::string& server_bin,
                                             const std::string& database_url,
                                             const std::string& name,
                                             const std::string& plan,
                                             int credits,
                                             const std::string& log_path) {
  absl::StatusOr<std::string> output = RunToCompletion(
      {server_bin, absl::StrCat("--database_url=", database_url),
       absl::StrCat("--bootstrap_account=", name),
       absl::StrCat("--bootstrap_plan=", plan),
       absl::StrCat("--bootstrap_credits=", credits)},
      log_path, kBootstrapSeconds);
  if (!output.ok()) return output.status();
  Account account;
  account.name = name;
  for (absl::string_view line : absl::StrSplit(*output, '\n')) {
    line = absl::StripSuffix(line, "\r");
    if (absl::ConsumePrefix(&line, "account_id=")) {
      account.id = std::string(line);
    } else if (absl::ConsumePrefix(&line, "api_key=")) {
      account.admin_key = std::string(line);
    }
  }
  if (account.id.empty() || account.admin_key.empty()) {
    return absl::InternalError(
        absl::StrCat("bootstrap of '", name,
                     "' did not print account_id= and api_key= lines; "
                     "stdout:\n",
                     *output));
  }
  return account;
}

absl::StatusOr<Account> Harness::BootstrapAccount(const std::string& name,
                                                  const std::string& plan,
                                                  int credits) {
  return BootstrapAccountWith(
      server_bin_, database_->url(), name, plan, credits,
      absl::StrCat(temp_dir_->path(), "/bootstrap-", bootstraps_++, ".log"));
}

std::string Harness::LogTails(int lines) const {
  std::string out;
  for (const Server& server : servers_) {
    absl::StrAppend(&out, "---- leadrelay-server ", server.address, " (",
                    server.process->log_path(), "), last ", lines, " lines:\n",
                    FileTail(server.process->log_path(), lines), "\n");
  }
  return out;
}

void Authorize(grpc::ClientContext* context, const std::string& key) {
  SetDeadline(context);
  if (!key.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", key));
  }
}

void AuthorizeWithApiKeyHeader(grpc::ClientContext* context,
                               const std::string& key) {
  SetDeadline(context);
  context->AddMetadata("x-api-key", key);
}

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(DeadlineIn(kCallDeadlineSeconds));
}

std::string Describe(const grpc::Status& status) {
  std::string out =
      absl::StrCat(CodeName(status.error_code()), ": ", status.error_message());
  if (std::optional<ErrorInfo> info = ErrorInfoOf(status)) {
    absl::StrAppend(&out, " [ErrorInfo reason=", info->reason,
                    " domain=", info->domain, "]");
  } else if (!status.ok()) {
    absl::StrAppend(&out, " [no ErrorInfo]");
  }
  return out;
}

std::optional<ErrorInfo> ErrorInfoOf(const grpc::Status& status) {
  std::optional<google::rpc::ErrorInfo> info =
      FindDetail<google::rpc::ErrorInfo>(status);
  if (!info.has_value()) return std::nullopt;
  return ErrorInfo{info->reason(),
                   info->domain(),
                   {info->metadata().begin(), info->metadata().end()}};
}

std::optional<google::rpc::RetryInfo> RetryInfoOf(const grpc::Status& status) {
  return FindDetail<google::rpc::RetryInfo>(status);
}

::testing::AssertionResult IsOk(const grpc::Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "call failed: " << Describe(status);
}

::testing::AssertionResult HasError(const grpc::Status& status,
                                    grpc::StatusCode code,
                                    const std::string& reason) {
  if (status.error_code() != code) {
    return ::testing::AssertionFailure()
           << "expected " << CodeName(code) << " (" << reason << "), got "
           << Describe(status);
  }
  std::optional<ErrorInfo> info = ErrorInfoOf(status);
  if (!info.has_value()) {
    return ::testing::AssertionFailure()
           << "expected ErrorInfo reason '" << reason
           << "' in the status details, got " << Describe(status)
           << (status.error_details().empty() ? " (error_details empty)" : "");
  }
  if (info->reason != reason || info->domain != kErrorDomain) {
    return ::testing::AssertionFailure()
           << "expected ErrorInfo reason '" << reason << "' domain '"
           << kErrorDomain << "', got " << Describe(status);
  }
  return ::testing::AssertionSuccess();
}

absl::StatusOr<RateLimitHeaders> ReadRateLimitHeaders(
    const grpc::ClientContext& context) {
  absl::StatusOr<RateLimitHeaders> initial =
      ParseRateLimit(context.GetServerInitialMetadata(), "initial");
  if (initial.ok()) return initial;
  absl::StatusOr<RateLimitHeaders> trailing =
      ParseRateLimit(context.GetServerTrailingMetadata(), "trailing");
  if (trailing.ok()) return trailing;
  return absl::NotFoundError(absl::StrCat(initial.status().message(), "; ",
                                          trailing.status().message()));
}

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string UtcDate(int offset_days) {
  std::time_t when = static_cast<std::time_t>(UnixNow()) +
                     static_cast<std::time_t>(offset_days) * 86400;
  std::tm parts{};
  gmtime_r(&when, &parts);
  char buffer[16];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d", &parts);
  return buffer;
}

std::string UniqueName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return absl::StrCat(prefix, "-", UnixNow(), "-", counter.fetch_add(1));
}

}  // namespace leadrelay::itest
