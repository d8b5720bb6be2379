#include "auth/access_rules.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/status_util.h"
#include "google/protobuf/descriptor.h"

namespace leadrelay::auth {

absl::StatusOr<std::string> ExtractApiKey(
    std::optional<absl::string_view> authorization,
    std::optional<absl::string_view> x_api_key) {
  absl::string_view key;
  // An empty Authorization header (some HTTP tools send one) defers to
  // X-Api-Key.
  if (authorization.has_value() &&
      absl::StripAsciiWhitespace(*authorization).empty() &&
      x_api_key.has_value()) {
    authorization.reset();
  }
  if (authorization.has_value()) {
    absl::string_view value = absl::StripAsciiWhitespace(*authorization);
    if (!absl::StartsWithIgnoreCase(value, "bearer ")) {
      return Unauthorized(
          "the authorization header must be 'Bearer <api key>'");
    }
    key = absl::StripAsciiWhitespace(value.substr(7));
  } else if (x_api_key.has_value()) {
    key = absl::StripAsciiWhitespace(*x_api_key);
  }
  if (key.empty()) {
    return Unauthorized(
        "missing API key: send 'Authorization: Bearer <key>' or "
        "'X-Api-Key: <key>'");
  }
  if (key.size() > 200) return Unauthorized("invalid API key");
  return std::string(key);
}

std::string ScopeName(v1::Scope scope) {
  switch (scope) {
    case v1::SCOPE_READ:
      return "read";
    case v1::SCOPE_WRITE:
      return "write";
    case v1::SCOPE_INGEST:
      return "ingest";
    case v1::SCOPE_ADMIN:
      return "admin";
    default:
      return "admin";
  }
}

absl::Status ValidateScopes(const std::vector<std::string>& scopes) {
  for (const std::string& s : scopes) {
    if (s != "read" && s != "write" && s != "ingest" && s != "admin") {
      return InvalidRequest(
          absl::StrCat("unknown scope '", EchoValue(s),
                       "'; scopes are read, write, ingest, admin"));
    }
  }
  return absl::OkStatus();
}

bool HasScope(const std::vector<std::string>& granted, v1::Scope required) {
  std::string name = ScopeName(required);
  return std::any_of(granted.begin(), granted.end(),
                     [&](const auto& s) { return s == name || s == "admin"; });
}

namespace {

v1::MethodPolicy LookUpPolicy(absl::string_view method) {
  const auto* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
          std::string(method));
  if (descriptor == nullptr ||
      !descriptor->options().HasExtension(v1::policy)) {
    v1::MethodPolicy closed;
    closed.set_scope(v1::SCOPE_ADMIN);
    return closed;
  }
  return descriptor->options().GetExtension(v1::policy);
}

}  // namespace

v1::MethodPolicy PolicyFor(absl::string_view method) {
  // Declared in the proto, so fixed at run time: every call of a method
  // would otherwise search the descriptor pool (under its lock) again.
  static absl::Mutex mu(absl::kConstInit);
  static auto* policies =
      new absl::flat_hash_map<std::string, v1::MethodPolicy>();
  {
    absl::ReaderMutexLock lock(&mu);
    auto it = policies->find(method);
    if (it != policies->end()) return it->second;
  }
  v1::MethodPolicy policy = LookUpPolicy(method);
  absl::MutexLock lock(&mu);
  policies->emplace(method, policy);
  return policy;
}

RateLimitVerdict DecideRateLimit(int limit, int64_t count,
                                 int64_t window_start_us, int64_t now_us) {
  RateLimitVerdict v;
  v.limit = limit;
  if (limit <= 0) return v;
  int64_t end_us = window_start_us + int64_t{kRateWindowSeconds} * 1000000;
  v.reset_unix = (end_us + 999999) / 1000000;
  v.remaining = static_cast<int>(std::max<int64_t>(0, limit - count));
  v.allowed = count <= limit;
  if (!v.allowed) {
    int64_t wait_us = std::max<int64_t>(0, end_us - now_us);
    v.retry_after_seconds =
        static_cast<int>(std::max<int64_t>(1, (wait_us + 999999) / 1000000));
  }
  return v;
}

CombinedRateLimit CombineRateLimits(const RateLimitVerdict& key,
                                    const RateLimitVerdict& account) {
  if (!key.allowed) return {key, false};
  if (!account.allowed) return {account, true};
  if (account.limit > 0 &&
      (key.limit <= 0 || account.remaining < key.remaining)) {
    return {account, true};
  }
  return {key, false};
}

}  // namespace leadrelay::auth
