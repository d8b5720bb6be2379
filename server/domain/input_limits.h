// Size and shape limits of every API input: pure, no I/O.
//
// One place defines how long a name, id, URL or free text may be, how many
// entries a repeated field may hold, which timestamps are accepted and how
// large a request or an event may be, so every service and the README agree.
// Fields are classed by name (see ClassOf) rather than listed one by one: a
// field added to the API later is limited without anyone remembering to.
#ifndef LEADRELAY_SERVER_DOMAIN_INPUT_LIMITS_H_
#define LEADRELAY_SERVER_DOMAIN_INPUT_LIMITS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "leadrelay/v1/event.pb.h"

namespace leadrelay::domain {

// The limits an operator may change (server flags of the same names).
struct InputLimits {
  // A serialized request above this gets payload_too_large. gRPC itself
  // refuses messages above GrpcMaxReceiveBytes() before the server sees them.
  size_t max_request_bytes = 512 * 1024;
  // A serialized event (PublishEvent) above this gets invalid_request.
  size_t max_event_bytes = 256 * 1024;
};

// The transport limit matching `limits`: room for a request at the limit
// plus slack, so the server (not the transport) answers most oversize
// requests, with a reason.
size_t GrpcMaxReceiveBytes(const InputLimits& limits);

// Fixed per-field limits, in bytes of UTF-8.
enum class FieldClass { kId, kName, kUrl, kFreeText };
inline constexpr size_t kMaxIdBytes = 128;
inline constexpr size_t kMaxNameBytes = 200;
inline constexpr size_t kMaxUrlBytes = 2048;
inline constexpr size_t kMaxFreeTextBytes = 16 * 1024;
// Entries of a repeated string (vocabulary lists: scopes, events, types...).
inline constexpr int kMaxListEntries = 32;
// Entries of a list of lookup keys (`external_ids`, `phones`, `emails`:
// EraseLeads), whose call bounds their total itself (erase_batch_too_large).
inline constexpr int kMaxLookupKeyEntries = 100;
// Entries of a repeated message (profiles, posts, assets of an event).
inline constexpr int kMaxRepeatedMessages = 1000;
// Echoed input in error messages is cut to this many bytes plus "…".
inline constexpr size_t kMaxEchoBytes = 64;

FieldClass ClassOf(const google::protobuf::FieldDescriptor& field);
size_t MaxBytes(FieldClass field_class);

// Every set field of `message`, recursively: strings within their class's
// length and free of NUL bytes and invalid UTF-8, repeated fields within
// their counts, Timestamps within CheckTimestamp. INVALID_ARGUMENT /
// invalid_request naming the field (e.g. `lead.linkedin.comment_text`) and
// the limit.
absl::Status CheckFields(const google::protobuf::Message& message);

// The whole request: payload_too_large above max_request_bytes, then
// CheckFields.
absl::Status CheckRequest(const google::protobuf::Message& request,
                          const InputLimits& limits);

// An event about to be stored: invalid_request above max_event_bytes.
absl::Status CheckEventSize(const v1::Event& event, const InputLimits& limits);

// A timestamp PostgreSQL and RFC 3339 can both represent:
// 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z, nanos 0..999999999.
absl::Status CheckTimestamp(absl::string_view field,
                            const google::protobuf::Timestamp& timestamp);

// `values` without repeats, first occurrence kept, order preserved.
std::vector<std::string> Deduplicated(std::vector<std::string> values);

}  // namespace leadrelay::domain

#endif  // LEADRELAY_SERVER_DOMAIN_INPUT_LIMITS_H_
