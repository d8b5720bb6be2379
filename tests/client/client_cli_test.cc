// The `leadrelay` binary against a real leadrelay-server and PostgreSQL:
// `listen --forward-to` against a local receiver that checks both
// signatures (and compares with a real delivery of the same event), `verify`
// on a real delivery and a tampered one, and `leads import` of a CSV with
// good, duplicate and malformed rows, twice; `leads erase`.
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "delivery/delivery_env.h"
#include "delivery/http_receiver.h"
#include "delivery/test_crypto.h"
#include "gtest/gtest.h"
#include "leadrelay/client.h"
#include "leadrelay/errors.h"
#include "support/process.h"

namespace leadrelay {
namespace {

using dtest::DeliveryEnv;
using dtest::HttpReceiver;
using dtest::ReceivedRequest;
using dtest::Reply;

constexpr absl::Duration kPatience = absl::Seconds(90);
constexpr char kSecret[] = "whsec_dGVzdHNlY3JldHRlc3RzZWNyZXR0ZXN0c2Vj";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Polls `path` (bounded) until it contains `text`.
bool WaitForFileContaining(const std::string& path, const std::string& text) {
  const absl::Time deadline = absl::Now() + kPatience;
  while (absl::Now() < deadline) {
    if (absl::StrContains(ReadFile(path), text)) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto env = DeliveryEnv::Create();
    if (!env.ok()) {
      setup_error_ = std::string(env.status().message());
      return;
    }
    env_ = std::move(*env).release();
    auto started = env_->StartServer(dtest::FastDispatchFlags());
    if (!started.ok()) setup_error_ = std::string(started.status().message());
    auto dir = itest::TempDir::Create();
    if (dir.ok()) dir_ = std::move(*dir).release();
  }
  static void TearDownTestSuite() {
    delete env_;
    delete dir_;
  }
  void SetUp() override {
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    ASSERT_NE(dir_, nullptr);
    auto account = env_->Bootstrap(itest::UniqueName("cli"), "enterprise");
    ASSERT_TRUE(account.ok()) << account.status();
    account_ = *account;
    ClientOptions options;
    options.target = env_->address();
    options.api_key = account_.admin_key;
    auto client = Client::Create(options);
    ASSERT_TRUE(client.ok());
    client_ = *std::move(client);
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << env_->LogTails();
  }

  // argv of the CLI with the connection flags.
  std::vector<std::string> Cli(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {LEADRELAY_CLI_BIN,
                                     "--grpc=" + env_->address(),
                                     "--api-key=" + account_.admin_key};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  absl::StatusOr<std::string> Run(const std::vector<std::string>& args) {
    return itest::RunToCompletion(Cli(args), Path("cli.stderr"), 120);
  }

  std::string Path(const std::string& name) {
    return absl::StrCat(dir_->path(), "/", name);
  }

  std::string PublishDm(const std::string& message) {
    v1::PublishEventRequest request;
    request.set_type("dm.sent");
    request.mutable_dm()->set_message(message);
    request.mutable_dm()->set_platform("linkedin");
    auto published = client_->PublishEvent(request);
    EXPECT_TRUE(published.ok()) << published.status();
    return published.ok() ? published->event().id() : "";
  }

  int64_t AccountLeads() {
    auto n = env_->db().QueryInt(
        "SELECT count(*) FROM leads WHERE account_id = $1", {account_.id});
    EXPECT_TRUE(n.ok());
    return n.ok() ? *n : -1;
  }

  static inline DeliveryEnv* env_ = nullptr;
  static inline itest::TempDir* dir_ = nullptr;
  static inline std::string setup_error_;
  itest::Account account_;
  std::unique_ptr<Client> client_;
};

// The receiver's own check of both schemes (independent OpenSSL code).
void ExpectSignedWith(const ReceivedRequest& r, const std::string& secret) {
  EXPECT_EQ(r.Header("x-leadrelay-signature"),
            dtest::LowerHex(dtest::HmacSha256Raw(secret, r.body)));
  auto key = dtest::Base64Decode(secret.substr(6));
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(r.Header("webhook-signature"),
            "v1," + dtest::Base64Encode(dtest::HmacSha256Raw(
                        *key, absl::StrCat(r.Header("webhook-id"), ".",
                                           r.Header("webhook-timestamp"), ".",
                                           r.body))));
  EXPECT_EQ(r.Header("webhook-id"), r.Header("x-leadrelay-delivery"));
  EXPECT_EQ(r.Header("content-type"), "application/json");
}

std::string EventIdOf(const ReceivedRequest& r) {
  auto body = dtest::ParseJsonObject(r.body);
  if (!body.ok() || !body->fields().contains("event_id")) return "";
  return body->fields().at("event_id").string_value();
}

TEST_F(CliTest, ListenForwardsSignedLikeARealDeliveryAndKeepsGoing) {
  auto receiver = HttpReceiver::Start();
  ASSERT_TRUE(receiver.ok());
  int listen_requests = 0;
  (*receiver)->SetResponder([&](const ReceivedRequest& r) {
    if (r.path != "/listen") return Reply::Status(200);
    // The local app is down, then failing, then fine.
    ++listen_requests;
    if (listen_requests == 1) {
      Reply gone;
      gone.close_without_answer = true;
      return gone;
    }
    return Reply::Status(listen_requests == 2 ? 500 : 200);
  });
  // A real webhook on the same events, for comparison.
  v1::CreateWebhookResponse hook;
  ASSERT_TRUE(dtest::CreateWebhook(env_->api(), account_.admin_key,
                                   (*receiver)->Url("/real"), {"dm.sent"},
                                   &hook, kSecret)
                  .ok());
  // Start listening right after a marker event (no race with start-up).
  PublishDm("marker");
  v1::ListEventsRequest list;
  auto page = client_->ListEvents(list);
  ASSERT_TRUE(page.ok() && page->events_size() == 1);
  const std::string log = Path("listen.log");
  auto listen = itest::ChildProcess::Spawn(
      Cli({"listen", "--forward-to", (*receiver)->Url("/listen"), "--events",
           "dm.sent", "--secret", kSecret, "--after", page->events(0).cursor(),
           "-o", "json"}),
      log);
  ASSERT_TRUE(listen.ok()) << listen.status();

  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(PublishDm(absl::StrCat("m", i)));
  auto listened = [](const std::vector<ReceivedRequest>& all) {
    int n = 0;
    for (const auto& r : all) n += r.path == "/listen";
    return n;
  };
  ASSERT_TRUE((*receiver)->WaitUntil(
      [&](const std::vector<ReceivedRequest>& all) {
        return listened(all) >= 4 &&
               static_cast<int>(all.size()) - listened(all) >= 5;
      },
      kPatience))
      << ReadFile(log);

  std::map<std::string, ReceivedRequest> real_by_event;
  std::vector<ReceivedRequest> forwarded;
  for (const ReceivedRequest& r : (*receiver)->Requests()) {
    if (r.path == "/real") real_by_event[EventIdOf(r)] = r;
    if (r.path == "/listen") forwarded.push_back(r);
  }
  ASSERT_EQ(forwarded.size(), 4u);
  for (size_t i = 0; i < forwarded.size(); ++i) {
    const ReceivedRequest& f = forwarded[i];
    SCOPED_TRACE(f.body);
    EXPECT_EQ(EventIdOf(f), ids[i]);  // in order, one each
    ExpectSignedWith(f, kSecret);
    ASSERT_TRUE(real_by_event.count(ids[i]));
    const ReceivedRequest& real = real_by_event[ids[i]];
    ExpectSignedWith(real, kSecret);
    // The same body but for the delivery id, and the same header names.
    EXPECT_EQ(
        absl::StrReplaceAll(f.body, {{f.Header("webhook-id"), "ID"}}),
        absl::StrReplaceAll(real.body, {{real.Header("webhook-id"), "ID"}}));
    for (const auto& [name, value] : real.headers) {
      if (absl::StartsWith(name, "x-leadrelay-") ||
          absl::StartsWith(name, "webhook-")) {
        EXPECT_TRUE(f.headers.count(name)) << name;
      }
    }
    EXPECT_EQ(f.Header("x-leadrelay-event"), "dm.sent");
  }
  (*listen)->Stop();
  // One line per event: no answer, 500, then 200s.
  const std::string out = ReadFile(log);
  EXPECT_TRUE(absl::StrContains(out, kSecret));
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::StrContains(line, "\"event_id\"")) lines.emplace_back(line);
  }
  ASSERT_EQ(lines.size(), 4u) << out;
  EXPECT_TRUE(absl::StrContains(lines[0], "\"status\":0")) << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[1], "\"status\":500")) << lines[1];
  EXPECT_TRUE(absl::StrContains(lines[2], "\"status\":200")) << lines[2];
  EXPECT_TRUE(absl::StrContains(lines[3], ids[3])) << lines[3];
}

TEST_F(CliTest, VerifyAcceptsARealDeliveryAndRejectsATamperedOne) {
  auto receiver = HttpReceiver::Start();
  ASSERT_TRUE(receiver.ok());
  v1::CreateWebhookResponse hook;
  ASSERT_TRUE(dtest::CreateWebhook(env_->api(), account_.admin_key,
                                   (*receiver)->Url("/real"), {"dm.sent"},
                                   &hook, kSecret)
                  .ok());
  PublishDm("to verify");
  ASSERT_TRUE((*receiver)->WaitForRequests(1, kPatience));
  const ReceivedRequest r = (*receiver)->Requests().front();
  WriteFile(Path("body.json"), r.body);
  WriteFile(Path("tampered.json"),
            absl::StrReplaceAll(r.body, {{"to verify", "to verifx"}}));
  std::vector<std::string> headers;
  for (const char* name : {"x-leadrelay-signature", "webhook-id",
                           "webhook-timestamp", "webhook-signature"}) {
    headers.push_back("-H");
    headers.push_back(absl::StrCat(name, ": ", r.Header(name)));
  }
  std::vector<std::string> args = {"verify", "--secret", kSecret, "--body",
                                   Path("body.json")};
  args.insert(args.end(), headers.begin(), headers.end());
  absl::StatusOr<std::string> ok = Run(args);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(absl::StrContains(*ok, "\"x_leadrelay_signature\":true")) << *ok;
  EXPECT_TRUE(absl::StrContains(*ok, "\"webhook_signature\":true")) << *ok;

  args[4] = Path("tampered.json");
  absl::StatusOr<std::string> bad = Run(args);
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "exited 1"))
      << bad.status();
  // The wrong secret fails too.
  args[2] = "whsec_d3JvbmdzZWNyZXR3cm9uZ3NlY3JldA==";
  args[4] = Path("body.json");
  EXPECT_FALSE(Run(args).ok());
}

TEST_F(CliTest, ImportReportsCountsAndRejectsAndRerunCreatesNothing) {
  const std::string csv = Path("leads.csv");
  WriteFile(csv,
            "external_id,vertical,first_name,suburb,phone,score\n"
            "imp-1,solar,Ann,Sandton,+27821111111,80\n"
            "imp-2,solar,Bob,Sandton,+27821111112,40\n"
            "imp-1,solar,Ann,Sandton,+27821111111,80\n"
            "imp-3,solar,Cy,Sandton,+27821111113,lots\n"
            "imp-4,solar,Dee\n"
            "imp-5,spaceships,Eve,Sandton,+27821111115,50\n"
            "imp-6,insurance,\"Fay, Jr\",Umhlanga,+27821111116,90\n"
            ",b2b,Gus,Hatfield,+27821111117,20\n");
  const std::string rejects = Path("rejects.tsv");
  absl::StatusOr<std::string> first =
      Run({"leads", "import", csv, "--rejects", rejects, "--concurrency", "4",
           "-o", "json"});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(absl::StrContains(*first, "\"total\":8")) << *first;
  EXPECT_TRUE(absl::StrContains(*first, "\"created\":4")) << *first;
  EXPECT_TRUE(absl::StrContains(*first, "\"already_present\":1")) << *first;
  EXPECT_TRUE(absl::StrContains(*first, "\"rejected\":3")) << *first;
  EXPECT_EQ(AccountLeads(), 4);

  const std::string rejected = ReadFile(rejects);
  std::vector<std::string> lines =
      absl::StrSplit(rejected, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << rejected;  // header + 3
  EXPECT_TRUE(absl::StartsWith(lines[1], "5\tmalformed\t")) << lines[1];
  EXPECT_TRUE(absl::StartsWith(lines[2], "6\tmalformed\t")) << lines[2];
  EXPECT_TRUE(absl::StartsWith(lines[3], "7\tinvalid_request\t")) << lines[3];
  EXPECT_TRUE(absl::StrContains(lines[3], "spaceships")) << lines[3];

  absl::StatusOr<std::string> second =
      Run({"leads", "import", csv, "--rejects", rejects, "-o", "json"});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(absl::StrContains(*second, "\"created\":0")) << *second;
  EXPECT_TRUE(absl::StrContains(*second, "\"already_present\":5")) << *second;
  EXPECT_EQ(AccountLeads(), 4);
}

// `events tail` prints events as JSON lines, prints the cursor to resume
// from when stopped, and a new tail resumes from its checkpoint file: the
// event published in between comes, nothing comes twice.
TEST_F(CliTest, TailPrintsTheResumeCursorAndResumesFromItsCheckpoint) {
  const std::string before = PublishDm("before");
  const std::string checkpoint = Path("tail.cursor");
  std::remove(checkpoint.c_str());
  const std::string log1 = Path("tail1.log");
  auto tail = itest::ChildProcess::Spawn(
      Cli({"events", "tail", "--since", "1h", "--checkpoint", checkpoint, "-o",
           "json"}),
      log1);
  ASSERT_TRUE(tail.ok());
  ASSERT_TRUE(WaitForFileContaining(log1, before)) << ReadFile(log1);
  const std::string a = PublishDm("a");
  ASSERT_TRUE(WaitForFileContaining(log1, a)) << ReadFile(log1);
  (*tail)->Stop();  // SIGTERM, like Ctrl-C
  EXPECT_TRUE(absl::StrContains(ReadFile(log1),
                                "resume with: leadrelay events tail --after "))
      << ReadFile(log1);

  const std::string b = PublishDm("b");
  const std::string log2 = Path("tail2.log");
  auto again = itest::ChildProcess::Spawn(
      Cli({"events", "tail", "--checkpoint", checkpoint, "-o", "json"}), log2);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(WaitForFileContaining(log2, b)) << ReadFile(log2);
  (*again)->Stop();
  const std::string second = ReadFile(log2);
  EXPECT_FALSE(absl::StrContains(second, a)) << second;
  EXPECT_FALSE(absl::StrContains(second, before)) << second;
}

// `leads erase` by id and by phone: both tombstones printed, the leads read
// as erased afterwards, and naming nothing is a usage error.
TEST_F(CliTest, EraseByIdAndByPhonePrintsTheTombstones) {
  std::vector<std::string> ids;
  for (const char* phone : {"+27829990001", "+27829990002"}) {
    v1::CreateLeadRequest request;
    v1::Lead* lead = request.mutable_lead();
    lead->set_vertical("solar");
    lead->set_first_name("Thandi");
    lead->set_suburb("Sandton");
    lead->set_phone(phone);
    lead->set_score(70);
    auto created = client_->CreateLead(request);
    ASSERT_TRUE(created.ok()) << created.status();
    ids.push_back(created->id());
  }
  absl::StatusOr<std::string> out =
      Run({"leads", "erase", ids[0], "--phone", "+27829990002", "-o", "json"});
  ASSERT_TRUE(out.ok()) << out.status();
  for (const std::string& id : ids) {
    EXPECT_TRUE(absl::StrContains(*out, absl::StrCat("\"lead_id\":\"", id)))
        << *out;
    v1::GetLeadRequest get;
    get.set_id(id);
    auto read = client_->GetLead(get);
    EXPECT_EQ(ErrorReason(read.status()), "lead_erased") << read.status();
  }
  EXPECT_FALSE(absl::StrContains(*out, "+27829990002")) << *out;

  auto nothing =
      itest::RunToCompletion(Cli({"leads", "erase"}), Path("erase.stderr"), 30);
  EXPECT_TRUE(absl::StrContains(nothing.status().message(), "exited 2"))
      << nothing.status();
}

// `webhooks create` and `update` carry lead filters; `--no-filters`
// clears them.
TEST_F(CliTest, WebhookFiltersAreSetAndCleared) {
  absl::StatusOr<std::string> created =
      Run({"webhooks", "create", "--url", "http://127.0.0.1:9/filtered",
           "--events", "lead.new", "--verticals", "solar,insurance",
           "--score-tiers", "hot", "--min-score", "60", "-o", "json"});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(absl::StrContains(
      *created, R"("filters":{"verticals":["solar","insurance"],)"
                R"("score_tiers":["hot"],"min_score":60})"))
      << *created;
  auto webhooks = client_->ListWebhooks();
  ASSERT_TRUE(webhooks.ok() && webhooks->webhooks_size() > 0);
  const v1::Webhook& hook = webhooks->webhooks(webhooks->webhooks_size() - 1);
  EXPECT_EQ(hook.filters().min_score(), 60);

  // Places: comma-separated, stored as compared; they replace the filters.
  absl::StatusOr<std::string> placed =
      Run({"webhooks", "update", hook.id(), "--suburbs", "Bondi Beach,MANLY",
           "--provinces", "NSW", "-o", "json"});
  ASSERT_TRUE(placed.ok()) << placed.status();
  EXPECT_TRUE(absl::StrContains(
      *placed, R"("filters":{"suburbs":["bondi beach","manly"],)"
               R"("provinces":["nsw"]})"))
      << *placed;

  absl::StatusOr<std::string> cleared =
      Run({"webhooks", "update", hook.id(), "--no-filters", "-o", "json"});
  ASSERT_TRUE(cleared.ok()) << cleared.status();
  v1::GetWebhookRequest get;
  get.set_id(hook.id());
  auto stored = client_->GetWebhook(get);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->filters().verticals_size(), 0);
  EXPECT_EQ(stored->filters().score_tiers_size(), 0);
  EXPECT_EQ(stored->filters().min_score(), 0);
  EXPECT_EQ(stored->filters().suburbs_size(), 0);
  EXPECT_EQ(stored->filters().provinces_size(), 0);

  // `events tail` passes its place filters to the stream, which checks them.
  const std::string err = Path("tail-place.stderr");
  auto blank = itest::RunToCompletion(
      Cli({"events", "tail", "--suburbs", "Manly, "}), err, 30);
  EXPECT_TRUE(absl::StrContains(blank.status().message(), "exited 1"))
      << blank.status();
  EXPECT_TRUE(absl::StrContains(ReadFile(err), "error: invalid_request: "))
      << ReadFile(err);
  EXPECT_TRUE(absl::StrContains(ReadFile(err), "suburbs")) << ReadFile(err);
}

TEST_F(CliTest, ErrorsAndExitCodes) {
  // Usage error: exit 2.
  auto usage = itest::RunToCompletion(
      {LEADRELAY_CLI_BIN, "leads", "frobnicate"}, Path("usage.stderr"), 30);
  EXPECT_TRUE(absl::StrContains(usage.status().message(), "exited 2"))
      << usage.status();
  // API error: exit 1 and "error: <reason>: <message>" on stderr.
  const std::string err = Path("api.stderr");
  auto missing =
      itest::RunToCompletion(Cli({"leads", "get", "lead_nope"}), err, 30);
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "exited 1"))
      << missing.status();
  EXPECT_TRUE(absl::StrContains(ReadFile(err), "error: not_found: "))
      << ReadFile(err);
  // The key never appears in what the CLI prints.
  auto me = Run({"me", "-o", "json"});
  ASSERT_TRUE(me.ok()) << me.status();
  EXPECT_TRUE(absl::StrContains(*me, account_.id));
  EXPECT_FALSE(absl::StrContains(*me, account_.admin_key));
}

}  // namespace
}  // namespace leadrelay
