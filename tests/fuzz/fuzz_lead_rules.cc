// Fuzzes lead validation and normalisation. Input: a kind on the first line
// ("lead", "update" or "query") and the request as JSON after it:
//   lead    a Lead handed to NormalizeNewLead
//   update  an UpdateLeadRequest applied to a valid lead (ApplyLeadUpdate)
//   query   a ListLeadsRequest (ParseLeadQuery)
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "domain/lead_rules.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "leadrelay/v1/lead.pb.h"

namespace {

namespace domain = leadrelay::domain;
namespace v1 = leadrelay::v1;

void Check(bool ok) {
  if (!ok) std::abort();
}

bool FromJson(absl::string_view json, google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  return google::protobuf::util::JsonStringToMessage(
             google::protobuf::StringPiece(json.data(), json.size()), message,
             options)
      .ok();
}

// What every stored lead satisfies.
void CheckStoredLead(const v1::Lead& lead) {
  Check(domain::IsValidVertical(lead.vertical()));
  Check(domain::IsValidScoreTier(lead.score_tier()));
  Check(domain::IsValidLeadStatus(lead.status()));
  Check(lead.score() >= 0 && lead.score() <= 100);
  Check(lead.phone().empty() || domain::IsValidPhone(lead.phone()));
  Check(lead.email().empty() || domain::IsValidEmail(lead.email()));
}

void FuzzNewLead(absl::string_view json) {
  v1::Lead lead;
  if (!FromJson(json, &lead)) return;
  if (!domain::NormalizeNewLead(lead).ok()) return;
  Check(lead.status() == "new");
  CheckStoredLead(lead);
  // Normalising is idempotent: a normalised lead passes unchanged.
  v1::Lead again = lead;
  Check(domain::NormalizeNewLead(again).ok());
  Check(google::protobuf::util::MessageDifferencer::Equals(lead, again));
}

void FuzzUpdate(absl::string_view json) {
  v1::UpdateLeadRequest update;
  if (!FromJson(json, &update)) return;
  v1::Lead lead;
  lead.set_vertical("solar");
  lead.set_first_name("Thandi");
  lead.set_score(72);
  Check(domain::NormalizeNewLead(lead).ok());
  const v1::Lead before = lead;
  auto changed = domain::ApplyLeadUpdate(update, lead);
  // (A refused update may leave `lead` half-updated: the caller drops it.)
  if (!changed.ok()) return;
  CheckStoredLead(lead);
  Check(changed->empty() ==
        google::protobuf::util::MessageDifferencer::Equals(lead, before));
}

void FuzzQuery(absl::string_view json) {
  v1::ListLeadsRequest request;
  if (!FromJson(json, &request)) return;
  auto query = domain::ParseLeadQuery(request);
  if (!query.ok()) return;
  Check(query->page >= 1 && query->limit >= 1 &&
        query->limit <= domain::kMaxPageSize);
  if (query->from && query->until) Check(*query->from < *query->until);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  if (newline == absl::string_view::npos) return 0;
  absl::string_view kind = input.substr(0, newline);
  absl::string_view json = input.substr(newline + 1);
  if (kind == "lead") {
    FuzzNewLead(json);
  } else if (kind == "update") {
    FuzzUpdate(json);
  } else if (kind == "query") {
    FuzzQuery(json);
  }
  return 0;
}
