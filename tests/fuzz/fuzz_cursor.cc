// Fuzzes event cursor decoding: any text a client passes as `after` or a
// page cursor. A cursor that decodes must be one EncodeCursor can produce.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "store/events_repo.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string cursor(reinterpret_cast<const char*>(data), size);
  auto position = leadrelay::store::DecodeCursor(cursor);
  if (position.ok()) {
    auto again = leadrelay::store::DecodeCursor(
        leadrelay::store::EncodeCursor(*position));
    if (!again.ok() || !(*again == *position)) std::abort();
  }
  return 0;
}
