#include "domain/lead_filter.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "domain/input_limits.h"
#include "domain/lead_rules.h"

namespace leadrelay::domain {
namespace {

bool Admits(const std::vector<std::string>& allowed, const std::string& v) {
  return allowed.empty() ||
         std::find(allowed.begin(), allowed.end(), v) != allowed.end();
}

using NormalizeFn = absl::Status (*)(absl::string_view, std::string&);

absl::StatusOr<std::vector<std::string>> NormalizedList(
    const google::protobuf::RepeatedPtrField<std::string>& values,
    const std::string& field, NormalizeFn normalize) {
  std::vector<std::string> out;
  for (std::string value : values) {
    LR_RETURN_IF_ERROR(normalize(field, value));
    out.push_back(std::move(value));
  }
  return Deduplicated(std::move(out));
}

}  // namespace

bool LeadFilter::Empty() const {
  return verticals.empty() && score_tiers.empty() && min_score == 0;
}

bool LeadFilter::Matches(const v1::Lead& lead) const {
  return Admits(verticals, lead.vertical()) &&
         Admits(score_tiers, lead.score_tier()) && lead.score() >= min_score;
}

v1::LeadFilter LeadFilter::ToProto() const {
  v1::LeadFilter out;
  out.mutable_verticals()->Assign(verticals.begin(), verticals.end());
  out.mutable_score_tiers()->Assign(score_tiers.begin(), score_tiers.end());
  out.set_min_score(min_score);
  return out;
}

absl::StatusOr<LeadFilter> ParseLeadFilter(
    const google::protobuf::RepeatedPtrField<std::string>& verticals,
    const google::protobuf::RepeatedPtrField<std::string>& score_tiers,
    int min_score, absl::string_view prefix) {
  LeadFilter f;
  LR_ASSIGN_OR_RETURN(
      f.verticals, NormalizedList(verticals, absl::StrCat(prefix, "verticals"),
                                  &NormalizeVertical));
  LR_ASSIGN_OR_RETURN(
      f.score_tiers,
      NormalizedList(score_tiers, absl::StrCat(prefix, "score_tiers"),
                     &NormalizeScoreTier));
  if (min_score < 0 || min_score > kMaxLeadScore) {
    return InvalidRequest(absl::StrCat(prefix, "min_score must be 0 to ",
                                       kMaxLeadScore, "; got ", min_score));
  }
  f.min_score = min_score;
  return f;
}

absl::StatusOr<LeadFilter> ParseLeadFilter(const v1::LeadFilter& filter,
                                           absl::string_view prefix) {
  return ParseLeadFilter(filter.verticals(), filter.score_tiers(),
                         filter.min_score(), prefix);
}

}  // namespace leadrelay::domain
