// End-to-end: the gateway on a loopback port in front of an in-process test
// gRPC server, driven by a raw HTTP/1.1 client.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gateway/gateway.h"
#include "gateway/http_mapping.h"
#include "gateway/json_text.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "http_client.h"
#include "test_backend.h"

namespace leadrelay::gateway {
namespace {

using ::leadrelay::gateway::testing::Fetch;
using ::leadrelay::gateway::testing::HttpConnection;
using ::leadrelay::gateway::testing::HttpResponse;
using ::leadrelay::gateway::testing::RequestText;
using ::leadrelay::gateway::testing::TestBackend;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kService[] = "/gwtest.v1.TestService/";

class GatewayE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    backend_ = TestBackend::Start(GWTEST_DESCRIPTOR_SET).release();
    ASSERT_NE(backend_, nullptr);
  }
  static void TearDownTestSuite() {
    delete backend_;
    backend_ = nullptr;
  }

  void SetUp() override { gateway_ = StartWith(nullptr); }
  void TearDown() override { gateway_.reset(); }

  std::unique_ptr<Gateway> StartWith(
      const std::function<void(GatewayConfig&)>& tweak,
      std::shared_ptr<grpc::Channel> channel = nullptr) {
    GatewayConfig c;
    c.proto_descriptor = GWTEST_DESCRIPTOR_SET;
    c.services = {"gwtest.v1.TestService"};
    c.print_options.preserve_proto_field_names = true;
    c.url_unescape_spec = UrlUnescapeSpec::kAllCharactersExceptSlash;
    if (tweak) tweak(c);
    auto g = StartGateway(c, channel ? channel : backend_->NewChannel(),
                          "127.0.0.1:0");
    EXPECT_TRUE(g.ok()) << g.status();
    return g.ok() ? *std::move(g) : nullptr;
  }

  int port() const { return gateway_->port(); }

  static TestBackend* backend_;
  std::unique_ptr<Gateway> gateway_;
};

TestBackend* GatewayE2eTest::backend_ = nullptr;

bool IsJson(const std::string& text) {
  google::protobuf::Value v;
  return google::protobuf::util::JsonStringToMessage(text, &v).ok();
}

TEST_F(GatewayE2eTest, UnaryGetWithPathAndQuery) {
  HttpResponse r =
      Fetch(port(), "GET", "/v1/items/a%20b?int_val=3&tags=x&tags=y");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_THAT(r.body,
              StartsWith(R"({"id":"a b","int_val":3,"tags":["x","y"],)"));
  EXPECT_THAT(r.body,
              HasSubstr(absl::StrCat(R"("method":")", kService, R"(Get")")));
  EXPECT_TRUE(IsJson(r.body)) << r.body;
}

TEST_F(GatewayE2eTest, HeadersBecomeMetadataAndRateLimitHeadersComeBack) {
  HttpResponse r = Fetch(port(), "GET", "/v1/items/1", "",
                         {"Authorization: Bearer secret", "X-Api-Key: key-1",
                          "X-Request-Id: req-42", "Connection: keep-alive"});
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("\"authorization=Bearer secret\""));
  EXPECT_THAT(r.body, HasSubstr("\"x-api-key=key-1\""));
  EXPECT_THAT(r.body, HasSubstr("\"x-request-id=req-42\""));
  EXPECT_THAT(r.body, Not(HasSubstr("connection=")));
  EXPECT_EQ(r.header("x-ratelimit-limit"), "60");
  EXPECT_EQ(r.header("x-ratelimit-remaining"), "59");
  EXPECT_EQ(r.header("x-ratelimit-reset"), "30");
  EXPECT_EQ(r.header("x-request-id"), "req-42");
  // Without one, the gateway makes a request id and passes it on.
  HttpResponse generated = Fetch(port(), "GET", "/v1/items/1");
  std::string id = generated.header("x-request-id");
  EXPECT_FALSE(id.empty());
  EXPECT_THAT(generated.body,
              HasSubstr(absl::StrCat("\"x-request-id=", id, "\"")));
}

TEST_F(GatewayE2eTest, GrpcTimeoutHeaderSetsTheDeadline) {
  EXPECT_THAT(
      Fetch(port(), "GET", "/v1/items/1", "", {"grpc-timeout: 20S"}).body,
      HasSubstr("deadline=set"));
  EXPECT_THAT(Fetch(port(), "GET", "/v1/items/1").body,
              Not(HasSubstr("deadline=set")));
  HttpResponse bad =
      Fetch(port(), "GET", "/v1/items/1", "", {"grpc-timeout: soon"});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.header("content-type"), "application/json");
}

TEST_F(GatewayE2eTest, EveryMethodKind) {
  HttpResponse create =
      Fetch(port(), "POST", "/v1/items", R"({"id":"n1","flag":true})");
  EXPECT_EQ(create.status, 200);
  EXPECT_THAT(create.body, StartsWith(R"({"id":"n1","flag":true,)"));
  EXPECT_THAT(Fetch(port(), "PATCH", "/v1/items/p1", R"({"name":"x"})").body,
              StartsWith(R"({"id":"p1","name":"x",)"));
  EXPECT_THAT(Fetch(port(), "PUT", "/v1/items/p1/tags", R"(["a"])").body,
              StartsWith(R"({"id":"p1","tags":["a"],)"));
  EXPECT_THAT(Fetch(port(), "DELETE", "/v1/items/d1").body,
              HasSubstr(absl::StrCat(kService, "Delete")));
  EXPECT_THAT(Fetch(port(), "LOCK", "/v1/items/l1").body,
              HasSubstr(absl::StrCat(kService, "Lock")));
  EXPECT_THAT(Fetch(port(), "POST", "/v1/items/t1:test", "{}").body,
              HasSubstr(absl::StrCat(kService, "Test")));
  EXPECT_THAT(Fetch(port(), "GET", "/v1/shelves/s/items/i").body,
              StartsWith(R"({"id":"i","parent":"s",)"));
  EXPECT_THAT(Fetch(port(), "GET", "/v1/items/special").body,
              HasSubstr(absl::StrCat(kService, "GetSpecial")));
  EXPECT_EQ(Fetch(port(), "GET", "/v1/items/x/tags?tags=q").body, R"(["q"])");
  EXPECT_EQ(Fetch(port(), "GET", "/v1/items/x/inner?inner.name=n").body,
            R"({"name":"n"})");
}

TEST_F(GatewayE2eTest, ErrorStatusesAndBodies) {
  struct Case {
    int code;
    int http;
    const char* public_code;
  };
  const Case cases[] = {
      {3, 400, "invalid_request"}, {4, 504, "deadline_exceeded"},
      {5, 404, "not_found"},       {6, 409, "already_exists"},
      {7, 403, "forbidden"},       {8, 503, "resource_exhausted"},
      {9, 400, "invalid_request"}, {10, 409, "aborted"},
      {12, 501, "unimplemented"},  {13, 500, "internal_error"},
      {14, 503, "unavailable"},    {16, 401, "unauthorized"},
      {2, 500, "internal_error"},  {15, 500, "internal_error"}};
  for (const Case& c : cases) {
    HttpResponse r = Fetch(
        port(), "POST", "/v1/fail",
        absl::StrCat(R"({"fail_code":)", c.code, R"(,"fail_message":"m"})"));
    EXPECT_EQ(r.status, c.http) << c.code;
    EXPECT_EQ(r.body, absl::StrCat(R"({"code":")", c.public_code,
                                   R"(","message":"m"})"))
        << c.code;
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_EQ(r.header("x-ratelimit-limit"), "60") << c.code;
  }
}

TEST_F(GatewayE2eTest, ErrorInfoReasonAndRetryAfter) {
  HttpResponse credits = Fetch(
      port(), "POST", "/v1/fail",
      R"({"fail_code":7,"fail_reason":"insufficient_credits","fail_message":"need 1"})");
  EXPECT_EQ(credits.status, 403);
  EXPECT_EQ(credits.body,
            R"({"code":"insufficient_credits","message":"need 1"})");

  HttpResponse limited = Fetch(
      port(), "POST", "/v1/fail",
      R"({"fail_code":8,"fail_reason":"rate_limited","retry_after":30,"fail_message":"slow"})");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(
      limited.body,
      R"({"code":"rate_limited","message":"slow","retry_after_seconds":30})");
  EXPECT_EQ(limited.header("retry-after"), "30");
  EXPECT_EQ(limited.header("x-ratelimit-limit"), "60");
  EXPECT_EQ(limited.header("x-ratelimit-remaining"), "59");
  EXPECT_EQ(limited.header("x-ratelimit-reset"), "30");
}

TEST_F(GatewayE2eTest, ConvertGrpcStatusBody) {
  auto g = StartWith([](GatewayConfig& c) { c.convert_grpc_status = true; });
  HttpResponse r = Fetch(
      g->port(), "POST", "/v1/fail",
      R"({"fail_code":5,"fail_reason":"not_found","fail_message":"gone"})");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, StartsWith(R"({"code":5,"message":"gone","details":[)"));
  EXPECT_THAT(r.body, HasSubstr(R"("reason":"not_found")"));
  EXPECT_TRUE(IsJson(r.body));
}

TEST_F(GatewayE2eTest, GatewayErrorsAreJson) {
  HttpResponse unknown = Fetch(port(), "GET", "/v1/nope");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_THAT(unknown.body, StartsWith(R"({"code":"not_found","message":)"));

  HttpResponse wrong_method = Fetch(port(), "DELETE", "/v1/items");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.header("allow"), "POST");
  EXPECT_THAT(wrong_method.body, StartsWith(R"({"code":"method_not_allowed")"));

  HttpResponse malformed = Fetch(port(), "POST", "/v1/items", R"({"id":)");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_THAT(
      malformed.body,
      StartsWith(R"({"code":"invalid_request","message":"invalid JSON)"));

  HttpResponse wrong_type =
      Fetch(port(), "POST", "/v1/items", R"({"int_val":"x"})");
  EXPECT_EQ(wrong_type.status, 400);

  HttpResponse bad_query = Fetch(port(), "GET", "/v1/items/1?int_val=abc");
  EXPECT_EQ(bad_query.status, 400);
  HttpResponse unknown_query = Fetch(port(), "GET", "/v1/items/1?zzz=1");
  EXPECT_EQ(unknown_query.status, 400);
  for (const HttpResponse* r : {&unknown, &wrong_method, &malformed,
                                &wrong_type, &bad_query, &unknown_query}) {
    EXPECT_EQ(r->header("content-type"), "application/json");
    EXPECT_TRUE(IsJson(r->body)) << r->body;
  }
}

TEST_F(GatewayE2eTest, MalformedHttpIsA400) {
  auto conn = HttpConnection::Connect(port());
  ASSERT_TRUE(
      conn->Send("GET /v1/items/1 HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"));
  auto r = conn->Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(IsJson(r->body));
}

TEST_F(GatewayE2eTest, RequestBodyLimit) {
  auto g = StartWith([](GatewayConfig& c) { c.max_request_body_size = 64; });
  std::string big =
      absl::StrCat(R"({"name":")", std::string(200, 'x'), R"("})");
  HttpResponse r = Fetch(g->port(), "POST", "/v1/items", big);
  EXPECT_EQ(r.status, 413);
  EXPECT_THAT(r.body, StartsWith(R"({"code":"payload_too_large")"));
  // Chunked bodies are limited too.
  auto conn = HttpConnection::Connect(g->port());
  ASSERT_TRUE(conn->Send(
      absl::StrCat("POST /v1/items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                   "chunked\r\n\r\n",
                   absl::Hex(big.size()), "\r\n", big, "\r\n0\r\n\r\n")));
  auto chunked = conn->Read();
  ASSERT_TRUE(chunked.has_value());
  EXPECT_EQ(chunked->status, 413);
  // Small bodies pass.
  EXPECT_EQ(Fetch(g->port(), "POST", "/v1/items", R"({"name":"x"})").status,
            200);
}

TEST_F(GatewayE2eTest, ExpectContinue) {
  auto conn = HttpConnection::Connect(port());
  ASSERT_TRUE(
      conn->Send("POST /v1/items HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n"
                 "Expect: 100-continue\r\n\r\n"));
  ASSERT_TRUE(conn->ReadUntil("100 Continue\r\n\r\n"));
  ASSERT_TRUE(conn->Send(R"({"id":"ec"})"));
  auto r = conn->Read();  // skips the 100
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->body, StartsWith(R"({"id":"ec",)"));
}

TEST_F(GatewayE2eTest, ResponseBodyLimit) {
  auto g = StartWith([](GatewayConfig& c) { c.max_response_body_size = 100; });
  HttpResponse r =
      Fetch(g->port(), "GET", "/v1/items/1?padding=" + std::string(200, 'p'));
  EXPECT_EQ(r.status, 500);
  EXPECT_THAT(r.body, StartsWith(R"({"code":"response_too_large")"));
}

TEST_F(GatewayE2eTest, UpstreamDown) {
  auto channel =
      grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
  auto g = StartWith(nullptr, channel);
  HttpResponse r = Fetch(g->port(), "GET", "/v1/items/1");
  EXPECT_EQ(r.status, 503);
  EXPECT_THAT(r.body, StartsWith(R"({"code":"unavailable")"));
}

TEST_F(GatewayE2eTest, KeepAliveAndPipelining) {
  auto conn = HttpConnection::Connect(port());
  ASSERT_TRUE(conn->Send(
      RequestText("GET", "/v1/items/first") +
      RequestText("POST", "/v1/items", R"({"id":"second"})") +
      RequestText("GET", "/v1/nope") + RequestText("GET", "/v1/items/fourth")));
  const char* expected[] = {R"({"id":"first")", R"({"id":"second")",
                            R"({"code":"not_found")", R"({"id":"fourth")"};
  for (const char* prefix : expected) {
    auto r = conn->Read();
    ASSERT_TRUE(r.has_value()) << prefix;
    EXPECT_THAT(r->body, StartsWith(prefix));
  }
  // Still open for more.
  ASSERT_TRUE(conn->Send(RequestText("GET", "/v1/items/fifth")));
  auto r = conn->Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_THAT(r->body, StartsWith(R"({"id":"fifth")"));
}

TEST_F(GatewayE2eTest, ConnectionCloseAndHttp10) {
  auto conn = HttpConnection::Connect(port());
  ASSERT_TRUE(conn->Send(
      "GET /v1/items/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto r = conn->Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(conn->AtEof());

  auto old = HttpConnection::Connect(port());
  ASSERT_TRUE(old->Send("GET /v1/items/old HTTP/1.0\r\n\r\n"));
  auto r10 = old->Read();
  ASSERT_TRUE(r10.has_value());
  EXPECT_THAT(r10->body, StartsWith(R"({"id":"old")"));
  EXPECT_TRUE(old->AtEof());
}

TEST_F(GatewayE2eTest, ManyConcurrentConnections) {
  std::vector<std::unique_ptr<HttpConnection>> conns;
  for (int i = 0; i < 64; ++i) {
    conns.push_back(HttpConnection::Connect(port()));
    ASSERT_NE(conns.back(), nullptr);
    ASSERT_TRUE(
        conns.back()->Send(RequestText("GET", absl::StrCat("/v1/items/c", i))));
  }
  for (int i = 0; i < 64; ++i) {
    auto r = conns[i]->Read();
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_THAT(r->body, StartsWith(absl::StrCat(R"({"id":"c)", i, R"(")")));
  }
}

TEST_F(GatewayE2eTest, OpenApiDocument) {
  HttpResponse r = Fetch(port(), "GET", "/openapi.json");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_THAT(r.body, StartsWith(R"({"openapi":"3.0.3")"));
  EXPECT_THAT(r.body, HasSubstr(R"("/v1/items:stream")"));
  EXPECT_TRUE(IsJson(r.body));
}

// --- streaming ---------------------------------------------------------------

TEST_F(GatewayE2eTest, StreamAsJsonArray) {
  HttpResponse r = Fetch(port(), "GET", "/v1/items:stream?stream_count=3&id=s");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("transfer-encoding"), "chunked");
  EXPECT_EQ(r.header("x-ratelimit-limit"), "60");
  EXPECT_THAT(r.body, StartsWith(R"([{"id":"s","stream_count":3,)"));
  EXPECT_THAT(r.body, HasSubstr(R"(},{"id":"s","int_val":1,)"));
  EXPECT_THAT(r.body, HasSubstr(R"(},{"id":"s","int_val":2,)"));
  google::protobuf::Value parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.body, &parsed).ok())
      << r.body;
  EXPECT_EQ(parsed.list_value().values_size(), 3);
}

TEST_F(GatewayE2eTest, StreamNewlineDelimited) {
  auto g = StartWith([](GatewayConfig& c) {
    c.print_options.stream_newline_delimited = true;
  });
  HttpResponse r =
      Fetch(g->port(), "GET", "/v1/items:stream?stream_count=2&id=n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/x-ndjson");
  std::vector<std::string> lines = absl::StrSplit(r.body, '\n');
  ASSERT_EQ(lines.size(), 3u) << r.body;
  EXPECT_THAT(lines[0], StartsWith(R"({"id":"n","stream_count":2,)"));
  EXPECT_THAT(lines[1], StartsWith(R"({"id":"n","int_val":1,)"));
  EXPECT_EQ(lines[2], "");
  EXPECT_TRUE(IsJson(lines[0]));
}

TEST_F(GatewayE2eTest, StreamServerSentEvents) {
  HttpResponse by_accept =
      Fetch(port(), "GET", "/v1/items:stream?stream_count=2&id=e", "",
            {"Accept: text/event-stream"});
  EXPECT_EQ(by_accept.status, 200);
  EXPECT_EQ(by_accept.header("content-type"), "text/event-stream");
  EXPECT_THAT(by_accept.body,
              StartsWith(R"(data: {"id":"e","stream_count":2,)"));
  EXPECT_THAT(by_accept.body,
              HasSubstr("}\n\ndata: {\"id\":\"e\",\"int_val\":1,"));

  auto g = StartWith([](GatewayConfig& c) {
    c.print_options.stream_sse_style_delimited = true;
  });
  HttpResponse by_config =
      Fetch(g->port(), "GET", "/v1/items:stream?stream_count=1");
  EXPECT_EQ(by_config.header("content-type"), "text/event-stream");
  EXPECT_THAT(by_config.body, StartsWith("data: {"));
  EXPECT_THAT(by_config.body, HasSubstr("}\n\n"));
}

TEST_F(GatewayE2eTest, EmptyStreamAndErrors) {
  HttpResponse empty = Fetch(port(), "GET", "/v1/items:stream?stream_count=0");
  EXPECT_EQ(empty.status, 200);
  EXPECT_EQ(empty.body, "[]");

  // An upstream that sends its headers and fails at once (a refusal): the
  // gateway has not promised a 200 yet, so the error gets its own status.
  HttpResponse early =
      Fetch(port(), "GET",
            "/v1/items:stream?stream_count=0&fail_code=7&fail_reason=forbidden"
            "&fail_message=no");
  EXPECT_EQ(early.status, 403);
  EXPECT_EQ(early.body, R"({"code":"forbidden","message":"no"})");

  // After messages it is the last element of the stream.
  HttpResponse late =
      Fetch(port(), "GET",
            "/v1/items:stream?stream_count=2&fail_code=14&fail_message=bye");
  EXPECT_EQ(late.status, 200);
  EXPECT_THAT(
      late.body,
      HasSubstr(R"(,{"error":{"code":"unavailable","message":"bye"}}])"));
  EXPECT_TRUE(IsJson(late.body));

  auto g = StartWith([](GatewayConfig& c) {
    c.print_options.stream_newline_delimited = true;
  });
  HttpResponse ndjson =
      Fetch(g->port(), "GET",
            "/v1/items:stream?stream_count=1&fail_code=14&fail_message=bye");
  EXPECT_THAT(
      ndjson.body,
      HasSubstr(
          "\n{\"error\":{\"code\":\"unavailable\",\"message\":\"bye\"}}\n"));
  HttpResponse sse =
      Fetch(port(), "GET",
            "/v1/items:stream?stream_count=1&fail_code=14&fail_message=bye", "",
            {"Accept: text/event-stream"});
  EXPECT_THAT(
      sse.body,
      HasSubstr("event: error\ndata: {\"error\":{\"code\":\"unavailable\""));
}

TEST_F(GatewayE2eTest, StreamThenNextRequestOnTheSameConnection) {
  auto conn = HttpConnection::Connect(port());
  ASSERT_TRUE(conn->Send(RequestText("GET", "/v1/items:stream?stream_count=2") +
                         RequestText("GET", "/v1/items/after")));
  auto stream = conn->Read();
  ASSERT_TRUE(stream.has_value());
  EXPECT_THAT(stream->body, StartsWith("[{"));
  auto next = conn->Read();
  ASSERT_TRUE(next.has_value());
  EXPECT_THAT(next->body, StartsWith(R"({"id":"after")"));
}

TEST_F(GatewayE2eTest, ClientDisconnectCancelsTheStream) {
  const int before = backend_->Cancellations();
  for (int i = 1; i <= 3; ++i) {
    auto conn = HttpConnection::Connect(port());
    ASSERT_TRUE(conn->Send(
        RequestText("GET", "/v1/items:stream?stream_count=-1&id=w")));
    // The first message arrives, then the server waits for cancellation.
    ASSERT_TRUE(conn->ReadUntil(R"("id":"w")"));
    conn->Close();
    EXPECT_TRUE(backend_->WaitForCancellations(before + i, absl::Seconds(30)));
  }
}

// --- Error mapping by ErrorInfo reason ---------------------------------------

TEST_F(GatewayE2eTest, ResourceExhaustedIsNotARateLimitUnlessTheReasonSaysSo) {
  struct Case {
    int code;
    const char* reason;
    int http;
    bool retry_after;
  };
  const Case cases[] = {{8, "rate_limited", 429, true},
                        {8, "auth_throttled", 429, true},
                        {8, "too_many_streams", 429, false},
                        {8, "too_many_server_streams", 503, true},
                        {8, "payload_too_large", 413, false},
                        {8, "quota_exceeded", 403, false},
                        {8, "something_else", 503, false},
                        {9, "too_many_keys", 400, false},
                        {7, "account_suspended", 403, false}};
  for (const Case& c : cases) {
    HttpResponse r = Fetch(
        port(), "POST", "/v1/fail",
        absl::StrCat(R"({"fail_code":)", c.code, R"(,"fail_reason":")",
                     c.reason, R"(","retry_after":7,"fail_message":"m"})"));
    EXPECT_EQ(r.status, c.http) << c.reason;
    EXPECT_THAT(r.body,
                StartsWith(absl::StrCat(R"({"code":")", c.reason, "\"")))
        << c.reason;
    EXPECT_EQ(r.header("retry-after"), c.retry_after ? "7" : "") << c.reason;
  }
}

TEST_F(GatewayE2eTest, RequestOverTheUpstreamMessageLimitIs413) {
  // The test server keeps gRPC's 4 MiB receive limit; the gateway takes 8.
  std::string big(5 << 20, 'x');
  HttpResponse r = Fetch(port(), "POST", "/v1/items",
                         absl::StrCat(R"({"id":")", big, "\"}"));
  EXPECT_EQ(r.status, 413);
  EXPECT_THAT(r.body, StartsWith(R"({"code":"payload_too_large")"));
}

// --- The HTTP server under hostile clients
// ------------------------------------

// A complete response (e.g. 200) on a new connection, retried until the
// server admits it or `attempts` connections were refused.
int FetchStatusWhenAdmitted(int port, int attempts) {
  for (int i = 0; i < attempts; ++i) {
    HttpResponse r = Fetch(port, "GET", "/v1/items/again");
    if (r.status != 503) return r.status;
  }
  return 503;
}

TEST_F(GatewayE2eTest, ConnectionCapRefusesAtOnceAndRecovers) {
  auto g = StartWith([](GatewayConfig& c) { c.limits.max_connections = 2; });
  std::vector<std::unique_ptr<HttpConnection>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(HttpConnection::Connect(g->port()));
    ASSERT_TRUE(held.back()->Send(RequestText("GET", "/v1/items/held")));
    auto r = held.back()->Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
  }
  // The third is answered without sending anything: no request is read.
  auto refused = HttpConnection::Connect(g->port());
  auto answer = refused->Read();
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 503);
  EXPECT_EQ(answer->header("retry-after"), "1");
  EXPECT_EQ(answer->header("connection"), "close");
  EXPECT_THAT(answer->body, StartsWith(R"({"code":"over_capacity")"));
  EXPECT_TRUE(refused->AtEof());
  // The held connections still work; once one closes, new ones get in.
  ASSERT_TRUE(held[0]->Send(RequestText("GET", "/v1/items/still")));
  auto still = held[0]->Read();
  ASSERT_TRUE(still.has_value());
  EXPECT_EQ(still->status, 200);
  held[1]->Close();
  EXPECT_EQ(FetchStatusWhenAdmitted(g->port(), 1000), 200);
}

TEST_F(GatewayE2eTest, SlowHeadersIdleAndSlowBodiesAreCut) {
  auto g = StartWith([](GatewayConfig& c) {
    c.limits.header_timeout = absl::Milliseconds(300);
    c.limits.idle_timeout = absl::Milliseconds(300);
    c.limits.body_timeout = absl::Milliseconds(300);
  });
  // Headers that never end.
  auto slow = HttpConnection::Connect(g->port());
  ASSERT_TRUE(slow->Send("GET /v1/items/x HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n"));
  EXPECT_TRUE(slow->AtEof());
  // A keep-alive connection left idle after its response.
  auto idle = HttpConnection::Connect(g->port());
  ASSERT_TRUE(idle->Send(RequestText("GET", "/v1/items/x")));
  auto first = idle->Read();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->status, 200);
  EXPECT_TRUE(idle->AtEof());
  // A body that stops half-way.
  auto body = HttpConnection::Connect(g->port());
  ASSERT_TRUE(body->Send(
      "POST /v1/items HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n{}"));
  EXPECT_TRUE(body->AtEof());
}

TEST_F(GatewayE2eTest, HeadNeverCarriesABody) {
  auto conn = HttpConnection::Connect(port());
  // GET routes answer HEAD with the GET's status and headers.
  ASSERT_TRUE(conn->Send(RequestText("HEAD", "/v1/items/abc")));
  auto head = conn->ReadHead();
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-type"), "application/json");
  EXPECT_NE(head->header("content-length"), "0");
  // Errors too: 404, 405 (POST-only path) and a stream route.
  for (const char* target : {"/v1/nope", "/v1/items", "/v1/items:stream"}) {
    ASSERT_TRUE(conn->Send(RequestText("HEAD", target)));
    auto error = conn->ReadHead();
    ASSERT_TRUE(error.has_value()) << target;
    EXPECT_GE(error->status, 400) << target;
  }
  ASSERT_TRUE(conn->Send(RequestText("HEAD", "/openapi.json")));
  auto doc = conn->ReadHead();
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ(doc->status, 200);
  // Had any of them carried a body, this would not parse as the next answer.
  ASSERT_TRUE(conn->Send(RequestText("GET", "/v1/items/next")));
  auto next = conn->Read();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->status, 200);
  EXPECT_THAT(next->body, StartsWith(R"({"id":"next")"));
}

TEST_F(GatewayE2eTest, BadPercentEncodingIsInvalidRequest) {
  for (const char* target :
       {"/v1/items/%ff", "/v1/items/x?tags=%ff", "/v1/items/%c3%28",
        "/v1/items/x?tags=a%ed%a0%80"}) {
    HttpResponse r = Fetch(port(), "GET", target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_THAT(r.body, StartsWith(R"({"code":"invalid_request")")) << target;
  }
}

TEST_F(GatewayE2eTest, ErrorBodiesAreValidJsonEvenForInvalidUtf8Input) {
  const std::vector<std::string> targets = {
      "/v1/nope\xff\xfe", "/v1/items/x?\xff=1", "/v1/items/x?%ff%fe=1"};
  for (const std::string& target : targets) {
    HttpResponse r = Fetch(port(), "GET", target);
    EXPECT_GE(r.status, 400);
    EXPECT_TRUE(IsValidUtf8(r.body)) << r.body;
    EXPECT_TRUE(IsJson(r.body)) << r.body;
  }
}

TEST_F(GatewayE2eTest, CompressedTransferEncodingIs501) {
  auto conn = HttpConnection::Connect(port());
  ASSERT_TRUE(conn->Send(
      "POST /v1/items HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nxxxxx\r\n0\r\n\r\n"));
  auto r = conn->Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 501);
  EXPECT_THAT(r->body,
              StartsWith(R"({"code":"unsupported_transfer_encoding")"));
  EXPECT_TRUE(conn->AtEof());
  // Plain chunked is fine.
  auto chunked = HttpConnection::Connect(port());
  ASSERT_TRUE(chunked->Send(
      "POST /v1/items HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\nb\r\n{\"id\":\"ck\"}\r\n0\r\n\r\n"));
  auto ok = chunked->Read();
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
}

TEST_F(GatewayE2eTest, StreamHonoursNdjsonAccept) {
  HttpResponse r = Fetch(port(), "GET", "/v1/items:stream?stream_count=2&id=a",
                         "", {"Accept: application/x-ndjson"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/x-ndjson");
  std::vector<std::string> lines = absl::StrSplit(r.body, '\n');
  ASSERT_EQ(lines.size(), 3u) << r.body;
  EXPECT_TRUE(IsJson(lines[0]));
  EXPECT_TRUE(IsJson(lines[1]));
}

TEST_F(GatewayE2eTest, StreamHeadersArriveBeforeTheFirstEvent) {
  const int before = backend_->Cancellations();
  auto conn = HttpConnection::Connect(port());
  // The backend sends its headers and then nothing at all.
  ASSERT_TRUE(conn->Send(RequestText("GET", "/v1/items:stream?stream_count=-2",
                                     "", {"Accept: application/x-ndjson"})));
  auto head = conn->ReadHead();
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-type"), "application/x-ndjson");
  EXPECT_EQ(head->header("x-ratelimit-limit"), "60");
  conn->Close();
  EXPECT_TRUE(backend_->WaitForCancellations(before + 1, absl::Seconds(30)));
}

TEST_F(GatewayE2eTest, ExtraRoutesAreServedAheadOfTranscoding) {
  auto g = StartWith([](GatewayConfig& c) {
    c.extra_routes["/healthz"] = [](const HttpRequestInfo&) {
      HttpResponseInfo r;
      r.body = "ok\n";
      return r;
    };
    c.extra_routes["/console/"] = [](const HttpRequestInfo& request) {
      HttpResponseInfo r;
      r.content_type = "text/html";
      r.body = request.path;
      return r;
    };
  });
  HttpResponse health = Fetch(g->port(), "GET", "/healthz?probe=1");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  HttpResponse page = Fetch(g->port(), "GET", "/console/app/index.html");
  EXPECT_EQ(page.header("content-type"), "text/html");
  EXPECT_EQ(page.body, "/console/app/index.html");
  EXPECT_EQ(Fetch(g->port(), "GET", "/healthzz").status, 404);
  EXPECT_EQ(Fetch(g->port(), "GET", "/v1/items/x").status, 200);
}

TEST_F(GatewayE2eTest, ShutdownCancelsOpenStreams) {
  auto g = StartWith(nullptr);
  auto conn = HttpConnection::Connect(g->port());
  ASSERT_TRUE(
      conn->Send(RequestText("GET", "/v1/items:stream?stream_count=-1&id=z")));
  ASSERT_TRUE(conn->ReadUntil(R"("id":"z")"));
  g->Shutdown();  // returns once the call is cancelled and done
  g.reset();
}

// --- TLS ---------------------------------------------------------------------

// Runs a shell command and returns its standard output.
std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char chunk[4096];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof(chunk), pipe)) > 0)
    out.append(chunk, n);
  pclose(pipe);
  return out;
}

class GatewayTlsTest : public GatewayE2eTest {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/gateway_tls_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    cert_ = dir_ + "/cert.pem";
    key_ = dir_ + "/key.pem";
    const std::string command = absl::StrCat(
        "/usr/bin/openssl req -x509 -newkey rsa:2048 -nodes -subj "
        "/CN=localhost "
        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout ",
        key_, " -out ", cert_, " -days 1 2>/dev/null");
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    gateway_ = StartWith([this](GatewayConfig& c) {
      c.tls_cert_file = cert_;
      c.tls_key_file = key_;
    });
    ASSERT_NE(gateway_, nullptr);
  }
  void TearDown() override {
    gateway_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // curl with the test CA; each transfer's body is followed by a line with
  // its HTTP status ("000" when there was no HTTP answer).
  std::string Curl(const std::string& args) {
    return RunCommand(absl::StrCat("/usr/bin/curl -s --max-time 20 --cacert ",
                                   cert_, " -w '\\n%{http_code}\\n' ", args,
                                   " 2>/dev/null"));
  }

  std::string dir_;
  std::string cert_;
  std::string key_;
};

TEST_F(GatewayTlsTest, ServesHttpsWithKeepAliveAndStreaming) {
  const std::string base = absl::StrCat("https://127.0.0.1:", port());
  // Two requests on one connection, then a server stream.
  std::string out =
      Curl(absl::StrCat("-H 'X-Api-Key: k1' '", base, "/v1/items/a' '", base,
                        "/v1/items/b?int_val=7' '", base,
                        "/v1/items:stream?stream_count=2&id=s'"));
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 6u) << out;
  EXPECT_THAT(lines[0], StartsWith(R"({"id":"a",)"));
  EXPECT_THAT(lines[0], HasSubstr("\"x-api-key=k1\""));
  EXPECT_TRUE(IsJson(lines[0])) << lines[0];
  EXPECT_EQ(lines[1], "200");
  EXPECT_THAT(lines[2], StartsWith(R"({"id":"b","int_val":7,)"));
  EXPECT_EQ(lines[3], "200");
  EXPECT_THAT(lines[4], StartsWith(R"([{"id":"s")"));
  EXPECT_TRUE(IsJson(lines[4])) << lines[4];
  EXPECT_EQ(lines[5], "200");
}

TEST_F(GatewayTlsTest, PlainHttpToTheTlsPortGetsNoAnswer) {
  std::string out =
      Curl(absl::StrCat("'http://127.0.0.1:", port(), "/v1/items/a'"));
  EXPECT_THAT(out, Not(HasSubstr("200"))) << out;
  EXPECT_THAT(out, HasSubstr("000")) << out;
  // The listener keeps serving HTTPS afterwards.
  out = Curl(absl::StrCat("'https://127.0.0.1:", port(), "/v1/items/c'"));
  EXPECT_THAT(out, StartsWith(R"({"id":"c",)")) << out;
  EXPECT_THAT(out, HasSubstr("\n200\n")) << out;
}

TEST_F(GatewayTlsTest, BadCertificateOrKeyFailsToStart) {
  auto start = [&](const std::string& cert, const std::string& key) {
    GatewayConfig c;
    c.proto_descriptor = GWTEST_DESCRIPTOR_SET;
    c.services = {"gwtest.v1.TestService"};
    c.tls_cert_file = cert;
    c.tls_key_file = key;
    return StartGateway(c, backend_->NewChannel(), "127.0.0.1:0").status();
  };
  const std::string missing = dir_ + "/missing.pem";
  absl::Status s = start(missing, key_);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr(missing));
  s = start(cert_, missing);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr(missing));
  // A key file that is not a key (the certificate).
  s = start(cert_, cert_);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr(cert_));
  // One without the other.
  EXPECT_FALSE(start(cert_, "").ok());
  EXPECT_FALSE(start("", key_).ok());
}

}  // namespace
}  // namespace leadrelay::gateway
