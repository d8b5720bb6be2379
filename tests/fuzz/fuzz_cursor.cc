// Fuzzes event cursor decoding: any text a client passes as `after` or a
// page cursor. A cursor that decodes must be one EncodeCursor can produce,
// and a cursor only ever decodes for the account it was made for.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "store/events_repo.h"

namespace {
constexpr char kAccount[] = "acct_fuzz";
constexpr char kOther[] = "acct_other";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using leadrelay::store::DecodeCursor;
  using leadrelay::store::EncodeCursor;
  const std::string cursor(reinterpret_cast<const char*>(data), size);
  auto position = DecodeCursor(kAccount, cursor);
  if (position.ok()) {
    auto again = DecodeCursor(kAccount, EncodeCursor(kAccount, *position));
    if (!again.ok() || !(*again == *position)) std::abort();
  }
  // Any position round-trips, and is refused for another account.
  if (size >= sizeof(int64_t)) {
    int64_t seq;
    std::memcpy(&seq, data, sizeof(seq));
    if (seq >= 0) {
      std::string sealed = EncodeCursor(kAccount, {seq});
      auto back = DecodeCursor(kAccount, sealed);
      if (!back.ok() || back->seq != seq) std::abort();
      if (DecodeCursor(kOther, sealed).ok()) std::abort();
    }
  }
  return 0;
}
