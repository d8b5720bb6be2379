// Cutting list pages to a byte budget, and the page tokens that continue
// them: pure, no I/O.
//
// A list response must stay below what clients accept (gRPC's default
// receive limit is 4 MiB), whatever the size of the items: a page keeps the
// longest run of items that fits (at least one) and hands out a token for
// the rest. Tokens are offsets into the same filtered, ordered list.
#ifndef LEADRELAY_SERVER_DOMAIN_PAGE_BUDGET_H_
#define LEADRELAY_SERVER_DOMAIN_PAGE_BUDGET_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace leadrelay::domain {

// How many leading `items` fit `budget` bytes serialized; at least one when
// there are any, so a page always makes progress.
template <typename Item>
int FittingCount(const google::protobuf::RepeatedPtrField<Item>& items,
                 size_t budget) {
  size_t used = 0;
  int n = 0;
  for (const Item& item : items) {
    // Each repeated entry also costs a tag and a length prefix.
    used += item.ByteSizeLong() + 6;
    if (n > 0 && used > budget) break;
    ++n;
  }
  return n;
}

std::string EncodePageToken(int offset);
// INVALID_ARGUMENT / invalid_request for anything EncodePageToken did not
// produce.
absl::StatusOr<int> DecodePageToken(absl::string_view token);

// The offset a list starts at: the token's when given, else the page's.
absl::StatusOr<int> PageOffset(absl::string_view page_token, int page,
                               int limit);

// The token for what follows `returned` items at `offset` of `total`; empty
// at the end.
std::string NextPageToken(int offset, int returned, int total);

}  // namespace leadrelay::domain

#endif  // LEADRELAY_SERVER_DOMAIN_PAGE_BUDGET_H_
