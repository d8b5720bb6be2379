#include "gateway/http_mapping.h"

#include <cctype>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gateway/wire.h"

namespace leadrelay::gateway {
namespace {

constexpr const char* kCodeNames[] = {
    "ok",        "cancelled",          "unknown",          "invalid_argument",
    "deadline_exceeded", "not_found",  "already_exists",   "permission_denied",
    "resource_exhausted", "failed_precondition", "aborted", "out_of_range",
    "unimplemented", "internal",       "unavailable",      "data_loss",
    "unauthenticated"};

constexpr absl::string_view kErrorInfoType =
    "type.googleapis.com/google.rpc.ErrorInfo";
constexpr absl::string_view kRetryInfoType =
    "type.googleapis.com/google.rpc.RetryInfo";

bool IsHopByHopOrTransport(absl::string_view name) {
  static const auto* const kDropped = new absl::flat_hash_set<std::string>{
      "connection", "keep-alive", "proxy-connection", "proxy-authenticate",
      "te",         "trailer",    "transfer-encoding", "upgrade",
      "host",       "content-length", "content-type", "expect",
      "user-agent", "accept-encoding", "content-encoding", "http2-settings",
      "date",       "server"};
  return kDropped->contains(name);
}

bool IsValidMetadataKey(absl::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
          c == '.')) {
      return false;
    }
  }
  return true;
}

bool IsValidMetadataValue(absl::string_view value) {
  for (char c : value) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

std::string ReplyBody(int code, absl::string_view message,
                      const StatusDetails& details, bool convert_grpc_status) {
  if (convert_grpc_status) {
    return absl::StrCat("{\"code\":", code, ",\"message\":", JsonQuote(message),
                        details.details_json.empty()
                            ? ""
                            : absl::StrCat(",\"details\":", details.details_json),
                        "}");
  }
  std::string reason =
      details.reason.empty() ? ErrorCodeForGrpcCode(code) : details.reason;
  std::string body = absl::StrCat("{\"code\":", JsonQuote(reason),
                                  ",\"message\":", JsonQuote(message));
  if (details.retry_after_seconds) {
    absl::StrAppend(&body, ",\"retry_after_seconds\":",
                    *details.retry_after_seconds);
  }
  body.push_back('}');
  return body;
}

}  // namespace

int HttpStatusFromGrpcCode(int code) {
  switch (code) {
    case 0: return 200;
    case 1: return 499;   // CANCELLED
    case 2: return 500;   // UNKNOWN
    case 3: return 400;   // INVALID_ARGUMENT
    case 4: return 504;   // DEADLINE_EXCEEDED
    case 5: return 404;   // NOT_FOUND
    case 6: return 409;   // ALREADY_EXISTS
    case 7: return 403;   // PERMISSION_DENIED
    case 8: return 429;   // RESOURCE_EXHAUSTED
    case 9: return 400;   // FAILED_PRECONDITION
    case 10: return 409;  // ABORTED
    case 11: return 400;  // OUT_OF_RANGE
    case 12: return 501;  // UNIMPLEMENTED
    case 13: return 500;  // INTERNAL
    case 14: return 503;  // UNAVAILABLE
    case 15: return 500;  // DATA_LOSS
    case 16: return 401;  // UNAUTHENTICATED
    default: return 500;
  }
}

std::string ErrorCodeForGrpcCode(int code) {
  switch (code) {
    case 3: case 9: case 11: return "invalid_request";
    case 16: return "unauthorized";
    case 7: return "forbidden";
    case 5: return "not_found";
    case 8: return "rate_limited";
    case 2: case 13: case 15: return "internal_error";
    case 14: return "unavailable";
    default:
      if (code >= 0 && code <= 16) return kCodeNames[code];
      return "internal_error";
  }
}

StatusDetails DecodeStatusDetails(absl::string_view status_bytes) {
  StatusDetails out;
  std::string json = "[";
  auto add_json = [&json](absl::string_view item) {
    if (json.size() > 1) json.push_back(',');
    absl::StrAppend(&json, item);
  };
  // google.rpc.Status: code 1, message 2, details 3 (Any: type_url 1, value 2).
  absl::Status status = ForEachWireField(status_bytes, [&](const WireField& f) {
    if (f.number != 3 || !f.is_bytes) return absl::OkStatus();
    std::string type_url;
    absl::string_view value;
    absl::Status s = ForEachWireField(f.bytes, [&](const WireField& any) {
      if (any.number == 1 && any.is_bytes) type_url = std::string(any.bytes);
      if (any.number == 2 && any.is_bytes) value = any.bytes;
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    if (type_url == kErrorInfoType) {
      // ErrorInfo: reason 1, domain 2, metadata 3 (entry: key 1, value 2).
      std::string metadata_json;
      s = ForEachWireField(value, [&](const WireField& e) {
        if (e.number == 1 && e.is_bytes) out.reason = std::string(e.bytes);
        if (e.number == 2 && e.is_bytes) out.domain = std::string(e.bytes);
        if (e.number == 3 && e.is_bytes) {
          std::string key, val;
          ForEachWireField(e.bytes, [&](const WireField& kv) {
            if (kv.number == 1 && kv.is_bytes) key = std::string(kv.bytes);
            if (kv.number == 2 && kv.is_bytes) val = std::string(kv.bytes);
            return absl::OkStatus();
          }).IgnoreError();
          absl::StrAppend(&metadata_json, metadata_json.empty() ? "" : ",",
                          JsonQuote(key), ":", JsonQuote(val));
          if (key == "retry_after_seconds") {
            int64_t seconds;
            if (absl::SimpleAtoi(val, &seconds)) out.retry_after_seconds = seconds;
          }
          out.metadata.emplace_back(std::move(key), std::move(val));
        }
        return absl::OkStatus();
      });
      if (!s.ok()) return s;
      add_json(absl::StrCat("{\"@type\":", JsonQuote(type_url),
                            ",\"reason\":", JsonQuote(out.reason),
                            ",\"domain\":", JsonQuote(out.domain),
                            ",\"metadata\":{", metadata_json, "}}"));
    } else if (type_url == kRetryInfoType) {
      // RetryInfo: retry_delay 1 (Duration: seconds 1, nanos 2).
      int64_t seconds = 0;
      int32_t nanos = 0;
      s = ForEachWireField(value, [&](const WireField& r) {
        if (r.number != 1 || !r.is_bytes) return absl::OkStatus();
        return ForEachWireField(r.bytes, [&](const WireField& d) {
          if (d.number == 1 && !d.is_bytes) seconds = static_cast<int64_t>(d.varint);
          if (d.number == 2 && !d.is_bytes) nanos = static_cast<int32_t>(d.varint);
          return absl::OkStatus();
        });
      });
      if (!s.ok()) return s;
      if (!out.retry_after_seconds) {
        out.retry_after_seconds = seconds + (nanos > 0 ? 1 : 0);
      }
      std::string delay = nanos == 0 ? absl::StrCat(seconds, "s")
                                     : absl::StrFormat("%d.%09ds", seconds, nanos);
      add_json(absl::StrCat("{\"@type\":", JsonQuote(type_url),
                            ",\"retryDelay\":", JsonQuote(delay), "}"));
    } else {
      add_json(absl::StrCat("{\"@type\":", JsonQuote(type_url), ",\"value\":",
                            JsonQuote(absl::Base64Escape(value)), "}"));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return StatusDetails{};
  if (json.size() > 1) out.details_json = json + "]";
  return out;
}

HttpReply ErrorReplyFromGrpc(int code, absl::string_view message,
                             absl::string_view status_details,
                             bool convert_grpc_status) {
  StatusDetails details = DecodeStatusDetails(status_details);
  HttpReply reply;
  reply.status = HttpStatusFromGrpcCode(code);
  reply.body = ReplyBody(code, message, details, convert_grpc_status);
  if (details.retry_after_seconds &&
      (reply.status == 429 || reply.status == 503)) {
    reply.headers.emplace_back("Retry-After",
                               absl::StrCat(*details.retry_after_seconds));
  }
  return reply;
}

std::string ErrorJsonFromGrpc(int code, absl::string_view message,
                              absl::string_view status_details,
                              bool convert_grpc_status) {
  return ReplyBody(code, message, DecodeStatusDetails(status_details),
                   convert_grpc_status);
}

HttpReply GatewayErrorReply(int http_status, absl::string_view code,
                            absl::string_view message) {
  HttpReply reply;
  reply.status = http_status;
  reply.body = absl::StrCat("{\"code\":", JsonQuote(code),
                            ",\"message\":", JsonQuote(message), "}");
  return reply;
}

std::string JsonQuote(absl::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

HeaderList MetadataFromHeaders(const HeaderList& headers) {
  HeaderList out;
  for (const auto& [raw_name, value] : headers) {
    std::string name = absl::AsciiStrToLower(raw_name);
    if (IsHopByHopOrTransport(name) || absl::StartsWith(name, "grpc-") ||
        absl::StartsWith(name, ":") || absl::EndsWith(name, "-bin") ||
        !IsValidMetadataKey(name) || !IsValidMetadataValue(value)) {
      continue;
    }
    out.emplace_back(std::move(name), value);
  }
  return out;
}

HeaderList HeadersFromMetadata(const HeaderList& metadata) {
  static const auto* const kRateLimit = new HeaderList{
      {"x-ratelimit-limit", "X-RateLimit-Limit"},
      {"x-ratelimit-remaining", "X-RateLimit-Remaining"},
      {"x-ratelimit-reset", "X-RateLimit-Reset"}};
  HeaderList out;
  absl::flat_hash_set<std::string> seen;
  for (const auto& [raw_key, value] : metadata) {
    std::string key = absl::AsciiStrToLower(raw_key);
    if (IsHopByHopOrTransport(key) || absl::StartsWith(key, "grpc-") ||
        absl::StartsWith(key, ":") || absl::EndsWith(key, "-bin") ||
        !IsValidMetadataValue(value) || !seen.insert(key).second) {
      continue;
    }
    std::string name = key;
    for (const auto& [from, to] : *kRateLimit) {
      if (key == from) name = to;
    }
    out.emplace_back(std::move(name), value);
  }
  return out;
}

std::optional<absl::Duration> ParseGrpcTimeout(absl::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  int64_t amount;
  if (!absl::SimpleAtoi(value.substr(0, value.size() - 1), &amount) ||
      amount < 0) {
    return std::nullopt;
  }
  switch (value.back()) {
    case 'H': return absl::Hours(amount);
    case 'M': return absl::Minutes(amount);
    case 'S': return absl::Seconds(amount);
    case 'm': return absl::Milliseconds(amount);
    case 'u': return absl::Microseconds(amount);
    case 'n': return absl::Nanoseconds(amount);
    default: return std::nullopt;
  }
}

}  // namespace leadrelay::gateway
