#include "gateway/wire.h"

namespace leadrelay::gateway {
namespace {

bool ReadVarint(absl::string_view* data, uint64_t* value) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && !data->empty(); shift += 7) {
    uint8_t byte = static_cast<uint8_t>((*data)[0]);
    data->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;
}

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

}  // namespace

absl::Status ForEachWireField(
    absl::string_view data,
    const std::function<absl::Status(const WireField&)>& fn) {
  const absl::Status malformed =
      absl::InvalidArgumentError("malformed protobuf wire data");
  while (!data.empty()) {
    uint64_t tag;
    if (!ReadVarint(&data, &tag)) return malformed;
    WireField field;
    field.number = static_cast<int>(tag >> 3);
    switch (tag & 7) {
      case 0:
        if (!ReadVarint(&data, &field.varint)) return malformed;
        break;
      case 1:
        if (data.size() < 8) return malformed;
        data.remove_prefix(8);
        continue;
      case 2: {
        uint64_t size;
        if (!ReadVarint(&data, &size) || size > data.size()) return malformed;
        field.is_bytes = true;
        field.bytes = data.substr(0, size);
        data.remove_prefix(size);
        break;
      }
      case 5:
        if (data.size() < 4) return malformed;
        data.remove_prefix(4);
        continue;
      default:
        return malformed;
    }
    if (absl::Status s = fn(field); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void AppendBytesField(int number, absl::string_view bytes, std::string* out) {
  AppendVarint((static_cast<uint64_t>(number) << 3) | 2, out);
  AppendVarint(bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

void AppendVarintField(int number, uint64_t value, std::string* out) {
  AppendVarint(static_cast<uint64_t>(number) << 3, out);
  AppendVarint(value, out);
}

}  // namespace leadrelay::gateway
