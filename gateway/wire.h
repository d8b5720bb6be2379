// Minimal protobuf wire-format reading and writing, for the few messages the
// gateway handles without generated code (google.api.HttpRule in method
// options, google.rpc.Status in error details). Pure logic.
#ifndef LEADRELAY_GATEWAY_WIRE_H_
#define LEADRELAY_GATEWAY_WIRE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace leadrelay::gateway {

struct WireField {
  int number = 0;
  bool is_bytes = false;  // length-delimited: `bytes` is set
  uint64_t varint = 0;    // varint fields only
  absl::string_view bytes;
};

// Calls `fn` for every top-level field of the message in `data`; stops at the
// first error. Fixed32/64 fields are skipped; groups are an error.
absl::Status ForEachWireField(
    absl::string_view data,
    const std::function<absl::Status(const WireField&)>& fn);

// Appends a length-delimited field / a varint field.
void AppendBytesField(int number, absl::string_view bytes, std::string* out);
void AppendVarintField(int number, uint64_t value, std::string* out);

}  // namespace leadrelay::gateway

#endif  // LEADRELAY_GATEWAY_WIRE_H_
