// Independent recomputation of what the dispatcher produces: HMAC-SHA256,
// hex and base64 with OpenSSL, and JSON parsed by protobuf's parser into a
// google.protobuf.Struct. Nothing here shares code with the server.

#ifndef LEADRELAY_TESTS_DELIVERY_TEST_CRYPTO_H_
#define LEADRELAY_TESTS_DELIVERY_TEST_CRYPTO_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"

namespace leadrelay::dtest {

// Parses a JSON object into a Struct (numbers become doubles).
absl::StatusOr<google::protobuf::Struct> ParseJsonObject(
    const std::string& json);

std::string HmacSha256Raw(const std::string& key, const std::string& data);
std::string LowerHex(const std::string& bytes);
std::string Base64Encode(const std::string& bytes);
// Empty optional when `text` is not valid padded base64.
std::optional<std::string> Base64Decode(const std::string& text);

}  // namespace leadrelay::dtest

#endif  // LEADRELAY_TESTS_DELIVERY_TEST_CRYPTO_H_
