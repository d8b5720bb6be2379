#include "domain/lead_rules.h"

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_util.h"
#include "domain/page_budget.h"

namespace leadrelay::domain {
namespace {

constexpr std::array<absl::string_view, 5> kVerticals = {
    "solar", "insurance", "financial", "property", "b2b"};
constexpr std::array<absl::string_view, 3> kTiers = {"hot", "warm",
                                                     "qualified"};
constexpr std::array<absl::string_view, 5> kStatuses = {
    "new", "contacted", "qualified", "converted", "lost"};

template <size_t N>
bool OneOf(const std::array<absl::string_view, N>& set, absl::string_view v) {
  for (absl::string_view s : set) {
    if (s == v) return true;
  }
  return false;
}

template <size_t N>
absl::Status CheckVocabulary(absl::string_view field, std::string& value,
                             const std::array<absl::string_view, N>& set) {
  absl::AsciiStrToLower(&value);
  if (OneOf(set, value)) return absl::OkStatus();
  return InvalidRequest(absl::StrCat(field, " must be one of ",
                                     absl::StrJoin(set, ", "), "; got '",
                                     EchoValue(value), "'"));
}

absl::Status CheckLength(absl::string_view field, absl::string_view value,
                         size_t max) {
  if (value.size() <= max) return absl::OkStatus();
  return InvalidRequest(
      absl::StrCat(field, " is longer than ", max, " characters"));
}

}  // namespace

bool IsValidVertical(absl::string_view v) { return OneOf(kVerticals, v); }
bool IsValidScoreTier(absl::string_view v) { return OneOf(kTiers, v); }
bool IsValidLeadStatus(absl::string_view v) { return OneOf(kStatuses, v); }

absl::Status NormalizeVertical(absl::string_view field, std::string& value) {
  return CheckVocabulary(field, value, kVerticals);
}

absl::Status NormalizeScoreTier(absl::string_view field, std::string& value) {
  return CheckVocabulary(field, value, kTiers);
}

bool IsValidPhone(absl::string_view v) {
  // E.164: a plus and 8 to 15 digits.
  if (v.size() < 9 || v.size() > 16 || v[0] != '+') return false;
  for (char c : v.substr(1)) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return v[1] != '0';
}

bool IsValidEmail(absl::string_view v) {
  if (v.size() > 254) return false;
  size_t at = v.find('@');
  if (at == absl::string_view::npos || at == 0 || at != v.rfind('@')) {
    return false;
  }
  absl::string_view domain = v.substr(at + 1);
  size_t dot = domain.rfind('.');
  if (dot == absl::string_view::npos || dot == 0 || dot + 2 > domain.size()) {
    return false;
  }
  for (char c : v) {
    if (c <= ' ' || c == '<' || c == '>' || c == ',' || c == ';') return false;
  }
  return !absl::StrContains(domain, "..");
}

std::string TierForScore(int score) {
  if (score >= 80) return "hot";
  if (score >= 60) return "warm";
  return "qualified";
}

absl::Status NormalizeNewLead(v1::Lead& lead) {
  if (!lead.id().empty()) {
    return InvalidRequest("id is assigned by the server; leave it empty");
  }
  LR_RETURN_IF_ERROR(
      CheckVocabulary("vertical", *lead.mutable_vertical(), kVerticals));
  if (lead.score() < 0 || lead.score() > 100) {
    return InvalidRequest(
        absl::StrCat("score must be between 0 and 100; got ", lead.score()));
  }
  if (lead.score_tier().empty()) {
    lead.set_score_tier(TierForScore(lead.score()));
  } else {
    LR_RETURN_IF_ERROR(
        CheckVocabulary("score_tier", *lead.mutable_score_tier(), kTiers));
  }
  if (lead.first_name().empty() && lead.linkedin().full_name().empty()) {
    return InvalidRequest("first_name (or linkedin.full_name) is required");
  }
  if (!lead.phone().empty() && !IsValidPhone(lead.phone())) {
    return InvalidRequest(absl::StrCat(
        "phone must be in E.164 format such as +27823456789; got '",
        EchoValue(lead.phone()), "'"));
  }
  if (!lead.email().empty() && !IsValidEmail(lead.email())) {
    return InvalidRequest(absl::StrCat("email is not a valid address: '",
                                       EchoValue(lead.email()), "'"));
  }
  if (!lead.status().empty() && lead.status() != "new") {
    return InvalidRequest("status of a new lead is 'new'; leave it empty");
  }
  if (!lead.linkedin().engagement_type().empty()) {
    static constexpr std::array<absl::string_view, 3> kEngagements = {
        "reaction", "comment", "repost"};
    LR_RETURN_IF_ERROR(CheckVocabulary(
        "linkedin.engagement_type",
        *lead.mutable_linkedin()->mutable_engagement_type(), kEngagements));
  }
  for (auto [field, value] :
       std::array<std::pair<absl::string_view, const std::string*>, 8>{{
           {"first_name", &lead.first_name()},
           {"last_name", &lead.last_name()},
           {"suburb", &lead.suburb()},
           {"province", &lead.province()},
           {"service_type", &lead.service_type()},
           {"budget_range", &lead.budget_range()},
           {"external_id", &lead.external_id()},
           {"sub_vertical", &lead.sub_vertical()},
       }}) {
    LR_RETURN_IF_ERROR(CheckLength(field, *value, 200));
  }
  lead.set_status("new");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ApplyLeadUpdate(
    const v1::UpdateLeadRequest& update, v1::Lead& lead) {
  std::vector<std::string> changed;
  if (update.has_status()) {
    std::string status = update.status();
    LR_RETURN_IF_ERROR(CheckVocabulary("status", status, kStatuses));
    if (status != lead.status()) {
      lead.set_status(status);
      changed.push_back("status");
    }
  }
  if (update.has_score()) {
    if (update.score() < 0 || update.score() > 100) {
      return InvalidRequest(absl::StrCat(
          "score must be between 0 and 100; got ", update.score()));
    }
    if (update.score() != lead.score()) {
      lead.set_score(update.score());
      changed.push_back("score");
    }
  }
  if (update.has_score_tier()) {
    std::string tier = update.score_tier();
    LR_RETURN_IF_ERROR(CheckVocabulary("score_tier", tier, kTiers));
    if (tier != lead.score_tier()) {
      lead.set_score_tier(tier);
      changed.push_back("score_tier");
    }
  } else if (update.has_score()) {
    std::string tier = TierForScore(lead.score());
    if (tier != lead.score_tier()) {
      lead.set_score_tier(tier);
      changed.push_back("score_tier");
    }
  }
  if (update.has_score_breakdown() &&
      update.score_breakdown().SerializeAsString() !=
          lead.score_breakdown().SerializeAsString()) {
    *lead.mutable_score_breakdown() = update.score_breakdown();
    changed.push_back("score_breakdown");
  }
  if (!update.has_status() && !update.has_score() && !update.has_score_tier() &&
      !update.has_score_breakdown()) {
    return InvalidRequest(
        "nothing to update: set status, score, score_tier or "
        "score_breakdown");
  }
  return changed;
}

absl::StatusOr<absl::Time> ParseDate(absl::string_view field,
                                     absl::string_view date) {
  absl::Time t;
  std::string err;
  bool shaped = date.size() == 10 && date[4] == '-' && date[7] == '-';
  for (size_t i = 0; shaped && i < date.size(); ++i) {
    shaped = i == 4 || i == 7 ||
             absl::ascii_isdigit(static_cast<unsigned char>(date[i]));
  }
  // Year 0000 is not a date PostgreSQL or ISO 8601 (without extension) has.
  if (!shaped || date.substr(0, 4) == "0000" ||
      !absl::ParseTime("%Y-%m-%d", date, absl::UTCTimeZone(), &t, &err)) {
    return InvalidRequest(absl::StrCat(
        field, " must be an ISO 8601 date such as 2026-05-01; got '",
        EchoValue(date), "'"));
  }
  return t;
}

absl::StatusOr<LeadQuery> ParseLeadQuery(const v1::ListLeadsRequest& r) {
  LeadQuery q;
  q.vertical = r.vertical();
  if (!q.vertical.empty()) {
    LR_RETURN_IF_ERROR(CheckVocabulary("vertical", q.vertical, kVerticals));
  }
  q.score_tier = r.score_tier();
  if (!q.score_tier.empty()) {
    LR_RETURN_IF_ERROR(CheckVocabulary("score_tier", q.score_tier, kTiers));
  }
  q.status = r.status();
  if (!q.status.empty()) {
    LR_RETURN_IF_ERROR(CheckVocabulary("status", q.status, kStatuses));
  }
  q.suburb = r.suburb();
  LR_RETURN_IF_ERROR(CheckLength("suburb", q.suburb, 200));
  if (!r.date_from().empty()) {
    LR_ASSIGN_OR_RETURN(q.from, ParseDate("date_from", r.date_from()));
  }
  if (!r.date_to().empty()) {
    LR_ASSIGN_OR_RETURN(absl::Time to, ParseDate("date_to", r.date_to()));
    q.until = to + absl::Hours(24);
  }
  if (q.from && q.until && *q.from >= *q.until) {
    return InvalidRequest("date_from must not be after date_to");
  }
  if (r.page() < 0) return InvalidRequest("page must be 1 or more");
  if (r.page() > 0) q.page = r.page();
  if (r.limit() < 0 || r.limit() > kMaxPageSize) {
    return InvalidRequest(absl::StrCat("limit must be between 1 and ",
                                       kMaxPageSize, "; got ", r.limit()));
  }
  if (r.limit() > 0) q.limit = r.limit();
  if (q.page > 1000000) return InvalidRequest("page is too large");
  LR_ASSIGN_OR_RETURN(q.offset, PageOffset(r.page_token(), q.page, q.limit));
  return q;
}

}  // namespace leadrelay::domain
