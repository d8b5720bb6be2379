#include "leadrelay/webhook_payload.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace leadrelay::webhooks {
namespace {

std::string Quoted(absl::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

absl::StatusOr<std::string> EventDataJson(const v1::Event& event) {
  const auto* oneof = v1::Event::descriptor()->FindOneofByName("data");
  const auto* reflection = event.GetReflection();
  const auto* field = reflection->GetOneofFieldDescriptor(event, oneof);
  if (field == nullptr) return std::string("{}");
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(
      reflection->GetMessage(event, field), &json, options);
  if (!status.ok()) {
    return absl::InternalError(status.message().as_string());
  }
  return json;
}

absl::StatusOr<std::string> DeliveryBody(const v1::Event& event,
                                         absl::string_view delivery_id,
                                         bool test) {
  absl::StatusOr<std::string> data = EventDataJson(event);
  if (!data.ok()) return data.status();
  std::string body = absl::StrCat(
      "{\"delivery_id\":", Quoted(delivery_id),
      ",\"event_id\":", Quoted(event.id()), ",\"event\":", Quoted(event.type()),
      ",\"timestamp\":",
      Quoted(google::protobuf::util::TimeUtil::ToString(event.created_at())),
      ",\"account_id\":", Quoted(event.account_id()), ",\"data\":", *data);
  if (test) body += ",\"test\":true";
  return body + "}";
}

}  // namespace leadrelay::webhooks
