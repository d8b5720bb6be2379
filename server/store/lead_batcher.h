// Group commit for CreateLead. Concurrent new leads of one account are
// written together by one statement (leadrelay_create_leads) in one
// transaction, so they share a round trip and a commit (one fsync) instead
// of paying one each. Each caller still gets its own outcome: one lead's
// insufficient_credits or existing external_id does not affect the others.
//
// No timer: a writer thread writes whatever an account has queued as soon
// as that account's previous batch has committed. Callers only queue their
// lead and a completion: no caller blocks, and no gRPC thread does database
// work for other calls. The completions of a committed batch run on
// threads of their own, so the writer starts the account's next batch at
// once (finishing a call costs ~40 us, most of it gRPC's send: run by the
// writer, a batch of 16 kept the next one waiting ~0.5 ms, an eighth of the
// cycle). At most `max_writers` batches of an account run at once; accounts
// take turns for the writer threads.
#ifndef LEADRELAY_SERVER_STORE_LEAD_BATCHER_H_
#define LEADRELAY_SERVER_STORE_LEAD_BATCHER_H_

#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/task_threads.h"
#include "store/leads_repo.h"
#include "store/pg.h"

namespace leadrelay::store {

struct LeadBatcherOptions {
  int max_batch = 64;  // leads per statement
  // Batches of one account in flight at once. One writer makes the next
  // batch wait for the commit of this one and grow meanwhile: at 32
  // callers of one account on the 2-core box, 1 against 2 gave 1.04-1.41x
  // the CreateLeads/s (six alternating pairs) and p99 34-77 ms against
  // 74-112 ms. Other accounts, and other replicas, still commit in
  // parallel.
  int max_writers = 1;
  // Batches in flight at once, of all accounts together.
  int writer_threads = 8;
  // Threads finishing the calls of written batches.
  int completion_threads = 2;
};

class LeadBatcher {
 public:
  LeadBatcher(Pool& pool, LeadBatcherOptions options = {});
  LeadBatcher(const LeadBatcher&) = delete;
  LeadBatcher& operator=(const LeadBatcher&) = delete;
  // Writes what is still queued, then stops.
  ~LeadBatcher();

  // Receives one lead's outcome, exactly once, once its batch committed or
  // failed.
  using Done = absl::AnyInvocable<void(absl::StatusOr<LeadInsert>) &&>;

  // Stores `lead` (validated and prepared) of `account_id` for `cost`
  // credits with its lead.new event; see CreateLeads for the outcomes.
  // `done` runs on one of the finishing threads.
  void Create(const std::string& account_id, int cost, NewLead lead, Done done);

 private:
  struct Request {
    int cost = 0;
    NewLead lead;
    Done done;
  };
  struct Account {
    std::deque<Request> queued;
    int writers = 0;
    bool ready = false;  // listed in ready_
  };

  void WriteLoop();
  // Lists the account in ready_ if it has leads queued and may take another
  // writer.
  void MarkReady(const std::string& account_id, Account& account)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Writes `batch` (all of one account and cost): one outcome per lead.
  std::vector<absl::StatusOr<LeadInsert>> Write(
      const std::string& account_id, int cost,
      const std::vector<NewLead>& batch);

  Pool& pool_;
  LeadBatcherOptions options_;
  absl::Mutex mu_;
  // Node map: a writer keeps a pointer to its account's entry, which is
  // erased only by the last writer, once nothing is queued.
  absl::node_hash_map<std::string, Account> accounts_ ABSL_GUARDED_BY(mu_);
  // Accounts with leads queued and a free writer slot, oldest first.
  std::deque<std::string> ready_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Finish the calls of written batches, so that an account's next batch
  // need not wait for them. Declared before the writers, so it outlives
  // them and runs what they posted last.
  TaskThreads finishers_;
  std::vector<std::thread> writers_;
};

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_LEAD_BATCHER_H_
