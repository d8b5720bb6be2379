// Pure unit tests: path templates, percent-decoding, wire decoding of
// HttpRule and google.rpc.Status, status/header mapping.
#include "gateway/path_template.h"

#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gateway/http_mapping.h"
#include "gateway/routes.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace leadrelay::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

std::string Describe(const PathTemplate& t) {
  std::vector<std::string> parts;
  for (const auto& s : t.segments) {
    parts.push_back(s.kind == PathTemplate::Kind::kLiteral  ? s.literal
                    : s.kind == PathTemplate::Kind::kSingle ? "*"
                                                            : "**");
  }
  std::string out = absl::StrJoin(parts, "/");
  for (const auto& v : t.variables) {
    out += " {" + absl::StrJoin(v.field_path, ".") + ":" +
           std::to_string(v.start) + "-" + std::to_string(v.end) + "}";
  }
  if (!t.verb.empty()) out += " :" + t.verb;
  return out;
}

std::string Parsed(const std::string& text) {
  auto t = ParsePathTemplate(text);
  return t.ok() ? Describe(*t) : "ERROR";
}

TEST(PathTemplateParse, ValidTemplates) {
  EXPECT_EQ(Parsed("/v1/items"), "v1/items");
  EXPECT_EQ(Parsed("/v1/items/{id}"), "v1/items/* {id:2-3}");
  EXPECT_EQ(Parsed("/v1/{name=shelves/*/books/*}"),
            "v1/shelves/*/books/* {name:1-5}");
  EXPECT_EQ(Parsed("/v1/{name=files/**}"), "v1/files/** {name:1-3}");
  EXPECT_EQ(Parsed("/v1/{a.b.c}"), "v1/* {a.b.c:1-2}");
  EXPECT_EQ(Parsed("/v1/*/x/**"), "v1/*/x/**");
  EXPECT_EQ(Parsed("/v1/items/{id}:test"), "v1/items/* {id:2-3} :test");
  EXPECT_EQ(Parsed("/v1/items:stream"), "v1/items :stream");
  EXPECT_EQ(Parsed("/v1/webhooks/{id}:rotate-secret"),
            "v1/webhooks/* {id:2-3} :rotate-secret");
  EXPECT_EQ(Parsed("/"), "");
  EXPECT_EQ(Parsed("/v1/{x=**}"), "v1/** {x:1-2}");
}

TEST(PathTemplateParse, Errors) {
  for (const char* bad :
       {"",           "v1/items",   "/a//b",   "/a/",         "/{}",
        "/{a={b}}",   "/{a=x/{b}}", "/a/**/*", "/{x=**}/{y}", "/{a",
        "/{a}}",      "/a}",        "/{1a}",   "/{a.}",       "/a:",
        "/a/{x}/{x}", "/a/**/**",   "/{a=}",   "/a?b",        "/a:b:c/"}) {
    EXPECT_FALSE(ParsePathTemplate(bad).ok()) << bad;
  }
  auto nested = ParsePathTemplate("/{a={b}}");
  EXPECT_THAT(std::string(nested.status().message()), HasSubstr("nested"));
  auto after = ParsePathTemplate("/a/**/*");
  EXPECT_THAT(std::string(after.status().message()), HasSubstr("follow"));
}

RequestPath Split(const std::string& path, bool unregistered = false) {
  return SplitRequestPath(path, {"test", "stream"}, unregistered);
}

std::string Match(
    const std::string& tmpl, const std::string& path,
    UrlUnescapeSpec spec = UrlUnescapeSpec::kAllCharactersExceptSlash,
    bool unregistered = false) {
  auto t = ParsePathTemplate(tmpl);
  if (!t.ok()) return "BAD TEMPLATE";
  auto m = MatchPathTemplate(*t, Split(path, unregistered), spec);
  if (!m) return "NO MATCH";
  std::vector<std::string> parts;
  for (const auto& b : *m) {
    parts.push_back(absl::StrJoin(b.field_path, ".") + "=" + b.value);
  }
  return absl::StrJoin(parts, ";");
}

TEST(PathTemplateMatch, LiteralsWildcardsAndVariables) {
  EXPECT_EQ(Match("/v1/items", "/v1/items"), "");
  EXPECT_EQ(Match("/v1/items", "/v1/item"), "NO MATCH");
  EXPECT_EQ(Match("/v1/items", "/v1/items/x"), "NO MATCH");
  EXPECT_EQ(Match("/v1/items/{id}", "/v1/items/abc"), "id=abc");
  EXPECT_EQ(Match("/v1/items/{id}", "/v1/items/"), "NO MATCH");
  EXPECT_EQ(Match("/v1/items/{id}", "/v1/items/a/b"), "NO MATCH");
  EXPECT_EQ(Match("/v1/any/*/x", "/v1/any/zz/x"), "");
  EXPECT_EQ(Match("/v2/{name=shelves/*/books/*}", "/v2/shelves/s1/books/b2"),
            "name=shelves/s1/books/b2");
  EXPECT_EQ(Match("/v2/{name=shelves/*/books/*}", "/v2/shelves/s1/books"),
            "NO MATCH");
  EXPECT_EQ(Match("/v1/{name=files/**}", "/v1/files/a/b/c.txt"),
            "name=files/a/b/c.txt");
  EXPECT_EQ(Match("/v1/{name=files/**}", "/v1/files"), "name=files");
  EXPECT_EQ(Match("/v1/{name=files/**}", "/v1/other/a"), "NO MATCH");
  EXPECT_EQ(Match("/v1/{a.b}/{c}", "/v1/x/y"), "a.b=x;c=y");
  // Literal segments compare after decoding.
  EXPECT_EQ(Match("/v1/items", "/v1/%69tems"), "");
}

TEST(PathTemplateMatch, CustomVerbs) {
  EXPECT_EQ(Match("/v1/items/{id}:test", "/v1/items/42:test"), "id=42");
  EXPECT_EQ(Match("/v1/items/{id}", "/v1/items/42:test"), "NO MATCH");
  EXPECT_EQ(Match("/v1/items:stream", "/v1/items:stream"), "");
  // An unregistered verb stays part of the segment by default...
  EXPECT_EQ(Match("/v1/items/{id}", "/v1/items/a:b"), "id=a:b");
  // ...and is a verb with match_unregistered_custom_verb.
  EXPECT_EQ(Match("/v1/items/{id}", "/v1/items/a:b",
                  UrlUnescapeSpec::kAllCharactersExceptSlash, true),
            "NO MATCH");
  RequestPath p = Split("/v1/items/a:b", true);
  EXPECT_EQ(p.verb, "b");
  EXPECT_THAT(p.segments, ElementsAre("v1", "items", "a"));
}

TEST(PathTemplateMatch, PercentDecodingPerSpec) {
  // google.api.http: single-segment variables fully decoded, multi-segment
  // variables keep %2F.
  const auto spec = UrlUnescapeSpec::kAllCharactersExceptSlash;
  EXPECT_EQ(Match("/v1/items/{id}", "/v1/items/a%2Fb%20c%3A", spec),
            "id=a/b c:");
  EXPECT_EQ(Match("/v1/{name=files/**}", "/v1/files/a%2Fb/c%20d", spec),
            "name=files/a%2Fb/c d");
  EXPECT_EQ(Match("/v1/{name=files/**}", "/v1/files/a%2fb", spec),
            "name=files/a%2fb");
  EXPECT_EQ(
      Match("/v2/{name=shelves/*/books/*}", "/v2/shelves/a%2Fb/books/c", spec),
      "name=shelves/a%2Fb/books/c");
}

TEST(PathTemplateMatch, PercentDecodingOptions) {
  // Envoy's default keeps reserved characters encoded, but only in
  // multi-segment variables: a single-segment one is always fully decoded.
  EXPECT_EQ(Match("/v1/items/{id}", "/v1/items/a%2Fb%20c%3A%40",
                  UrlUnescapeSpec::kAllCharactersExceptReserved),
            "id=a/b c:@");
  EXPECT_EQ(Match("/v1/{name=files/**}", "/v1/files/a%2Fb%7E",
                  UrlUnescapeSpec::kAllCharactersExceptReserved),
            "name=files/a%2Fb~");
  EXPECT_EQ(Match("/v1/{name=files/**}", "/v1/files/a%2Fb%3A",
                  UrlUnescapeSpec::kAllCharacters),
            "name=files/a/b:");
  // Malformed escapes are kept.
  EXPECT_EQ(Match("/v1/items/{id}", "/v1/items/100%zz%4",
                  UrlUnescapeSpec::kAllCharacters),
            "id=100%zz%4");
}

TEST(UrlUnescape, PlusAndModes) {
  EXPECT_EQ(UrlUnescape("a+b%2B", UnescapeMode::kAll), "a+b+");
  EXPECT_EQ(UrlUnescape("a+b%2B", UnescapeMode::kAll, true), "a b+");
  EXPECT_EQ(UrlUnescape("%2F%2f", UnescapeMode::kAllExceptSlash), "%2F%2f");
  EXPECT_EQ(UrlUnescape("%41%2F", UnescapeMode::kAllExceptReserved), "A%2F");
  EXPECT_EQ(UrlUnescape("%", UnescapeMode::kAll), "%");
}

TEST(PathTemplateMatch, Specificity) {
  auto literal = *ParsePathTemplate("/v1/items/special");
  auto single = *ParsePathTemplate("/v1/items/{id}");
  auto multi = *ParsePathTemplate("/v1/{name=items/**}");
  EXPECT_LT(CompareSpecificity(literal, single), 0);
  EXPECT_GT(CompareSpecificity(single, literal), 0);
  EXPECT_LT(CompareSpecificity(single, multi), 0);
  EXPECT_LT(CompareSpecificity(literal, multi), 0);
  EXPECT_EQ(CompareSpecificity(single, single), 0);
}

// google.rpc.Status with ErrorInfo{reason, domain, metadata} and RetryInfo.
std::string StatusBytes(int code, const std::string& message,
                        const std::string& reason, int retry_seconds) {
  google::rpc::Status status;
  status.set_code(code);
  status.set_message(message);
  if (retry_seconds > 0) {
    google::rpc::RetryInfo retry;
    retry.mutable_retry_delay()->set_seconds(retry_seconds);
    status.add_details()->PackFrom(retry);
  }
  if (!reason.empty()) {
    google::rpc::ErrorInfo info;
    info.set_reason(reason);
    info.set_domain("leadrelay.dev");
    if (retry_seconds > 0) {
      (*info.mutable_metadata())["retry_after_seconds"] =
          std::to_string(retry_seconds);
    }
    status.add_details()->PackFrom(info);
  }
  return status.SerializeAsString();
}

TEST(StatusMapping, CanonicalHttpStatus) {
  const std::vector<std::pair<int, int>> expected = {
      {0, 200},  {1, 499},  {2, 500},  {3, 400},  {4, 504},  {5, 404},
      {6, 409},  {7, 403},  {8, 429},  {9, 400},  {10, 409}, {11, 400},
      {12, 501}, {13, 500}, {14, 503}, {15, 500}, {16, 401}, {99, 500}};
  for (const auto& [code, http] : expected) {
    EXPECT_EQ(HttpStatusFromGrpcCode(code), http) << code;
  }
}

TEST(StatusMapping, ErrorBodyUsesErrorInfoReason) {
  HttpReply r =
      ErrorReplyFromGrpc(7, "not enough credits",
                         StatusBytes(7, "x", "insufficient_credits", 0), false);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(
      r.body,
      R"({"code":"insufficient_credits","message":"not enough credits"})");
  EXPECT_TRUE(r.headers.empty());
}

TEST(StatusMapping, RateLimitedHasRetryAfter) {
  HttpReply r = ErrorReplyFromGrpc(
      8, "slow down", StatusBytes(8, "x", "rate_limited", 17), false);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(
      r.body,
      R"({"code":"rate_limited","message":"slow down","retry_after_seconds":17})");
  EXPECT_THAT(r.headers, ElementsAre(Pair("Retry-After", "17")));
  // RetryInfo gives the delay when the metadata does not.
  HttpReply only_retry = ErrorReplyFromGrpc(
      8, "slow", StatusBytes(8, "x", "rate_limited", 5), false);
  EXPECT_THAT(only_retry.headers, ElementsAre(Pair("Retry-After", "5")));
}

TEST(StatusMapping, DefaultCodesWithoutDetails) {
  const std::vector<std::pair<int, std::string>> expected = {
      {3, "invalid_request"}, {16, "unauthorized"},      {7, "forbidden"},
      {5, "not_found"},       {8, "resource_exhausted"}, {13, "internal_error"},
      {2, "internal_error"},  {14, "unavailable"},       {6, "already_exists"},
      {12, "unimplemented"},  {4, "deadline_exceeded"},  {1, "cancelled"}};
  for (const auto& [code, name] : expected) {
    HttpReply r = ErrorReplyFromGrpc(code, "m\"q", "", false);
    EXPECT_EQ(r.body, "{\"code\":\"" + name + "\",\"message\":\"m\\\"q\"}")
        << code;
  }
}

TEST(StatusMapping, ConvertGrpcStatusBody) {
  HttpReply r = ErrorReplyFromGrpc(
      8, "slow down", StatusBytes(8, "x", "rate_limited", 3), true);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(
      r.body,
      R"({"code":8,"message":"slow down","details":[)"
      R"({"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"3s"},)"
      R"({"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"rate_limited",)"
      R"("domain":"leadrelay.dev","metadata":{"retry_after_seconds":"3"}}]})");
  EXPECT_EQ(ErrorReplyFromGrpc(5, "gone", "", true).body,
            R"({"code":5,"message":"gone"})");
}

TEST(StatusMapping, MalformedDetailsAreIgnored) {
  HttpReply r = ErrorReplyFromGrpc(5, "gone", "\xff\xff", false);
  EXPECT_EQ(r.body, R"({"code":"not_found","message":"gone"})");
}

TEST(StatusMapping, ReasonsDecideTheHttpStatus) {
  struct Case {
    int code;
    const char* reason;
    int http;
    bool retry_after;
  };
  const Case cases[] = {
      {8, "rate_limited", 429, true},
      {8, "auth_throttled", 429, true},
      {8, "account_rate_limited", 429, true},
      {8, "too_many_streams", 429, false},
      {8, "too_many_server_streams", 503, true},
      {8, "payload_too_large", 413, false},
      {9, "too_many_keys", 400, false},
      {8, "quota_exceeded", 403, false},
      {7, "account_suspended", 403, false},
      {8, "other_reason", 503, false},
      {7, "insufficient_credits", 403, false},
      {5, "not_found", 404, false},
  };
  for (const Case& c : cases) {
    HttpReply r = ErrorReplyFromGrpc(
        c.code, "m", StatusBytes(c.code, "m", c.reason, 9), false);
    EXPECT_EQ(r.status, c.http) << c.reason;
    EXPECT_THAT(r.body, ::testing::StartsWith(std::string(R"({"code":")") +
                                              c.reason + "\""))
        << c.reason;
    if (c.retry_after) {
      EXPECT_THAT(r.headers, ElementsAre(Pair("Retry-After", "9"))) << c.reason;
      EXPECT_THAT(r.body, HasSubstr(R"("retry_after_seconds":9)"));
    } else {
      EXPECT_TRUE(r.headers.empty()) << c.reason;
      EXPECT_THAT(r.body, Not(HasSubstr("retry_after_seconds"))) << c.reason;
    }
  }
}

TEST(StatusMapping, GrpcMessageSizeLimits) {
  // The server refused our request: it names the request's size.
  HttpReply request = ErrorReplyFromGrpc(
      8, "Received message larger than max (5000 vs. 4194304)", "", false,
      5000);
  EXPECT_EQ(request.status, 413);
  EXPECT_THAT(request.body, HasSubstr(R"("code":"payload_too_large")"));
  HttpReply sent = ErrorReplyFromGrpc(
      8, "Sent message larger than max (5000 vs. 100)", "", false, 5000);
  EXPECT_EQ(sent.status, 413);
  // The gateway's channel refused the response: another size.
  HttpReply response = ErrorReplyFromGrpc(
      8, "Received message larger than max (9000000 vs. 4194304)", "", false,
      12);
  EXPECT_EQ(response.status, 500);
  EXPECT_THAT(response.body, HasSubstr(R"("code":"response_too_large")"));
  // Any other RESOURCE_EXHAUSTED without details is no rate limit.
  HttpReply other = ErrorReplyFromGrpc(8, "out of memory", "", false, 12);
  EXPECT_EQ(other.status, 503);
  EXPECT_THAT(other.body, HasSubstr(R"("code":"resource_exhausted")"));
  EXPECT_TRUE(other.headers.empty());
}

TEST(StatusMapping, GatewayOwnRefusals) {
  EXPECT_EQ(PayloadTooLargeReply(10).status, 413);
  EXPECT_EQ(MalformedRequestReply("x").status, 400);
  HttpReply te = UnsupportedTransferEncodingReply("gzip, chunked");
  EXPECT_EQ(te.status, 501);
  EXPECT_THAT(te.body, HasSubstr("unsupported_transfer_encoding"));
  HttpReply cap = OverCapacityReply();
  EXPECT_EQ(cap.status, 503);
  EXPECT_THAT(cap.headers, ElementsAre(Pair("Retry-After", "1")));
  EXPECT_TRUE(IsSupportedTransferEncoding(""));
  EXPECT_TRUE(IsSupportedTransferEncoding(" Chunked "));
  EXPECT_FALSE(IsSupportedTransferEncoding("gzip, chunked"));
  EXPECT_FALSE(IsSupportedTransferEncoding("gzip"));
  HttpReply allowed =
      TranscodeErrorReply(absl::NotFoundError("x"), "PUT", {"GET", "POST"});
  EXPECT_EQ(allowed.status, 405);
  EXPECT_THAT(allowed.headers, ElementsAre(Pair("Allow", "GET, POST")));
  EXPECT_EQ(TranscodeErrorReply(absl::NotFoundError("x"), "GET", {}).status,
            404);
  EXPECT_EQ(
      TranscodeErrorReply(absl::InvalidArgumentError("x"), "GET", {}).status,
      400);
  EXPECT_EQ(ResponseErrorReply(absl::ResourceExhaustedError("big")).status,
            500);
  EXPECT_THAT(ResponseErrorReply(absl::ResourceExhaustedError("big")).body,
              HasSubstr("response_too_large"));
}

TEST(HeaderMapping, RequestHeadersBecomeMetadata) {
  HeaderList md = MetadataFromHeaders({{"Authorization", "Bearer k"},
                                       {"X-Api-Key", "key1"},
                                       {"Host", "x"},
                                       {"Connection", "keep-alive"},
                                       {"Content-Type", "application/json"},
                                       {"Content-Length", "3"},
                                       {"Transfer-Encoding", "chunked"},
                                       {"grpc-timeout", "1S"},
                                       {"X-Data-Bin", "AAAA"},
                                       {"X-Bad", "caf\xc3\xa9"},
                                       {"X-Request-Id", "r1"}});
  EXPECT_THAT(
      md, ElementsAre(Pair("authorization", "Bearer k"),
                      Pair("x-api-key", "key1"), Pair("x-request-id", "r1")));
}

TEST(HeaderMapping, RateLimitMetadataBecomesHeaders) {
  HeaderList h = HeadersFromMetadata({{"x-ratelimit-limit", "60"},
                                      {"x-ratelimit-remaining", "59"},
                                      {"x-ratelimit-reset", "30"},
                                      {"grpc-status", "0"},
                                      {"content-type", "application/grpc"},
                                      {"trace-bin", "x"},
                                      {"x-custom", "v"},
                                      {"x-ratelimit-limit", "61"}});
  EXPECT_THAT(
      h, ElementsAre(Pair("X-RateLimit-Limit", "60"),
                     Pair("X-RateLimit-Remaining", "59"),
                     Pair("X-RateLimit-Reset", "30"), Pair("x-custom", "v")));
}

TEST(HeaderMapping, GrpcTimeout) {
  EXPECT_EQ(ParseGrpcTimeout("100m"), absl::Milliseconds(100));
  EXPECT_EQ(ParseGrpcTimeout("5S"), absl::Seconds(5));
  EXPECT_EQ(ParseGrpcTimeout("2M"), absl::Minutes(2));
  EXPECT_EQ(ParseGrpcTimeout("1H"), absl::Hours(1));
  EXPECT_EQ(ParseGrpcTimeout("7u"), absl::Microseconds(7));
  EXPECT_EQ(ParseGrpcTimeout("9n"), absl::Nanoseconds(9));
  EXPECT_EQ(ParseGrpcTimeout("5"), std::nullopt);
  EXPECT_EQ(ParseGrpcTimeout("x5S"), std::nullopt);
  EXPECT_EQ(ParseGrpcTimeout("5s"), std::nullopt);
  EXPECT_EQ(ParseGrpcTimeout("123456789S"), std::nullopt);
}

TEST(Json, Quote) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
  // Valid UTF-8 passes; every invalid byte becomes U+FFFD.
  EXPECT_EQ(JsonQuote("caf\xc3\xa9 \xf0\x9f\x98\x80"),
            "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
  EXPECT_EQ(JsonQuote("a\xff\xfe"), "\"a\xef\xbf\xbd\xef\xbf\xbd\"");
  EXPECT_EQ(JsonQuote("\xc3("), "\"\xef\xbf\xbd(\"");
  EXPECT_EQ(JsonQuote("\xed\xa0\x80"),
            "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
}

}  // namespace
}  // namespace leadrelay::gateway
