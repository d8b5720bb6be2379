// The one JSON string escaper of the codebase (gateway error bodies, OpenAPI,
// webhook envelopes) and UTF-8 validation. Pure logic.
#ifndef LEADRELAY_GATEWAY_JSON_TEXT_H_
#define LEADRELAY_GATEWAY_JSON_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace leadrelay::gateway {

// Quotes and escapes `s` as a JSON string. Bytes that are not valid UTF-8
// (they may come from a request) become U+FFFD, so the result is always
// valid JSON in valid UTF-8.
std::string JsonQuote(absl::string_view s);

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing
// above U+10FFFF).
bool IsValidUtf8(absl::string_view s);

}  // namespace leadrelay::gateway

#endif  // LEADRELAY_GATEWAY_JSON_TEXT_H_
