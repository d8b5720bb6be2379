#include "domain/lead_filter.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

absl::Status NormalizePlace(absl::string_view field, std::string& value) {
  value = PlaceKey(value);
  if (value.empty()) {
    return InvalidRequest(absl::StrCat(field, " may not hold a blank name"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string PlaceKey(absl::string_view place) {
  std::string key;
  key.reserve(place.size());
  for (absl::string_view word :
       absl::StrSplit(place, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty())) {
    if (!key.empty()) key += ' ';
    absl::StrAppend(&key, absl::AsciiStrToLower(word));
  }
  return key;
}

bool LeadFilter::Empty() const {
  return verticals.empty() && score_tiers.empty() && min_score == 0 &&
         suburbs.empty() && provinces.empty();
}

bool LeadFilter::Matches(const v1::Lead& lead) const {
  // A place's key is computed only when a place is filtered on.
  return Admits(verticals, lead.vertical()) &&
         Admits(score_tiers, lead.score_tier()) && lead.score() >= min_score &&
         (suburbs.empty() || Admits(suburbs, PlaceKey(lead.suburb()))) &&
         (provinces.empty() || Admits(provinces, PlaceKey(lead.province())));
}

v1::LeadFilter LeadFilter::ToProto() const {
  v1::LeadFilter out;
  out.mutable_verticals()->Assign(verticals.begin(), verticals.end());
  out.mutable_score_tiers()->Assign(score_tiers.begin(), score_tiers.end());
  out.set_min_score(min_score);
  out.mutable_suburbs()->Assign(suburbs.begin(), suburbs.end());
  out.mutable_provinces()->Assign(provinces.begin(), provinces.end());
  return out;
}

absl::StatusOr<LeadFilter> ParseLeadFilter(const v1::LeadFilter& filter,
                                           absl::string_view prefix) {
  LeadFilter f;
  LR_ASSIGN_OR_RETURN(
      f.verticals,
      NormalizedList(filter.verticals(), absl::StrCat(prefix, "verticals"),
                     &NormalizeVertical));
  LR_ASSIGN_OR_RETURN(
      f.score_tiers,
      NormalizedList(filter.score_tiers(), absl::StrCat(prefix, "score_tiers"),
                     &NormalizeScoreTier));
  if (filter.min_score() < 0 || filter.min_score() > kMaxLeadScore) {
    return InvalidRequest(absl::StrCat(prefix, "min_score must be 0 to ",
                                       kMaxLeadScore, "; got ",
                                       filter.min_score()));
  }
  f.min_score = filter.min_score();
  LR_ASSIGN_OR_RETURN(f.suburbs, NormalizedList(filter.suburbs(),
                                                absl::StrCat(prefix, "suburbs"),
                                                &NormalizePlace));
  LR_ASSIGN_OR_RETURN(
      f.provinces,
      NormalizedList(filter.provinces(), absl::StrCat(prefix, "provinces"),
                     &NormalizePlace));
  return f;
}

}  // namespace leadrelay::domain
