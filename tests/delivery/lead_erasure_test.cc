// Lead erasure end to end (EraseLead, EraseLeads): a real leadrelay-server
// with its REST gateway in-process, real webhook receivers on loopback (so
// attempts store response excerpts), a live stream, and PostgreSQL. After an
// erasure, every text, json and bytea column of every table is searched for
// the person's name, phone, email and external_id, also as a JSON encoder
// may write them.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "delivery/column_scan.h"
#include "delivery/http_receiver.h"
#include "delivery/rest_world.h"
#include "gtest/gtest.h"

namespace leadrelay::dtest {
namespace {

using gateway::testing::HttpResponse;
using ::grpc::StatusCode;
using itest::Authorize;
using itest::HasError;
using itest::IsOk;

constexpr absl::Duration kWait = absl::Seconds(30);

// Values no other row of the database holds.
struct Person {
  std::string first_name;
  std::string last_name;
  std::string phone;
  std::string email;
  std::string external_id;

  // Everything that must be gone, in every form it may have been stored.
  std::vector<std::string> Needles() const {
    std::vector<std::string> out;
    for (const std::string& v :
         {first_name, last_name, phone, phone.substr(1), email, external_id}) {
      for (std::string& form : JsonForms(v)) out.push_back(std::move(form));
    }
    return out;
  }
};

Person NewPerson() {
  static int counter = 0;
  int n = ++counter;
  // Letters only (names), from the pid and a counter: unique per run.
  std::string tag;
  for (int v = static_cast<int>(getpid()) * 100 + n; v > 0; v /= 26) {
    tag.push_back(static_cast<char>('a' + v % 26));
  }
  Person p;
  p.first_name = "Zo\xC3\xAB" + tag;  // "Zoë…": non-ASCII, JSON may escape it
  p.last_name = "Ndlovu" + tag;
  p.phone = absl::StrFormat(
      "+2782%07d", (static_cast<int>(getpid()) * 131 + n * 7919) % 10000000);
  p.email = absl::StrCat("zoe.", tag, "@example.co.za");
  p.external_id = absl::StrCat("crm-", tag);
  return p;
}

v1::Lead LeadOf(const Person& p) {
  v1::Lead lead;
  lead.set_vertical("solar");
  lead.set_first_name(p.first_name);
  lead.set_last_name(p.last_name);
  lead.set_suburb("Soweto");
  lead.set_phone(p.phone);
  lead.set_email(p.email);
  lead.set_external_id(p.external_id);
  lead.set_score(75);
  return lead;
}

// Echoes each payload back: receivers that do put the person's data into
// the attempt's response excerpt.
Reply Echo(const ReceivedRequest& request) {
  Reply reply;
  reply.body = request.body;
  return reply;
}

class LeadErasureTest : public RestServerSuite {
 protected:
  static void SetUpTestSuite() {
    // A failed attempt is retried only after an hour: its delivery stays
    // pending while the test erases the lead.
    StartSuite({"--allow_webhook_hosts=127.0.0.1,localhost",
                "--retry_schedule=1h", "--retry_jitter=0",
                "--dispatcher_poll_interval=200ms", "--webhook_timeout=5s"});
    if (env_ == nullptr) return;
    absl::StatusOr<Account> other = env_->Bootstrap("other-account");
    if (!other.ok()) {
      setup_error_ = other.status().ToString();
      env_.reset();
      return;
    }
    other_ = *other;
  }

  void SetUp() override {
    RestServerSuite::SetUp();
    if (HasFatalFailure()) return;
    absl::StatusOr<Account> account =
        env_->Bootstrap(itest::UniqueName("acct"));
    ASSERT_TRUE(account.ok()) << account.status();
    account_ = *account;
    key_ = account_.admin_key;
  }

  std::unique_ptr<HttpReceiver> NewReceiver(HttpReceiver::Responder r) {
    absl::StatusOr<std::unique_ptr<HttpReceiver>> receiver =
        HttpReceiver::Start();
    EXPECT_TRUE(receiver.ok()) << receiver.status();
    if (!receiver.ok()) return nullptr;
    (*receiver)->SetResponder(std::move(r));
    return *std::move(receiver);
  }

  std::string Hook(const HttpReceiver& receiver,
                   const std::vector<std::string>& events) {
    v1::CreateWebhookResponse created;
    EXPECT_TRUE(
        IsOk(CreateWebhook(api(), key_, receiver.Url(), events, &created)));
    return created.webhook().id();
  }

  v1::Lead CreateLead(const Person& person, const std::string& key = "") {
    grpc::ClientContext context;
    Authorize(&context, key.empty() ? key_ : key);
    v1::CreateLeadRequest request;
    *request.mutable_lead() = LeadOf(person);
    v1::Lead created;
    EXPECT_TRUE(IsOk(api().leads->CreateLead(&context, request, &created)));
    return created;
  }

  grpc::Status EraseLead(const std::string& key, const std::string& id,
                         v1::LeadErasure* out) {
    grpc::ClientContext context;
    Authorize(&context, key);
    v1::EraseLeadRequest request;
    request.set_id(id);
    return api().leads->EraseLead(&context, request, out);
  }

  grpc::Status EraseLeads(const std::string& key,
                          const v1::EraseLeadsRequest& request,
                          v1::EraseLeadsResponse* out) {
    grpc::ClientContext context;
    Authorize(&context, key);
    return api().leads->EraseLeads(&context, request, out);
  }

  grpc::Status GetLead(const std::string& key, const std::string& id,
                       v1::Lead* out) {
    grpc::ClientContext context;
    Authorize(&context, key);
    v1::GetLeadRequest request;
    request.set_id(id);
    return api().leads->GetLead(&context, request, out);
  }

  HttpResponse Rest(const std::string& method, const std::string& target,
                    const std::string& body = "",
                    const std::vector<std::string>& headers = {}) {
    return RestServerSuite::Rest(key_, method, target, body, headers);
  }

  // lead.erased events of the test's account.
  int64_t ErasedEvents() {
    return Count(
        "SELECT count(*) FROM events WHERE account_id = $1 "
        "AND type = 'lead.erased'",
        {account_.id});
  }

  // Where the person's data is stored, as "table.column: needle".
  std::vector<std::string> Traces(const Person& person) {
    absl::StatusOr<std::vector<std::string>> hits =
        FindInEveryColumn(db(), person.Needles());
    EXPECT_TRUE(hits.ok()) << hits.status();
    return hits.ok() ? *hits : std::vector<std::string>{"<scan failed>"};
  }

  // Stored digests of the person's phone and email, wherever kept.
  int64_t ContactDigests(const Person& person) {
    return Count(R"sql(
        WITH d AS (SELECT leadrelay_contact_digest('phone', $1) AS p,
                          leadrelay_contact_digest('email', $2) AS e)
        SELECT (SELECT count(*) FILTER (WHERE phone_digest = d.p)
                     + count(*) FILTER (WHERE email_digest = d.e)
                FROM leads, d)
             + (SELECT count(*) FROM lead_contact_keys, d
                WHERE digest IN (d.p, d.e)))sql",
                 {person.phone, person.email});
  }

  static bool Mentions(const std::vector<std::string>& traces,
                       const std::string& column) {
    for (const std::string& t : traces) {
      if (absl::StartsWith(t, column + ":")) return true;
    }
    return false;
  }

  static inline Account other_;
  Account account_;
  std::string key_;
};

// Reads a stream until `want` holds for an event (bounded by the call's
// deadline).
bool ReadUntil(grpc::ClientReader<v1::StreamEventsResponse>& reader,
               const std::function<bool(const v1::Event&)>& want) {
  v1::StreamEventsResponse message;
  while (reader.Read(&message)) {
    if (message.has_event() && want(message.event())) return true;
  }
  return false;
}

TEST_F(LeadErasureTest, EraseLeavesNoTraceAnywhereAndAnnouncesIt) {
  auto subscriber = NewReceiver(Echo);
  auto new_only = NewReceiver(Echo);
  auto failing = NewReceiver([](const ReceivedRequest& r) {
    Reply reply = Reply::Status(503);
    reply.body = r.body;
    return reply;
  });
  ASSERT_TRUE(subscriber && new_only && failing);
  std::string subscribed_hook =
      Hook(*subscriber, {"lead.new", "lead.updated", "lead.erased"});
  std::string new_only_hook = Hook(*new_only, {"lead.new"});
  Hook(*failing, {"lead.new"});

  // A stream from the start of the account's log.
  grpc::ClientContext stream_context;
  Authorize(&stream_context, key_);
  stream_context.set_deadline(std::chrono::system_clock::now() +
                              std::chrono::seconds(60));
  v1::StreamEventsRequest stream_request;
  stream_request.mutable_since()->set_seconds(0);
  auto stream = api().events->StreamEvents(&stream_context, stream_request);

  Person person = NewPerson();
  v1::Lead lead = CreateLead(person);
  ASSERT_FALSE(lead.id().empty());
  {
    grpc::ClientContext context;
    Authorize(&context, key_);
    v1::UpdateLeadRequest update;
    update.set_id(lead.id());
    update.set_status("contacted");
    v1::Lead updated;
    ASSERT_TRUE(IsOk(api().leads->UpdateLead(&context, update, &updated)));
  }
  ASSERT_TRUE(ReadUntil(*stream, [&](const v1::Event& e) {
    return e.type() == "lead.updated" && e.lead().lead().id() == lead.id();
  }));
  ASSERT_TRUE(subscriber->WaitForRequests(2, kWait));
  ASSERT_TRUE(new_only->WaitForRequests(1, kWait));
  ASSERT_TRUE(failing->WaitForRequests(1, kWait));
  // Recorded: the attempts' excerpts, and the failed one's pending retry.
  EXPECT_EQ(WaitForSqlInt(db(),
                          "SELECT count(*) FROM delivery_attempts a "
                          "JOIN deliveries d ON d.id = a.delivery_id "
                          "WHERE d.account_id = $1",
                          {account_.id}, 4, kWait),
            4);
  EXPECT_EQ(WaitForSqlInt(db(),
                          "SELECT count(*) FROM deliveries WHERE account_id = "
                          "$1 AND status = 'pending' AND attempt_count = 1",
                          {account_.id}, 1, kWait),
            1);
  // The scan sees the data where the service put it.
  std::vector<std::string> before = Traces(person);
  EXPECT_TRUE(Mentions(before, "leads.body")) << absl::StrJoin(before, "\n");
  EXPECT_TRUE(Mentions(before, "events.body")) << absl::StrJoin(before, "\n");
  EXPECT_TRUE(Mentions(before, "delivery_attempts.response_excerpt"))
      << absl::StrJoin(before, "\n");
  // The phone and email digests erasure finds the lead by (SHA-256 of a
  // phone number is as good as the number: they go too).
  EXPECT_EQ(ContactDigests(person), 2);

  // Erased over REST, tagged with a request id.
  HttpResponse erased = Rest("POST", "/v1/leads/" + lead.id() + ":erase", "{}",
                             {"X-Request-Id: erase-req-1"});
  ASSERT_EQ(erased.status, 200) << erased.body;
  EXPECT_TRUE(absl::StrContains(erased.body, lead.id())) << erased.body;
  EXPECT_TRUE(absl::StrContains(erased.body, "\"request_id\":\"erase-req-1\""))
      << erased.body;

  std::vector<std::string> after = Traces(person);
  EXPECT_TRUE(after.empty()) << "left behind:\n" << absl::StrJoin(after, "\n");
  EXPECT_EQ(ContactDigests(person), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM deliveries d JOIN events e "
                  "ON e.id = d.event_id WHERE e.account_id = $1 "
                  "AND e.type LIKE 'lead.%' AND e.type <> 'lead.erased' "
                  "AND d.status = 'pending'",
                  {account_.id}),
            0);

  // lead.erased: on the stream, to the subscribed webhook only, carrying
  // only the lead id and the time.
  v1::Event announced;
  ASSERT_TRUE(ReadUntil(*stream, [&](const v1::Event& e) {
    announced = e;
    return e.type() == "lead.erased";
  }));
  EXPECT_EQ(announced.lead_erased().lead_id(), lead.id());
  EXPECT_TRUE(announced.lead_erased().has_erased_at());
  // A replay from the start, while the server still streams the account
  // (its memory held the lead's events), shows them only as rewritten.
  {
    grpc::ClientContext context;
    Authorize(&context, key_);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    auto replay = api().events->StreamEvents(&context, stream_request);
    int lead_events = 0;
    ASSERT_TRUE(ReadUntil(*replay, [&](const v1::Event& e) {
      if (e.has_lead() && e.lead().lead().id() == lead.id()) {
        ++lead_events;
        std::string bytes = e.SerializeAsString();
        for (const std::string& needle : person.Needles()) {
          EXPECT_FALSE(absl::StrContains(bytes, needle)) << e.type();
        }
      }
      return e.type() == "lead.erased";
    }));
    EXPECT_EQ(lead_events, 2);
    context.TryCancel();
  }
  ASSERT_TRUE(subscriber->WaitUntil(
      [&](const std::vector<ReceivedRequest>& requests) {
        for (const ReceivedRequest& r : requests) {
          if (absl::StrContains(r.body, "\"event\":\"lead.erased\"")) {
            return true;
          }
        }
        return false;
      },
      kWait));
  for (const ReceivedRequest& r : subscriber->Requests()) {
    if (!absl::StrContains(r.body, "lead.erased")) continue;
    EXPECT_TRUE(absl::StrContains(r.body, lead.id())) << r.body;
    for (const std::string& needle : person.Needles()) {
      EXPECT_FALSE(absl::StrContains(r.body, needle)) << r.body;
    }
  }
  EXPECT_EQ(Count("SELECT count(*) FROM deliveries WHERE event_id = $1 "
                  "AND webhook_id = $2",
                  {announced.id(), subscribed_hook}),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM deliveries WHERE event_id = $1 "
                  "AND webhook_id = $2",
                  {announced.id(), new_only_hook}),
            0);

  // The tombstone: who asked and in which request.
  EXPECT_EQ(Count("SELECT count(*) FROM lead_erasures e JOIN api_keys k "
                  "ON k.id = e.key_id WHERE e.lead_id = $1 "
                  "AND k.account_id = $2 AND e.request_id = 'erase-req-1' "
                  "AND e.event_id = $3",
                  {lead.id(), account_.id, announced.id()}),
            1);

  // Reads: an erased lead is lead_erased (404), and lists leave it out.
  v1::Lead read;
  EXPECT_TRUE(HasError(GetLead(key_, lead.id(), &read), StatusCode::NOT_FOUND,
                       "lead_erased"));
  HttpResponse rest_read = Rest("GET", "/v1/leads/" + lead.id());
  EXPECT_EQ(rest_read.status, 404);
  EXPECT_TRUE(absl::StrContains(rest_read.body, "\"code\":\"lead_erased\""))
      << rest_read.body;
  HttpResponse listed = Rest("GET", "/v1/leads");
  EXPECT_EQ(listed.status, 200);
  EXPECT_FALSE(absl::StrContains(listed.body, lead.id())) << listed.body;

  // Again: the same tombstone, no second event.
  v1::LeadErasure first;
  v1::LeadErasure again;
  ASSERT_TRUE(IsOk(EraseLead(key_, lead.id(), &first)));
  ASSERT_TRUE(IsOk(EraseLead(key_, lead.id(), &again)));
  EXPECT_EQ(first.SerializeAsString(), again.SerializeAsString());
  EXPECT_EQ(first.event_id(), announced.id());
  EXPECT_EQ(first.request_id(), "erase-req-1");
  EXPECT_EQ(ErasedEvents(), 1);
  stream_context.TryCancel();
}

TEST_F(LeadErasureTest, AnotherAccountsLeadIsNotFoundAndUntouched) {
  Person person = NewPerson();
  v1::Lead lead = CreateLead(person);
  v1::LeadErasure erasure;
  EXPECT_TRUE(HasError(EraseLead(other_.admin_key, lead.id(), &erasure),
                       StatusCode::NOT_FOUND, "not_found"));
  v1::EraseLeadsRequest bulk;
  bulk.add_phones(person.phone);
  bulk.add_external_ids(person.external_id);
  v1::EraseLeadsResponse response;
  ASSERT_TRUE(IsOk(EraseLeads(other_.admin_key, bulk, &response)));
  EXPECT_EQ(response.erasures_size(), 0);
  v1::Lead read;
  ASSERT_TRUE(IsOk(GetLead(key_, lead.id(), &read)));
  EXPECT_EQ(read.phone(), person.phone);
  EXPECT_EQ(Count("SELECT count(*) FROM lead_erasures WHERE lead_id = $1",
                  {lead.id()}),
            0);
}

TEST_F(LeadErasureTest, NeedsTheWriteScope) {
  v1::Lead lead = CreateLead(NewPerson());
  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::CreateApiKeyRequest key_request;
  key_request.set_name("reader");
  key_request.add_scopes("read");
  v1::CreateApiKeyResponse reader;
  ASSERT_TRUE(IsOk(api().keys->CreateApiKey(&context, key_request, &reader)));
  v1::LeadErasure erasure;
  EXPECT_EQ(EraseLead(reader.key(), lead.id(), &erasure).error_code(),
            StatusCode::PERMISSION_DENIED);
  v1::Lead read;
  EXPECT_TRUE(IsOk(GetLead(key_, lead.id(), &read)));
}

TEST_F(LeadErasureTest, BulkFormFindsLeadsByEachKey) {
  Person by_external_id = NewPerson();
  Person by_phone = NewPerson();
  Person by_email = NewPerson();
  Person by_rest = NewPerson();
  Person bystander = NewPerson();
  v1::Lead a = CreateLead(by_external_id);
  v1::Lead b = CreateLead(by_phone);
  v1::Lead c = CreateLead(by_email);
  v1::Lead d = CreateLead(by_rest);
  v1::Lead e = CreateLead(bystander);

  v1::EraseLeadsRequest request;
  request.add_external_ids(by_external_id.external_id);
  request.add_phones(by_phone.phone);
  // Emails match without regard to case.
  request.add_emails(absl::AsciiStrToUpper(by_email.email));
  v1::EraseLeadsResponse response;
  ASSERT_TRUE(IsOk(EraseLeads(key_, request, &response)));
  std::vector<std::string> erased;
  for (const auto& x : response.erasures()) erased.push_back(x.lead_id());
  std::sort(erased.begin(), erased.end());
  std::vector<std::string> want = {a.id(), b.id(), c.id()};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(erased, want);
  EXPECT_FALSE(response.more());

  HttpResponse rest =
      Rest("POST", "/v1/leads:erase",
           absl::StrCat("{\"emails\":[\"", by_rest.email, "\"]}"));
  ASSERT_EQ(rest.status, 200) << rest.body;
  EXPECT_TRUE(absl::StrContains(rest.body, d.id())) << rest.body;

  for (const Person* p : {&by_external_id, &by_phone, &by_email, &by_rest}) {
    std::vector<std::string> traces = Traces(*p);
    EXPECT_TRUE(traces.empty()) << absl::StrJoin(traces, "\n");
  }
  v1::Lead read;
  ASSERT_TRUE(IsOk(GetLead(key_, e.id(), &read)));
  EXPECT_EQ(read.email(), bystander.email);

  // Nothing left to match: no erasure, no further event.
  v1::EraseLeadsResponse repeated;
  ASSERT_TRUE(IsOk(EraseLeads(key_, request, &repeated)));
  EXPECT_EQ(repeated.erasures_size(), 0);
  EXPECT_EQ(ErasedEvents(), 4);
}

TEST_F(LeadErasureTest, BulkFormIsBoundedPerRequest) {
  Person person = NewPerson();
  v1::Lead lead = CreateLead(person);
  // 100 keys: served (one list may hold them all).
  v1::EraseLeadsRequest request;
  for (int i = 0; i < 100; ++i) request.add_external_ids(absl::StrCat("x", i));
  v1::EraseLeadsResponse response;
  ASSERT_TRUE(IsOk(EraseLeads(key_, request, &response)));
  EXPECT_EQ(response.erasures_size(), 0);
  // 101: refused with a reason of its own.
  request.add_phones(person.phone);
  EXPECT_TRUE(HasError(EraseLeads(key_, request, &response),
                       StatusCode::INVALID_ARGUMENT, "erase_batch_too_large"));
  std::string ids;
  for (int i = 0; i < 101; ++i) {
    absl::StrAppend(&ids, i > 0 ? "," : "", "\"y", i, "\"");
  }
  HttpResponse rest = Rest("POST", "/v1/leads:erase",
                           absl::StrCat("{\"external_ids\":[", ids, "]}"));
  EXPECT_EQ(rest.status, 400);
  EXPECT_TRUE(
      absl::StrContains(rest.body, "\"code\":\"erase_batch_too_large\""))
      << rest.body;
  // Refused as a whole: the lead is still there.
  v1::Lead read;
  ASSERT_TRUE(IsOk(GetLead(key_, lead.id(), &read)));
  EXPECT_EQ(read.phone(), person.phone);
  EXPECT_EQ(ErasedEvents(), 0);
}

// Leads written before migration 0070 have no lookups; 0072 rebuilds them
// from the stored bodies into lead_contact_keys and lead_event_refs, where
// leads written before 0085 (or by the previous binary during a rolling
// upgrade) keep theirs. Simulated here: the lookups of one lead are
// removed, 0072's backfill statements are run again, and erasure by phone
// then finds the lead through those tables and clears its events.
TEST_F(LeadErasureTest, BackfilledLeadsAreFoundAndErasedEverywhere) {
  Person person = NewPerson();
  v1::Lead lead = CreateLead(person);
  ASSERT_TRUE(db().Exec("UPDATE leads SET phone_digest = NULL, "
                        "email_digest = NULL WHERE id = $1",
                        {lead.id()})
                  .ok());
  ASSERT_TRUE(db().Exec("UPDATE events SET lead_id = NULL WHERE lead_id = $1",
                        {lead.id()})
                  .ok());
  std::ifstream file(std::string(LEADRELAY_SOURCE_DIR) +
                     "/server/migrations/0072_lead_erasure_backfill.sql");
  std::stringstream text;
  text << file.rdbuf();
  std::string sql = text.str();
  size_t backfill = sql.find("-- Lead: phone = 11");
  ASSERT_NE(backfill, std::string::npos);
  for (absl::string_view statement :
       absl::StrSplit(sql.substr(backfill), ';', absl::SkipWhitespace())) {
    ASSERT_TRUE(db().Exec(std::string(statement)).ok()) << statement;
  }
  EXPECT_EQ(Count("SELECT count(*) FROM lead_contact_keys WHERE lead_id = $1",
                  {lead.id()}),
            2);
  EXPECT_EQ(Count("SELECT count(*) FROM lead_event_refs WHERE lead_id = $1",
                  {lead.id()}),
            1);

  v1::EraseLeadsRequest request;
  request.add_phones(person.phone);
  v1::EraseLeadsResponse response;
  ASSERT_TRUE(IsOk(EraseLeads(key_, request, &response)));
  ASSERT_EQ(response.erasures_size(), 1);
  EXPECT_EQ(response.erasures(0).lead_id(), lead.id());
  std::vector<std::string> traces = Traces(person);
  EXPECT_TRUE(traces.empty()) << absl::StrJoin(traces, "\n");
  EXPECT_EQ(ContactDigests(person), 0);
}

}  // namespace
}  // namespace leadrelay::dtest
