// Concurrent CreateLeads of one account are written together (one statement
// and one commit per batch): each caller still gets its own outcome, and
// credits, idempotency and events behave as for CreateLeads one at a time.
// Concurrent GetLeads and GetMes (of any accounts) are read together: each
// caller still gets its own answer, and only from its own account. Calls
// that wait on the database do so off gRPC's threads: one account stuck
// there does not stall the others.

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "support/fixture.h"
#include "support/postgres.h"

namespace leadrelay::itest {
namespace {

using ::grpc::StatusCode;

class LeadBatchTest : public ServerTest {
 protected:
  // Runs CreateLead for each of `leads` at once, one thread each.
  std::vector<grpc::Status> CreateAtOnce(const std::string& key,
                                         const std::vector<v1::Lead>& leads,
                                         std::vector<v1::Lead>* created) {
    std::vector<grpc::Status> statuses(leads.size());
    created->assign(leads.size(), v1::Lead());
    std::vector<std::thread> callers;
    for (size_t i = 0; i < leads.size(); ++i) {
      callers.emplace_back(
          [&, i] { statuses[i] = CreateLead(key, leads[i], &(*created)[i]); });
    }
    for (std::thread& t : callers) t.join();
    return statuses;
  }

  int64_t Count(const std::string& table, const std::string& account_id) {
    return SqlInt("SELECT count(*) FROM " + table + " WHERE account_id = $1",
                  {account_id});
  }
};

TEST_F(LeadBatchTest, ConcurrentCreatesBeyondTheBalanceFailOnlyTheUnpaidOnes) {
  constexpr int kCredits = 5;
  constexpr int kCallers = 16;
  absl::StatusOr<Account> account = NewAccount("enterprise", kCredits);
  ASSERT_TRUE(account.ok()) << account.status();
  std::vector<v1::Lead> leads(kCallers, SampleLead());
  std::vector<v1::Lead> created;
  std::vector<grpc::Status> statuses =
      CreateAtOnce(account->admin_key, leads, &created);

  int ok = 0;
  for (int i = 0; i < kCallers; ++i) {
    if (statuses[i].ok()) {
      ++ok;
      v1::Lead stored;
      EXPECT_TRUE(IsOk(GetLead(account->admin_key, created[i].id(), &stored)))
          << "an acknowledged lead is stored";
      continue;
    }
    EXPECT_TRUE(HasError(statuses[i], StatusCode::PERMISSION_DENIED,
                         "insufficient_credits"))
        << "caller " << i << ": " << Describe(statuses[i]);
  }
  EXPECT_EQ(ok, kCredits) << "every credit buys one lead, no more";
  EXPECT_EQ(Count("leads", account->id), kCredits);
  EXPECT_EQ(AllEvents(account->admin_key, {"lead.new"}).size(),
            static_cast<size_t>(kCredits));
  EXPECT_EQ(StoredCredits(account->id), 0);
}

TEST_F(LeadBatchTest, AnInvalidLeadAmongConcurrentCreatesFailsAlone) {
  absl::StatusOr<Account> account = NewAccount("enterprise", 100);
  ASSERT_TRUE(account.ok()) << account.status();
  std::vector<v1::Lead> leads(12, SampleLead());
  for (size_t i = 0; i < leads.size(); i += 3) leads[i].set_score(101);
  std::vector<v1::Lead> created;
  std::vector<grpc::Status> statuses =
      CreateAtOnce(account->admin_key, leads, &created);

  for (size_t i = 0; i < leads.size(); ++i) {
    if (i % 3 == 0) {
      EXPECT_TRUE(HasError(statuses[i], StatusCode::INVALID_ARGUMENT,
                           "invalid_request"))
          << "caller " << i << ": " << Describe(statuses[i]);
    } else {
      EXPECT_TRUE(IsOk(statuses[i])) << "caller " << i;
    }
  }
  EXPECT_EQ(Count("leads", account->id), 8);
  EXPECT_EQ(StoredCredits(account->id), 92);
}

TEST_F(LeadBatchTest, ConcurrentRetriesOfSeveralExternalIdsChargeEachOnce) {
  constexpr int kExternalIds = 4;
  constexpr int kRetries = 4;
  absl::StatusOr<Account> account = NewAccount("enterprise", 100);
  ASSERT_TRUE(account.ok()) << account.status();
  std::vector<v1::Lead> leads;
  for (int r = 0; r < kRetries; ++r) {
    for (int e = 0; e < kExternalIds; ++e) {
      v1::Lead lead = SampleLead();
      lead.set_external_id(absl::StrCat("crm-batch-", e));
      leads.push_back(lead);
    }
  }
  std::vector<v1::Lead> created;
  std::vector<grpc::Status> statuses =
      CreateAtOnce(account->admin_key, leads, &created);

  std::vector<std::string> id_of(kExternalIds);
  for (size_t i = 0; i < leads.size(); ++i) {
    ASSERT_TRUE(IsOk(statuses[i])) << "caller " << i;
    EXPECT_EQ(created[i].external_id(), leads[i].external_id());
    std::string& id = id_of[i % kExternalIds];
    if (id.empty()) id = created[i].id();
    EXPECT_EQ(created[i].id(), id) << "every retry gets the same lead";
  }
  EXPECT_EQ(Count("leads", account->id), kExternalIds);
  EXPECT_EQ(AllEvents(account->admin_key, {"lead.new"}).size(),
            static_cast<size_t>(kExternalIds));
  EXPECT_EQ(StoredCredits(account->id), 100 - kExternalIds);
}

// A batch travels to PostgreSQL as arrays: text that array literals would
// have to quote or escape is stored, matched and read back as sent.
TEST_F(LeadBatchTest, ConcurrentCreatesKeepEveryCharacterOfTheirFields) {
  const std::vector<std::string> awkward = {
      "quote \" inside",
      "back\\slash",
      "comma, and {braces}",
      "NULL",
      "",
      " padded ",
      "Mthatha \xe2\x80\x94 \xc3\x91\xc3\xa9 \xe6\x97\xa5",
      "{\"x\\\\\"}"};
  absl::StatusOr<Account> account = NewAccount("enterprise", 100);
  ASSERT_TRUE(account.ok()) << account.status();
  std::vector<v1::Lead> leads;
  for (size_t i = 0; i < awkward.size(); ++i) {
    v1::Lead lead = SampleLead();
    lead.set_external_id(awkward[i].empty() ? "" : "ext " + awkward[i]);
    lead.set_suburb(awkward[i]);
    lead.set_last_name(awkward[i]);
    leads.push_back(lead);
  }
  std::vector<v1::Lead> created;
  std::vector<grpc::Status> statuses =
      CreateAtOnce(account->admin_key, leads, &created);
  for (size_t i = 0; i < leads.size(); ++i) {
    ASSERT_TRUE(IsOk(statuses[i])) << "lead " << i;
    EXPECT_EQ(SqlInt("SELECT count(*) FROM leads WHERE account_id = $1 "
                     "AND id = $2 AND suburb = $3 AND "
                     "coalesce(external_id, '') = $4",
                     {account->id, created[i].id(), awkward[i],
                      leads[i].external_id()}),
              1)
        << "the columns of lead " << i << " hold what was sent";
    v1::Lead stored;
    ASSERT_TRUE(IsOk(GetLead(account->admin_key, created[i].id(), &stored)));
    EXPECT_EQ(stored.suburb(), awkward[i]);
    EXPECT_EQ(stored.last_name(), awkward[i]);
    if (leads[i].external_id().empty()) continue;
    v1::Lead again;
    ASSERT_TRUE(IsOk(CreateLead(account->admin_key, leads[i], &again)));
    EXPECT_EQ(again.id(), created[i].id())
        << "a retry of lead " << i << " finds it by its external_id";
  }
  EXPECT_EQ(Count("leads", account->id), static_cast<int64_t>(leads.size()));
}

TEST_F(LeadBatchTest, ConcurrentCreatesOfTwoAccountsStayApart) {
  absl::StatusOr<Account> rich = NewAccount("enterprise", 100);
  absl::StatusOr<Account> broke = NewAccount("enterprise", 0);
  ASSERT_TRUE(rich.ok() && broke.ok());
  std::vector<grpc::Status> statuses(16);
  std::vector<v1::Lead> created(16);
  std::vector<std::thread> callers;
  for (int i = 0; i < 16; ++i) {
    callers.emplace_back([&, i] {
      const Account& a = i % 2 == 0 ? *rich : *broke;
      statuses[i] = CreateLead(a.admin_key, SampleLead(), &created[i]);
    });
  }
  for (std::thread& t : callers) t.join();
  for (int i = 0; i < 16; ++i) {
    if (i % 2 == 0) {
      EXPECT_TRUE(IsOk(statuses[i])) << "caller " << i;
      EXPECT_EQ(created[i].vertical(), "solar");
    } else {
      EXPECT_TRUE(HasError(statuses[i], StatusCode::PERMISSION_DENIED,
                           "insufficient_credits"))
          << "caller " << i;
    }
  }
  EXPECT_EQ(Count("leads", rich->id), 8);
  EXPECT_EQ(Count("leads", broke->id), 0);
  EXPECT_EQ(Count("events", broke->id), 0);
  EXPECT_EQ(StoredCredits(rich->id), 92);
}

// Statistics taken before the account existed, and no hash or merge join:
// PostgreSQL then scans the account's buckets in the outer loop of a nested
// loop and re-runs the bucket pick for each of them, the plan under which
// the debit of migration 0041 took one call's cost from two buckets.
TEST_F(LeadBatchTest, ADebitTakesItsCostOnceWhateverPlanPostgresPicks) {
  ASSERT_TRUE(db().Exec("ANALYZE credit_buckets").ok());
  absl::StatusOr<Account> account = NewAccount("enterprise", 100);
  ASSERT_TRUE(account.ok()) << account.status();
  ASSERT_TRUE(db().Exec("SET enable_hashjoin = off").ok());
  ASSERT_TRUE(db().Exec("SET enable_mergejoin = off").ok());
  constexpr int kDebits = 30;
  for (int i = 0; i < kDebits; ++i) {
    EXPECT_EQ(SqlInt("SELECT leadrelay_debit_credits($1, 1)", {account->id}),
              -1)
        << "debit " << i << " is paid";
  }
  ASSERT_TRUE(db().Exec("RESET ALL").ok());
  EXPECT_EQ(StoredCredits(account->id), 100 - kDebits);
}

// Runs `call(i)` for i in [0, n) on n threads released together, so that
// the calls queue behind one another's reads.
template <typename Call>
void AllAtOnce(int n, Call call) {
  std::atomic<int> ready{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < n; ++i) {
    callers.emplace_back([&, i] {
      ready.fetch_add(1);
      while (ready.load() < n) std::this_thread::yield();
      call(i);
    });
  }
  for (std::thread& t : callers) t.join();
}

TEST_F(LeadBatchTest, ConcurrentGetLeadsOfTwoAccountsEachGetTheirOwnAnswer) {
  absl::StatusOr<Account> a = NewAccount("enterprise", 100);
  absl::StatusOr<Account> b = NewAccount("enterprise", 100);
  ASSERT_TRUE(a.ok() && b.ok());
  constexpr int kLeads = 4;
  std::vector<v1::Lead> leads_a(kLeads), leads_b(kLeads);
  for (int i = 0; i < kLeads; ++i) {
    v1::Lead lead = SampleLead();
    lead.set_score(10 + i);
    ASSERT_TRUE(IsOk(CreateLead(a->admin_key, lead, &leads_a[i])));
    lead.set_score(60 + i);
    ASSERT_TRUE(IsOk(CreateLead(b->admin_key, lead, &leads_b[i])));
  }
  // The last lead of each account is erased: its tombstone answers.
  for (const std::string& id : {leads_a.back().id(), leads_b.back().id()}) {
    ASSERT_TRUE(
        db().Exec("UPDATE leads SET erased_at = now() WHERE id = $1", {id})
            .ok());
  }
  // Each caller asks, in turn, for a live lead of its account, the same
  // position in the other account (not_found for it), its erased lead and
  // a lead that does not exist; 40 callers at once, several rounds.
  constexpr int kCallers = 40;
  constexpr int kRounds = 5;
  std::vector<std::string> failures(kCallers);
  AllAtOnce(kCallers, [&](int i) {
    const bool is_a = i % 2 == 0;
    const Account& me = is_a ? *a : *b;
    const std::vector<v1::Lead>& mine = is_a ? leads_a : leads_b;
    const std::vector<v1::Lead>& theirs = is_a ? leads_b : leads_a;
    for (int round = 0; round < kRounds; ++round) {
      const v1::Lead& want = mine[(i + round) % (kLeads - 1)];
      v1::Lead got;
      grpc::Status own = GetLead(me.admin_key, want.id(), &got);
      if (!own.ok() || got.id() != want.id() || got.score() != want.score()) {
        failures[i] = "own lead " + want.id() + ": " + own.error_message();
        return;
      }
      if (!HasError(GetLead(me.admin_key, theirs[round % kLeads].id(), &got),
                    StatusCode::NOT_FOUND, "not_found")) {
        failures[i] = "read the other account's lead";
        return;
      }
      if (!HasError(GetLead(me.admin_key, mine.back().id(), &got),
                    StatusCode::NOT_FOUND, "lead_erased")) {
        failures[i] = "erased lead was not a tombstone";
        return;
      }
      if (!HasError(
              GetLead(me.admin_key, "lead_missing_" + std::to_string(i), &got),
              StatusCode::NOT_FOUND, "not_found")) {
        failures[i] = "a missing lead was found";
        return;
      }
    }
  });
  for (int i = 0; i < kCallers; ++i) {
    EXPECT_EQ(failures[i], "") << "caller " << i;
  }
}

TEST_F(LeadBatchTest,
       ConcurrentGetMesOfTwoAccountsEachGetTheirOwnAccountAndKey) {
  absl::StatusOr<Account> a = NewAccount("enterprise", 7);
  absl::StatusOr<Account> b = NewAccount("enterprise", 9);
  ASSERT_TRUE(a.ok() && b.ok());
  // Two keys per account, so a mixed-up key shows as well as an account.
  std::vector<std::string> keys, key_ids, accounts;
  for (const Account* acct : {&*a, &*b}) {
    for (int k = 0; k < 2; ++k) {
      v1::CreateApiKeyResponse created;
      ASSERT_TRUE(IsOk(CreateKey(acct->admin_key, "reader " + std::to_string(k),
                                 {"read"}, &created)));
      keys.push_back(created.key());
      key_ids.push_back(created.api_key().id());
      accounts.push_back(acct->id);
    }
  }
  constexpr int kCallers = 32;
  constexpr int kRounds = 5;
  std::vector<std::string> failures(kCallers);
  AllAtOnce(kCallers, [&](int i) {
    const size_t k = i % keys.size();
    for (int round = 0; round < kRounds; ++round) {
      v1::GetMeResponse me;
      grpc::Status status = GetMe(keys[k], &me);
      if (!status.ok() || me.account().id() != accounts[k] ||
          me.api_key().id() != key_ids[k] ||
          me.account().credits() != (accounts[k] == a->id ? 7 : 9)) {
        failures[i] = "key " + key_ids[k] + " read account " +
                      me.account().id() + " key " + me.api_key().id() + ": " +
                      status.error_message();
        return;
      }
    }
  });
  for (int i = 0; i < kCallers; ++i) {
    EXPECT_EQ(failures[i], "") << "caller " << i;
  }
}

// A key with a rate limit is counted in PostgreSQL on every call. While
// that count is stuck behind a lock, the key's calls wait (off gRPC's
// threads), and another account's cached key is still served: GetMe,
// GetLead and CreateLead, each within the call deadline. Once the lock
// goes, every waiting call completes.
TEST_F(LeadBatchTest, CallsStuckInTheDatabaseDoNotStallOtherAccounts) {
  absl::StatusOr<Account> stuck = NewAccount("enterprise", 100);  // limited
  absl::StatusOr<Account> free = NewAccount("internal", 100);     // cached key
  ASSERT_TRUE(stuck.ok() && free.ok());
  v1::GetMeResponse me;
  ASSERT_TRUE(IsOk(GetMe(free->admin_key, &me)));  // now cached
  v1::Lead lead;
  ASSERT_TRUE(IsOk(CreateLead(free->admin_key, SampleLead(), &lead)));

  absl::StatusOr<std::unique_ptr<PgConnection>> sql =
      PgConnection::Open(harness().database_url());
  ASSERT_TRUE(sql.ok()) << sql.status();
  PgConnection& tx = **sql;
  ASSERT_TRUE(tx.Exec("BEGIN").ok());
  ASSERT_TRUE(tx.Exec("LOCK TABLE rate_limits IN EXCLUSIVE MODE").ok());

  constexpr int kStuckCalls = 24;
  std::vector<grpc::Status> stuck_statuses(kStuckCalls);
  std::vector<std::thread> stuck_callers;
  for (int i = 0; i < kStuckCalls; ++i) {
    stuck_callers.emplace_back([&, i] {
      v1::GetMeResponse response;
      stuck_statuses[i] = GetMe(stuck->admin_key, &response);
    });
  }
  // Until the callers are joined, failures are EXPECTs.
  const absl::Time give_up = absl::Now() + absl::Seconds(8);
  int64_t waiting = 0;
  while (waiting < 2 && absl::Now() < give_up) {
    waiting = SqlInt(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
        "'Lock' AND query LIKE '%rate_limits%'");
  }
  EXPECT_GE(waiting, 2) << "the limited key's calls did not reach the lock";

  grpc::Status got_me = GetMe(free->admin_key, &me);
  EXPECT_TRUE(IsOk(got_me)) << Describe(got_me);
  EXPECT_EQ(me.account().id(), free->id);
  v1::Lead read;
  grpc::Status got_lead = GetLead(free->admin_key, lead.id(), &read);
  EXPECT_TRUE(IsOk(got_lead)) << Describe(got_lead);
  EXPECT_EQ(read.id(), lead.id());
  v1::Lead created;
  grpc::Status create = CreateLead(free->admin_key, SampleLead(), &created);
  EXPECT_TRUE(IsOk(create)) << Describe(create);

  EXPECT_TRUE(tx.Exec("COMMIT").ok());
  for (std::thread& t : stuck_callers) t.join();
  for (int i = 0; i < kStuckCalls; ++i) {
    EXPECT_TRUE(IsOk(stuck_statuses[i]))
        << "stuck call " << i << ": " << Describe(stuck_statuses[i]);
  }
}

}  // namespace
}  // namespace leadrelay::itest
