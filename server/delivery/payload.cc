#include "delivery/payload.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "gateway/json_text.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace leadrelay::delivery {

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
    return absl::InternalError(
        absl::StrCat("payload JSON: ", status.message().as_string()));
  }
  return json;
}

absl::StatusOr<std::string> BuildPayload(const v1::Event& event,
                                         absl::string_view delivery_id,
                                         bool test) {
  absl::StatusOr<std::string> data = EventDataJson(event);
  if (!data.ok()) return data.status();
  return BuildPayloadWithData(event, *data, delivery_id, test);
}

std::string BuildPayloadWithData(const v1::Event& event,
                                 absl::string_view data_json,
                                 absl::string_view delivery_id, bool test) {
  std::string timestamp =
      google::protobuf::util::TimeUtil::ToString(event.created_at());
  std::string out =
      absl::StrCat("{\"delivery_id\":", gateway::JsonQuote(delivery_id),
                   ",\"event_id\":", gateway::JsonQuote(event.id()),
                   ",\"event\":", gateway::JsonQuote(event.type()),
                   ",\"timestamp\":", gateway::JsonQuote(timestamp),
                   ",\"account_id\":", gateway::JsonQuote(event.account_id()),
                   ",\"data\":", data_json);
  if (test) out += ",\"test\":true";
  out += "}";
  return out;
}

}  // namespace leadrelay::delivery
