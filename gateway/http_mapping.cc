#include "gateway/http_mapping.h"

#include <cctype>
#include <map>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace leadrelay::gateway {
namespace {

constexpr const char* kCodeNames[] = {"ok",
                                      "cancelled",
                                      "unknown",
                                      "invalid_argument",
                                      "deadline_exceeded",
                                      "not_found",
                                      "already_exists",
                                      "permission_denied",
                                      "resource_exhausted",
                                      "failed_precondition",
                                      "aborted",
                                      "out_of_range",
                                      "unimplemented",
                                      "internal",
                                      "unavailable",
                                      "data_loss",
                                      "unauthenticated"};

constexpr int kGrpcResourceExhausted = 8;

bool IsHopByHopOrTransport(absl::string_view name) {
  static const auto* const kDropped =
      new absl::flat_hash_set<std::string>{"connection",
                                           "keep-alive",
                                           "proxy-connection",
                                           "proxy-authenticate",
                                           "te",
                                           "trailer",
                                           "transfer-encoding",
                                           "upgrade",
                                           "host",
                                           "content-length",
                                           "content-type",
                                           "expect",
                                           "user-agent",
                                           "accept-encoding",
                                           "content-encoding",
                                           "http2-settings",
                                           "date",
                                           "server"};
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
                      const GrpcErrorClass& error, const StatusDetails& details,
                      bool convert_grpc_status) {
  if (convert_grpc_status) {
    return absl::StrCat(
        "{\"code\":", code, ",\"message\":", JsonQuote(message),
        details.details_json.empty()
            ? ""
            : absl::StrCat(",\"details\":", details.details_json),
        "}");
  }
  std::string body = absl::StrCat("{\"code\":", JsonQuote(error.code),
                                  ",\"message\":", JsonQuote(message));
  if (error.retry_after && details.retry_after_seconds) {
    absl::StrAppend(&body,
                    ",\"retry_after_seconds\":", *details.retry_after_seconds);
  }
  // Other ErrorInfo metadata (e.g. cursor_expired's oldest_cursor) as
  // fields of their own, so REST clients need not parse the message.
  for (const auto& [key, value] : details.metadata) {
    if (key == "retry_after_seconds") continue;
    absl::StrAppend(&body, ",", JsonQuote(key), ":", JsonQuote(value));
  }
  body.push_back('}');
  return body;
}

}  // namespace

int HttpStatusFromGrpcCode(int code) {
  switch (code) {
    case 0:
      return 200;
    case 1:
      return 499;  // CANCELLED
    case 2:
      return 500;  // UNKNOWN
    case 3:
      return 400;  // INVALID_ARGUMENT
    case 4:
      return 504;  // DEADLINE_EXCEEDED
    case 5:
      return 404;  // NOT_FOUND
    case 6:
      return 409;  // ALREADY_EXISTS
    case 7:
      return 403;  // PERMISSION_DENIED
    case 8:
      return 429;  // RESOURCE_EXHAUSTED
    case 9:
      return 400;  // FAILED_PRECONDITION
    case 10:
      return 409;  // ABORTED
    case 11:
      return 400;  // OUT_OF_RANGE
    case 12:
      return 501;  // UNIMPLEMENTED
    case 13:
      return 500;  // INTERNAL
    case 14:
      return 503;  // UNAVAILABLE
    case 15:
      return 500;  // DATA_LOSS
    case 16:
      return 401;  // UNAUTHENTICATED
    default:
      return 500;
  }
}

std::string ErrorCodeForGrpcCode(int code) {
  switch (code) {
    case 3:
    case 9:
    case 11:
      return "invalid_request";
    case 16:
      return "unauthorized";
    case 7:
      return "forbidden";
    case 5:
      return "not_found";
    case 2:
    case 13:
    case 15:
      return "internal_error";
    case 14:
      return "unavailable";
    default:
      if (code >= 0 && code <= 16) return kCodeNames[code];
      return "internal_error";
  }
}

StatusDetails DecodeStatusDetails(absl::string_view status_bytes) {
  StatusDetails out;
  google::rpc::Status status;
  if (status_bytes.empty() ||
      !status.ParseFromArray(status_bytes.data(),
                             static_cast<int>(status_bytes.size()))) {
    return out;
  }
  std::string json;
  for (const google::protobuf::Any& any : status.details()) {
    if (!json.empty()) json.push_back(',');
    google::rpc::ErrorInfo info;
    google::rpc::RetryInfo retry;
    if (any.Is<google::rpc::ErrorInfo>() && any.UnpackTo(&info)) {
      out.reason = info.reason();
      out.domain = info.domain();
      // Sorted, so that the header order and the JSON do not depend on
      // the map's iteration order.
      std::map<std::string, std::string> metadata(info.metadata().begin(),
                                                  info.metadata().end());
      for (const auto& [key, value] : metadata) {
        out.metadata.emplace_back(key, value);
        int64_t seconds;
        if (key == "retry_after_seconds" && absl::SimpleAtoi(value, &seconds)) {
          out.retry_after_seconds = seconds;
        }
      }
    } else if (any.Is<google::rpc::RetryInfo>() && any.UnpackTo(&retry) &&
               !out.retry_after_seconds) {
      const auto& delay = retry.retry_delay();
      out.retry_after_seconds = delay.seconds() + (delay.nanos() > 0 ? 1 : 0);
    }
    // Types this binary knows print as proto JSON; others as base64.
    std::string item;
    if (!google::protobuf::util::MessageToJsonString(any, &item).ok()) {
      item = absl::StrCat(
          "{\"@type\":", JsonQuote(any.type_url()),
          ",\"value\":", JsonQuote(absl::Base64Escape(any.value())), "}");
    }
    json += item;
  }
  if (!json.empty()) out.details_json = absl::StrCat("[", json, "]");
  return out;
}

GrpcErrorClass ClassifyGrpcError(int code, absl::string_view message,
                                 const StatusDetails& details,
                                 size_t request_bytes) {
  GrpcErrorClass out;
  out.http_status = HttpStatusFromGrpcCode(code);
  out.code =
      details.reason.empty() ? ErrorCodeForGrpcCode(code) : details.reason;
  const absl::string_view reason = details.reason;
  if (reason == kReasonRateLimited || reason == kReasonAccountRateLimited) {
    out.http_status = 429;
    out.retry_after = true;
  } else if (reason == kReasonAuthThrottled) {
    out.http_status = 429;
    out.retry_after = true;
  } else if (reason == kReasonTooManyStreams) {
    out.http_status = 429;
  } else if (reason == kReasonTooManyServerStreams) {
    out.http_status = 503;
    out.retry_after = true;
  } else if (reason == kReasonPayloadTooLarge) {
    out.http_status = 413;
  } else if (reason == kReasonTooManyKeys) {
    out.http_status = 400;  // revoke a key first: the request, not a right
  } else if (reason == kReasonQuotaExceeded ||
             reason == kReasonAccountSuspended) {
    out.http_status = 403;
  } else if (code == kGrpcResourceExhausted && reason.empty()) {
    // gRPC's own size limit carries no ErrorInfo: "Received message larger
    // than max (N vs. M)" for the request (from the server) or for the
    // response (from the gateway's channel); N tells which.
    std::optional<uint64_t> size;
    if (absl::StartsWith(message, "Received message larger than max (") ||
        absl::StartsWith(message, "Sent message larger than max (")) {
      absl::string_view rest = message.substr(message.find('(') + 1);
      uint64_t n;
      if (absl::SimpleAtoi(rest.substr(0, rest.find(' ')), &n)) size = n;
    }
    if (size && (absl::StartsWith(message, "Sent") || *size == request_bytes)) {
      out.http_status = 413;
      out.code = std::string(kReasonPayloadTooLarge);
    } else if (size) {
      out.http_status = 500;
      out.code = std::string(kReasonResponseTooLarge);
    } else {
      out.http_status = 503;
      out.code = "resource_exhausted";
    }
  } else if (code == kGrpcResourceExhausted) {
    // A reason this gateway does not know: not a rate limit.
    out.http_status = 503;
  }
  return out;
}

HttpReply ErrorReplyFromGrpc(int code, absl::string_view message,
                             absl::string_view status_details,
                             bool convert_grpc_status, size_t request_bytes) {
  StatusDetails details = DecodeStatusDetails(status_details);
  GrpcErrorClass error =
      ClassifyGrpcError(code, message, details, request_bytes);
  HttpReply reply;
  reply.status = error.http_status;
  reply.body = ReplyBody(code, message, error, details, convert_grpc_status);
  if (error.retry_after && details.retry_after_seconds) {
    reply.headers.emplace_back("Retry-After",
                               absl::StrCat(*details.retry_after_seconds));
  }
  return reply;
}

std::string ErrorJsonFromGrpc(int code, absl::string_view message,
                              absl::string_view status_details,
                              bool convert_grpc_status) {
  StatusDetails details = DecodeStatusDetails(status_details);
  GrpcErrorClass error = ClassifyGrpcError(code, message, details, 0);
  return ReplyBody(code, message, error, details, convert_grpc_status);
}

HttpReply GatewayErrorReply(int http_status, absl::string_view code,
                            absl::string_view message) {
  HttpReply reply;
  reply.status = http_status;
  reply.body = absl::StrCat("{\"code\":", JsonQuote(code),
                            ",\"message\":", JsonQuote(message), "}");
  return reply;
}

HttpReply TranscodeErrorReply(const absl::Status& status,
                              absl::string_view http_method,
                              const std::vector<std::string>& allowed) {
  if (absl::IsNotFound(status) && !allowed.empty()) {
    std::string list = absl::StrJoin(allowed, ", ");
    HttpReply reply = GatewayErrorReply(
        405, "method_not_allowed",
        absl::StrCat(http_method, " is not allowed here; use ", list));
    reply.headers.emplace_back("Allow", list);
    return reply;
  }
  if (absl::IsNotFound(status)) {
    return GatewayErrorReply(404, "not_found", status.message());
  }
  if (absl::IsInvalidArgument(status)) {
    return GatewayErrorReply(400, "invalid_request", status.message());
  }
  return GatewayErrorReply(500, "internal_error", status.message());
}

HttpReply ResponseErrorReply(const absl::Status& status) {
  if (absl::IsResourceExhausted(status)) {
    return GatewayErrorReply(500, kReasonResponseTooLarge, status.message());
  }
  return GatewayErrorReply(500, "internal_error", status.message());
}

HttpReply PayloadTooLargeReply(uint64_t limit) {
  return GatewayErrorReply(
      413, kReasonPayloadTooLarge,
      absl::StrCat("the request body exceeds ", limit, " bytes"));
}

HttpReply MalformedRequestReply(absl::string_view what) {
  return GatewayErrorReply(400, "invalid_request",
                           absl::StrCat("malformed HTTP request: ", what));
}

HttpReply UnsupportedTransferEncodingReply(absl::string_view encoding) {
  return GatewayErrorReply(
      501, "unsupported_transfer_encoding",
      absl::StrCat("Transfer-Encoding \"", encoding,
                   "\" is not supported; send the body as it is or chunked"));
}

HttpReply OverCapacityReply() {
  HttpReply reply = GatewayErrorReply(
      503, "over_capacity",
      "the server has reached its connection limit; retry shortly");
  reply.headers.emplace_back("Retry-After", "1");
  return reply;
}

HttpReply ShuttingDownReply() {
  return GatewayErrorReply(503, "unavailable", "shutting down");
}

bool IsSupportedTransferEncoding(absl::string_view value) {
  return value.empty() ||
         absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(value), "chunked");
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
  static const auto* const kRateLimit =
      new HeaderList{{"x-ratelimit-limit", "X-RateLimit-Limit"},
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
    case 'H':
      return absl::Hours(amount);
    case 'M':
      return absl::Minutes(amount);
    case 'S':
      return absl::Seconds(amount);
    case 'm':
      return absl::Milliseconds(amount);
    case 'u':
      return absl::Microseconds(amount);
    case 'n':
      return absl::Nanoseconds(amount);
    default:
      return std::nullopt;
  }
}

}  // namespace leadrelay::gateway
