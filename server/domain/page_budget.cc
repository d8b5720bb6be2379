#include "domain/page_budget.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace leadrelay::domain {
namespace {

constexpr absl::string_view kTokenPrefix = "p1:";
// Far past any real list; keeps offset arithmetic away from overflow.
constexpr int kMaxOffset = 100000000;

}  // namespace

std::string EncodePageToken(int offset) {
  return absl::WebSafeBase64Escape(absl::StrCat(kTokenPrefix, offset));
}

absl::StatusOr<int> DecodePageToken(absl::string_view token) {
  std::string raw;
  int offset = 0;
  if (!absl::WebSafeBase64Unescape(token, &raw) ||
      !absl::StartsWith(raw, kTokenPrefix) ||
      !absl::SimpleAtoi(absl::string_view(raw).substr(kTokenPrefix.size()),
                        &offset) ||
      offset < 0 || offset > kMaxOffset) {
    return InvalidRequest(
        "page_token was not returned by this API; pass next_page_token "
        "unchanged");
  }
  return offset;
}

absl::StatusOr<int> PageOffset(absl::string_view page_token, int page,
                               int limit) {
  if (!page_token.empty()) return DecodePageToken(page_token);
  return (page - 1) * limit;
}

std::string NextPageToken(int offset, int returned, int total) {
  if (offset + returned >= total || returned == 0) return "";
  return EncodePageToken(offset + returned);
}

}  // namespace leadrelay::domain
