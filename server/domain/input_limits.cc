#include "domain/input_limits.h"

#include <algorithm>
#include <array>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "common/status_util.h"

namespace leadrelay::domain {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in Unix seconds.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

// Names of free-text fields: messages, comments, posts, errors.
constexpr std::array<absl::string_view, 8> kFreeTextNames = {
    "message", "comment_text",     "text",       "headline",
    "error",   "response_excerpt", "last_error", "disabled_reason"};
// Ids and positions that are not named *_id.
constexpr std::array<absl::string_view, 5> kIdNames = {"id", "urn", "after",
                                                       "cursor", "page_token"};

bool Contains(absl::string_view name, absl::Span<const absl::string_view> set) {
  return std::find(set.begin(), set.end(), name) != set.end();
}

// Well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    int extra;
    uint32_t min;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, min = 0x10000, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      auto next = static_cast<unsigned char>(s[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (next & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

absl::Status CheckString(const std::string& path, FieldClass field_class,
                         absl::string_view value) {
  size_t max = MaxBytes(field_class);
  if (value.size() > max) {
    return InvalidRequest(
        absl::StrCat(path, " is ", value.size(), " bytes; the limit is ", max));
  }
  if (value.find('\0') != absl::string_view::npos) {
    return InvalidRequest(absl::StrCat(path, " must not contain NUL bytes"));
  }
  if (!IsValidUtf8(value)) {
    return InvalidRequest(absl::StrCat(path, " is not valid UTF-8"));
  }
  return absl::OkStatus();
}

bool IsTimestamp(const FieldDescriptor& field) {
  return field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
         field.message_type()->full_name() == "google.protobuf.Timestamp";
}

absl::Status CheckMessage(const Message& message, const std::string& prefix);

bool IsLookupKeyList(const FieldDescriptor& field) {
  return field.name() == "external_ids" || field.name() == "phones" ||
         field.name() == "emails";
}

absl::Status CheckValue(const Message& message, const Reflection& reflection,
                        const FieldDescriptor& field, int index,
                        const std::string& path) {
  bool repeated = field.is_repeated();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      if (field.type() == FieldDescriptor::TYPE_BYTES) return absl::OkStatus();
      std::string scratch;
      const std::string& value =
          repeated ? reflection.GetRepeatedStringReference(message, &field,
                                                           index, &scratch)
                   : reflection.GetStringReference(message, &field, &scratch);
      return CheckString(path, ClassOf(field), value);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& child =
          repeated ? reflection.GetRepeatedMessage(message, &field, index)
                   : reflection.GetMessage(message, &field);
      if (IsTimestamp(field)) {
        google::protobuf::Timestamp ts;
        ts.CopyFrom(child);
        return CheckTimestamp(path, ts);
      }
      return CheckMessage(child, path + ".");
    }
    default:
      return absl::OkStatus();
  }
}

absl::Status CheckMessage(const Message& message, const std::string& prefix) {
  const Reflection& reflection = *message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection.ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    std::string path = prefix + field->name();
    if (!field->is_repeated()) {
      LR_RETURN_IF_ERROR(CheckValue(message, reflection, *field, 0, path));
      continue;
    }
    int size = reflection.FieldSize(message, field);
    int max = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE
                  ? kMaxRepeatedMessages
              : IsLookupKeyList(*field) ? kMaxLookupKeyEntries
                                        : kMaxListEntries;
    if (size > max) {
      return InvalidRequest(
          absl::StrCat(path, " has ", size, " entries; the limit is ", max));
    }
    for (int i = 0; i < size; ++i) {
      LR_RETURN_IF_ERROR(CheckValue(message, reflection, *field, i,
                                    absl::StrCat(path, "[", i, "]")));
    }
  }
  return absl::OkStatus();
}

}  // namespace

size_t GrpcMaxReceiveBytes(const InputLimits& limits) {
  return std::max(limits.max_request_bytes, limits.max_event_bytes) * 2;
}

FieldClass ClassOf(const FieldDescriptor& field) {
  absl::string_view name = field.name();
  if (name == "url" || absl::EndsWith(name, "_url")) return FieldClass::kUrl;
  if (Contains(name, kFreeTextNames)) return FieldClass::kFreeText;
  if (Contains(name, kIdNames) || absl::EndsWith(name, "_id")) {
    return FieldClass::kId;
  }
  return FieldClass::kName;
}

size_t MaxBytes(FieldClass field_class) {
  switch (field_class) {
    case FieldClass::kId:
      return kMaxIdBytes;
    case FieldClass::kUrl:
      return kMaxUrlBytes;
    case FieldClass::kFreeText:
      return kMaxFreeTextBytes;
    case FieldClass::kName:
      break;
  }
  return kMaxNameBytes;
}

absl::Status CheckFields(const Message& message) {
  return CheckMessage(message, "");
}

absl::Status CheckRequest(const Message& request, const InputLimits& limits) {
  size_t size = request.ByteSizeLong();
  if (size > limits.max_request_bytes) {
    return PayloadTooLarge(absl::StrCat("the request is ", size,
                                        " bytes; the limit is ",
                                        limits.max_request_bytes));
  }
  return CheckFields(request);
}

absl::Status CheckEventSize(const v1::Event& event, const InputLimits& limits) {
  size_t size = event.ByteSizeLong();
  if (size <= limits.max_event_bytes) return absl::OkStatus();
  return InvalidRequest(absl::StrCat("the event is ", size,
                                     " bytes serialized; the limit is ",
                                     limits.max_event_bytes));
}

absl::Status CheckTimestamp(absl::string_view field,
                            const google::protobuf::Timestamp& timestamp) {
  if (timestamp.seconds() < kMinTimestampSeconds ||
      timestamp.seconds() > kMaxTimestampSeconds || timestamp.nanos() < 0 ||
      timestamp.nanos() > 999999999) {
    return InvalidRequest(absl::StrCat(
        field,
        " must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z "
        "(nanos 0 to 999999999)"));
  }
  return absl::OkStatus();
}

std::vector<std::string> Deduplicated(std::vector<std::string> values) {
  std::set<std::string> seen;
  std::vector<std::string> out;
  for (std::string& v : values) {
    if (seen.insert(v).second) out.push_back(std::move(v));
  }
  return out;
}

}  // namespace leadrelay::domain
