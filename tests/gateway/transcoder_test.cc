// Pure unit tests of routing, request/response translation, stream framing,
// configuration and OpenAPI, driven by the test proto's descriptor set. No
// sockets.
#include "gateway/transcoder.h"

#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gateway/gateway.h"
#include "gmock/gmock.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/type_resolver.h"
#include "google/protobuf/util/type_resolver_util.h"
#include "gtest/gtest.h"

namespace leadrelay::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

GatewayConfig TestConfig() {
  GatewayConfig c;
  c.proto_descriptor = GWTEST_DESCRIPTOR_SET;
  c.services = {"gwtest.v1.TestService"};
  c.print_options.preserve_proto_field_names = true;
  c.url_unescape_spec = UrlUnescapeSpec::kAllCharactersExceptSlash;
  return c;
}

std::unique_ptr<Transcoder> Make(
    const std::function<void(GatewayConfig&)>& tweak = nullptr) {
  GatewayConfig c = TestConfig();
  if (tweak) tweak(c);
  auto t = Transcoder::Create(c);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *std::move(t) : nullptr;
}

// "Method {json}" of the translated request, or "ERROR <code>: message".
std::string Translate(const Transcoder& t, const std::string& method,
                      const std::string& target, const std::string& body = "",
                      std::vector<std::string>* allowed = nullptr) {
  auto call = t.TranscodeRequest(method, target, body, allowed);
  if (!call.ok()) {
    return absl::StrCat("ERROR ",
                        absl::StatusCodeToString(call.status().code()), ": ",
                        call.status().message());
  }
  google::protobuf::DynamicMessageFactory factory(&t.pool());
  std::unique_ptr<google::protobuf::Message> m(
      factory.GetPrototype(call->route->method->input_type())->New());
  EXPECT_TRUE(m->ParseFromString(call->message));
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  EXPECT_TRUE(
      google::protobuf::util::MessageToJsonString(*m, &json, options).ok());
  return absl::StrCat(call->route->method->name(), " ", json);
}

std::string ToBinary(const Transcoder& t, const std::string& type,
                     const std::string& json) {
  std::unique_ptr<google::protobuf::util::TypeResolver> resolver(
      google::protobuf::util::NewTypeResolverForDescriptorPool(
          "type.googleapis.com", &t.pool()));
  std::string out;
  auto s = google::protobuf::util::JsonToBinaryString(
      resolver.get(), "type.googleapis.com/" + type, json, &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

const Route* RouteOf(const Transcoder& t, const std::string& method,
                     const std::string& target) {
  auto call = t.TranscodeRequest(method, target, "", nullptr);
  return call.ok() ? call->route : nullptr;
}

// --- routing -----------------------------------------------------------------

TEST(Routing, MatchesEveryKindOfTemplate) {
  auto t = Make();
  EXPECT_EQ(Translate(*t, "GET", "/v1/items/abc"), R"(Get {"id":"abc"})");
  EXPECT_EQ(Translate(*t, "GET", "/v1/shelves/s1/items/i1"),
            R"(Get {"id":"i1","parent":"s1"})");
  EXPECT_EQ(Translate(*t, "GET", "/v1/inner/n1/child/n2"),
            R"(GetNested {"inner":{"name":"n1","child":{"name":"n2"}}})");
  EXPECT_EQ(Translate(*t, "GET", "/v1/files/a/b/c.txt"),
            R"(GetFile {"name":"files/a/b/c.txt"})");
  EXPECT_EQ(Translate(*t, "GET", "/v2/shelves/1/books/2"),
            R"(GetSegments {"name":"shelves/1/books/2"})");
  EXPECT_EQ(Translate(*t, "GET", "/v1/any/q/x"), R"(GetAny {})");
  EXPECT_EQ(Translate(*t, "POST", "/v1/items/i1:test", "{}"),
            R"(Test {"id":"i1"})");
  EXPECT_EQ(Translate(*t, "LOCK", "/v1/items/9"), R"(Lock {"id":"9"})");
  EXPECT_EQ(Translate(*t, "DELETE", "/v1/items/9"), R"(Delete {"id":"9"})");
  EXPECT_EQ(Translate(*t, "PUT", "/v1/items/9", "{}"), R"(Replace {"id":"9"})");
  EXPECT_EQ(Translate(*t, "GET", "/v1/items:stream"), R"(Stream {})");
}

TEST(Routing, LiteralBeatsWildcard) {
  auto t = Make();
  // GetSpecial is declared after Get; the literal still wins.
  EXPECT_EQ(Translate(*t, "GET", "/v1/items/special"), R"(GetSpecial {})");
  EXPECT_EQ(Translate(*t, "GET", "/v1/items/specials"),
            R"(Get {"id":"specials"})");
  // A multi-segment wildcard loses to a single-segment one.
  EXPECT_EQ(Translate(*t, "GET", "/v1/items/x/inner"),
            R"(GetInner {"id":"x"})");
}

TEST(Routing, UnknownPathAndWrongMethod) {
  auto t = Make();
  std::vector<std::string> allowed;
  EXPECT_THAT(Translate(*t, "GET", "/v1/nothing", "", &allowed),
              HasSubstr("ERROR NOT_FOUND"));
  EXPECT_THAT(allowed, IsEmpty());
  EXPECT_THAT(Translate(*t, "DELETE", "/v1/items", "", &allowed),
              HasSubstr("ERROR NOT_FOUND"));
  EXPECT_THAT(allowed, ElementsAre("POST"));
  allowed.clear();
  EXPECT_THAT(Translate(*t, "POST", "/v1/items/abc", "", &allowed),
              HasSubstr("ERROR NOT_FOUND"));
  EXPECT_THAT(allowed, ElementsAre("DELETE", "GET", "LOCK", "PATCH", "PUT"));
  // The verb is part of the route: GET on a POST-only custom verb is a 405.
  allowed.clear();
  Translate(*t, "GET", "/v1/items/abc:test", "", &allowed);
  EXPECT_THAT(allowed, ElementsAre("POST"));
}

TEST(Routing, PercentDecodingFollowsOption) {
  EXPECT_EQ(Translate(*Make(), "GET", "/v1/items/a%2Fb%20c"),
            R"(Get {"id":"a/b c"})");
  EXPECT_EQ(Translate(*Make(), "GET", "/v1/files/a%2Fb"),
            R"(GetFile {"name":"files/a%2Fb"})");
  auto reserved = Make([](GatewayConfig& c) {
    c.url_unescape_spec = UrlUnescapeSpec::kAllCharactersExceptReserved;
  });
  // Envoy: a single-segment variable is always fully decoded; the spec
  // applies to multi-segment ones.
  EXPECT_EQ(Translate(*reserved, "GET", "/v1/items/a%2Fb%20c%3F"),
            R"(Get {"id":"a/b c?"})");
  EXPECT_EQ(Translate(*reserved, "GET", "/v1/files/a%2Fb%20c%3F"),
            R"(GetFile {"name":"files/a%2Fb c%3F"})");
  auto all = Make([](GatewayConfig& c) {
    c.url_unescape_spec = UrlUnescapeSpec::kAllCharacters;
  });
  EXPECT_EQ(Translate(*all, "GET", "/v1/files/a%2Fb"),
            R"(GetFile {"name":"files/a/b"})");
}

TEST(Routing, UnregisteredCustomVerb) {
  EXPECT_EQ(Translate(*Make(), "GET", "/v1/items/a:b"), R"(Get {"id":"a:b"})");
  auto strict =
      Make([](GatewayConfig& c) { c.match_unregistered_custom_verb = true; });
  EXPECT_THAT(Translate(*strict, "GET", "/v1/items/a:b"),
              HasSubstr("ERROR NOT_FOUND"));
}

TEST(Routing, AutoMapping) {
  EXPECT_THAT(
      Translate(*Make(), "POST", "/gwtest.v1.TestService/Unbound", "{}"),
      HasSubstr("ERROR NOT_FOUND"));
  auto t = Make([](GatewayConfig& c) { c.auto_mapping = true; });
  EXPECT_EQ(
      Translate(*t, "POST", "/gwtest.v1.TestService/Unbound", R"({"id":"u"})"),
      R"(Unbound {"id":"u"})");
}

TEST(Routing, BadConfiguration) {
  GatewayConfig c = TestConfig();
  c.services = {"gwtest.v1.Nope"};
  EXPECT_EQ(Transcoder::Create(c).status().code(), absl::StatusCode::kNotFound);
  c.services = {};
  EXPECT_FALSE(Transcoder::Create(c).ok());
  c = TestConfig();
  c.proto_descriptor = "/nonexistent.pb";
  EXPECT_FALSE(Transcoder::Create(c).ok());
  c.proto_descriptor.clear();
  c.proto_descriptor_bin = "garbage\xff";
  EXPECT_FALSE(Transcoder::Create(c).ok());
}

// --- query parameters --------------------------------------------------------

TEST(Query, ExactTranslation) {
  auto t = Make();
  EXPECT_EQ(
      Translate(*t, "GET",
                "/v1/items/abc?int_val=5&tags=a&tags=b&inner.name=x"
                "&inner.child.count=4&color=RED&colors=GREEN&colors=1"
                "&flag=true&dbl=1.5&big_val=-123&displayName=dn&nums=1&nums=2"),
      R"(Get {"id":"abc","int_val":5,"big_val":"-123","dbl":1.5,"flag":true,)"
      R"("color":"RED","tags":["a","b"],"nums":[1,2],"colors":["GREEN","RED"],)"
      R"("inner":{"name":"x","child":{"count":4}},"display_name":"dn"})");
  EXPECT_EQ(
      Translate(*t, "GET",
                "/v1/items/abc?ts=2024-01-02T03:04:05Z&wrapped=7&blob=aGk%3D"
                "&big_u=18446744073709551615&flt=2.5"),
      R"(Get {"id":"abc","ts":"2024-01-02T03:04:05Z","wrapped":7,)"
      R"("blob":"aGk=","big_u":"18446744073709551615","flt":2.5})");
}

TEST(Query, BadValues) {
  auto t = Make();
  for (const char* q : {"int_val=x", "int_val=99999999999", "flag=yes",
                        "dbl=abc", "color=PURPLE", "ts=yesterday", "blob=%%%",
                        "labels=x", "inner=x", "big_u=-1", "tags.x=1"}) {
    EXPECT_THAT(Translate(*t, "GET", absl::StrCat("/v1/items/abc?", q)),
                HasSubstr("ERROR INVALID_ARGUMENT"))
        << q;
  }
}

// Found by fuzz_transcoder: a percent-encoded byte that is not UTF-8 made a
// message the server cannot parse (a 500 instead of a 400).
TEST(Query, InvalidUtf8IsRejected) {
  auto t = Make();
  EXPECT_THAT(Translate(*t, "GET", "/v1/items/abc?name=%FF"),
              HasSubstr("ERROR INVALID_ARGUMENT: invalid value for name"));
  EXPECT_THAT(Translate(*t, "GET", "/v1/items/a%C3"),
              HasSubstr("ERROR INVALID_ARGUMENT: invalid value for id"));
  EXPECT_EQ(Translate(*t, "GET", "/v1/items/%C3%A9?name=%E2%82%AC"),
            R"(Get {"id":"é","name":"€"})");
}

TEST(Query, UnknownAndIgnoredParameters) {
  EXPECT_EQ(Translate(*Make(), "GET", "/v1/items/abc?nope=1"),
            "ERROR INVALID_ARGUMENT: unknown query parameter \"nope\"");
  auto ignore =
      Make([](GatewayConfig& c) { c.ignore_unknown_query_parameters = true; });
  EXPECT_EQ(Translate(*ignore, "GET", "/v1/items/abc?nope=1&int_val=2"),
            R"(Get {"id":"abc","int_val":2})");
  auto listed = Make([](GatewayConfig& c) {
    c.ignored_query_parameters = {"api_key", "int_val"};
  });
  EXPECT_EQ(Translate(*listed, "GET", "/v1/items/abc?api_key=k&int_val=2"),
            R"(Get {"id":"abc"})");
  EXPECT_THAT(Translate(*listed, "GET", "/v1/items/abc?other=1"),
              HasSubstr("ERROR INVALID_ARGUMENT"));
  auto rejecting =
      Make([](GatewayConfig& c) { c.reject_unknown_query_parameters = true; });
  EXPECT_THAT(Translate(*rejecting, "GET", "/v1/items/abc?nope=1"),
              HasSubstr("ERROR INVALID_ARGUMENT"));
}

TEST(Query, EnumCaseAndPlus) {
  EXPECT_THAT(Translate(*Make(), "GET", "/v1/items/a?color=red"),
              HasSubstr("ERROR INVALID_ARGUMENT"));
  auto ci =
      Make([](GatewayConfig& c) { c.case_insensitive_enum_parsing = true; });
  EXPECT_EQ(Translate(*ci, "GET", "/v1/items/a?color=red"),
            R"(Get {"id":"a","color":"RED"})");
  EXPECT_EQ(Translate(*Make(), "GET", "/v1/items/a?name=x+y%2Bz%20w"),
            R"(Get {"id":"a","name":"x+y+z w"})");
  auto plus =
      Make([](GatewayConfig& c) { c.query_param_unescape_plus = true; });
  EXPECT_EQ(Translate(*plus, "GET", "/v1/items/a?name=x+y%2Bz"),
            R"(Get {"id":"a","name":"x y+z"})");
}

TEST(Query, PathVariableWinsAndFragmentIgnored) {
  EXPECT_EQ(Translate(*Make(), "GET", "/v1/items/abc?id=zzz#frag"),
            R"(Get {"id":"abc"})");
  EXPECT_EQ(Translate(*Make(), "GET", "/v1/items/abc?&&int_val=1&"),
            R"(Get {"id":"abc","int_val":1})");
}

// --- bodies ------------------------------------------------------------------

TEST(Body, StarMapsTheWholeMessage) {
  auto t = Make();
  EXPECT_EQ(
      Translate(*t, "POST", "/v1/items",
                R"({"id":"1","int_val":2,"inner":{"name":"n"},"tags":["a"]})"),
      R"(Create {"id":"1","int_val":2,"tags":["a"],"inner":{"name":"n"}})");
  EXPECT_EQ(
      Translate(*t, "POST", "/v1/items", R"({"intVal":3,"displayName":"d"})"),
      R"(Create {"int_val":3,"display_name":"d"})");
  EXPECT_EQ(Translate(*t, "POST", "/v1/items", ""), "Create {}");
  EXPECT_EQ(Translate(*t, "PATCH", "/v1/items/p", R"({"name":"x"})"),
            R"(Update {"id":"p","name":"x"})");
}

TEST(Body, NamedFieldAndQueryOutsideIt) {
  auto t = Make();
  EXPECT_EQ(
      Translate(*t, "POST", "/v1/items/i1/inner?int_val=3",
                R"({"name":"n","count":2})"),
      R"(CreateInner {"id":"i1","int_val":3,"inner":{"name":"n","count":2}})");
  EXPECT_EQ(Translate(*t, "PUT", "/v1/items/i1/tags", R"(["a","b"])"),
            R"(SetTags {"id":"i1","tags":["a","b"]})");
  EXPECT_EQ(Translate(*t, "POST", "/v1/items/i1/inner", ""),
            R"(CreateInner {"id":"i1"})");
  // Query parameters may not reach into the body field...
  EXPECT_THAT(Translate(*t, "POST", "/v1/items/i1/inner?inner.name=x", "{}"),
              HasSubstr("ERROR INVALID_ARGUMENT"));
  // ...nor into a body: "*" request.
  EXPECT_THAT(Translate(*t, "POST", "/v1/items?id=1", "{}"),
              HasSubstr("ERROR INVALID_ARGUMENT"));
}

TEST(Body, MalformedJsonAndWrongTypes) {
  auto t = Make();
  for (const char* body :
       {"{", "{\"id\":}", "not json", "[1,2]", "{\"int_val\":\"abc\"}",
        "{\"int_val\":1.5}", "{\"unknown_field\":1}", "{\"inner\":5}",
        "\"str\""}) {
    EXPECT_THAT(Translate(*t, "POST", "/v1/items", body),
                HasSubstr("ERROR INVALID_ARGUMENT: invalid JSON body"))
        << body;
  }
  EXPECT_THAT(Translate(*t, "PUT", "/v1/items/x/tags", R"({"a":1})"),
              HasSubstr("ERROR INVALID_ARGUMENT"));
}

TEST(Body, EnumCaseInsensitiveOption) {
  EXPECT_THAT(Translate(*Make(), "POST", "/v1/items", R"({"color":"green"})"),
              HasSubstr("ERROR INVALID_ARGUMENT"));
  auto ci =
      Make([](GatewayConfig& c) { c.case_insensitive_enum_parsing = true; });
  EXPECT_EQ(Translate(*ci, "POST", "/v1/items", R"({"color":"green"})"),
            R"(Create {"color":"GREEN"})");
}

TEST(Body, BindingCollisions) {
  EXPECT_EQ(Translate(*Make(), "PATCH", "/v1/items/abc", R"({"id":"zzz"})"),
            R"(Update {"id":"abc"})");
  auto reject = Make(
      [](GatewayConfig& c) { c.reject_binding_body_field_collisions = true; });
  EXPECT_THAT(Translate(*reject, "PATCH", "/v1/items/abc", R"({"id":"zzz"})"),
              HasSubstr("ERROR INVALID_ARGUMENT"));
  EXPECT_EQ(Translate(*reject, "PATCH", "/v1/items/abc", R"({"name":"n"})"),
            R"(Update {"id":"abc","name":"n"})");
}

// --- responses ---------------------------------------------------------------

TEST(Response, PrintOptions) {
  const std::string item_json =
      R"({"id":"x","int_val":3,"big_val":"5","color":"GREEN"})";
  auto t = Make();
  std::string bytes = ToBinary(*t, "gwtest.v1.Item", item_json);
  const Route* get = RouteOf(*t, "GET", "/v1/items/x");
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(*t->TranscodeResponse(*get, bytes),
            R"({"id":"x","int_val":3,"big_val":"5","color":"GREEN"})");

  auto camel = Make([](GatewayConfig& c) {
    c.print_options.preserve_proto_field_names = false;
  });
  EXPECT_EQ(
      *camel->TranscodeResponse(*RouteOf(*camel, "GET", "/v1/items/x"), bytes),
      R"({"id":"x","intVal":3,"bigVal":"5","color":"GREEN"})");

  auto ints = Make([](GatewayConfig& c) {
    c.print_options.always_print_enums_as_ints = true;
  });
  EXPECT_EQ(
      *ints->TranscodeResponse(*RouteOf(*ints, "GET", "/v1/items/x"), bytes),
      R"({"id":"x","int_val":3,"big_val":"5","color":2})");

  auto all = Make([](GatewayConfig& c) {
    c.print_options.always_print_primitive_fields = true;
  });
  std::string printed =
      *all->TranscodeResponse(*RouteOf(*all, "GET", "/v1/items/x"), bytes);
  EXPECT_THAT(printed, HasSubstr(R"("flag":false)"));
  EXPECT_THAT(printed, HasSubstr(R"("tags":[])"));
  EXPECT_THAT(printed, HasSubstr(R"("parent":"")"));

  auto ws =
      Make([](GatewayConfig& c) { c.print_options.add_whitespace = true; });
  std::string pretty =
      *ws->TranscodeResponse(*RouteOf(*ws, "GET", "/v1/items/x"), bytes);
  EXPECT_THAT(pretty, HasSubstr("\n"));
  EXPECT_THAT(pretty, HasSubstr(R"("id": "x")"));
}

TEST(Response, ResponseBodyField) {
  auto t = Make();
  const Route* inner = RouteOf(*t, "GET", "/v1/items/x/inner");
  const Route* tags = RouteOf(*t, "GET", "/v1/items/x/tags");
  ASSERT_NE(inner, nullptr);
  ASSERT_NE(tags, nullptr);
  std::string bytes =
      ToBinary(*t, "gwtest.v1.Item",
               R"({"id":"x","inner":{"name":"n","count":1},"tags":["a","b"]})");
  EXPECT_EQ(*t->TranscodeResponse(*inner, bytes), R"({"name":"n","count":1})");
  EXPECT_EQ(*t->TranscodeResponse(*tags, bytes), R"(["a","b"])");
  std::string empty = ToBinary(*t, "gwtest.v1.Item", R"({"id":"x"})");
  EXPECT_EQ(*t->TranscodeResponse(*inner, empty), "{}");
  EXPECT_EQ(*t->TranscodeResponse(*tags, empty), "[]");
}

TEST(Response, MaxResponseBodySize) {
  auto t = Make([](GatewayConfig& c) { c.max_response_body_size = 20; });
  const Route* get = RouteOf(*t, "GET", "/v1/items/x");
  EXPECT_TRUE(t->TranscodeResponse(
                   *get, ToBinary(*t, "gwtest.v1.Item", R"({"id":"x"})"))
                  .ok());
  auto big = t->TranscodeResponse(
      *get, ToBinary(*t, "gwtest.v1.Item",
                     R"({"id":"x","padding":"0123456789abcdef"})"));
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(Response, GarbageBytesAreAnError) {
  auto t = Make();
  EXPECT_FALSE(t->TranscodeResponse(*RouteOf(*t, "GET", "/v1/items/x"),
                                    std::string("\x0a\x05"
                                                "ab",
                                                4))
                   .ok());
}

// --- stream framing ----------------------------------------------------------

TEST(Framing, Choice) {
  PrintOptions o;
  EXPECT_EQ(ChooseStreamFraming(o, ""), StreamFraming::kJsonArray);
  EXPECT_EQ(ChooseStreamFraming(o, "text/event-stream"),
            StreamFraming::kServerSentEvents);
  o.stream_newline_delimited = true;
  EXPECT_EQ(ChooseStreamFraming(o, "application/json"),
            StreamFraming::kNewlineDelimited);
  EXPECT_EQ(ChooseStreamFraming(o, "text/html, Text/Event-Stream"),
            StreamFraming::kServerSentEvents);
  o.stream_sse_style_delimited = true;
  EXPECT_EQ(ChooseStreamFraming(o, ""), StreamFraming::kServerSentEvents);
  EXPECT_EQ(StreamContentType(StreamFraming::kJsonArray), "application/json");
  EXPECT_EQ(StreamContentType(StreamFraming::kNewlineDelimited),
            "application/x-ndjson");
  EXPECT_EQ(StreamContentType(StreamFraming::kServerSentEvents),
            "text/event-stream");
}

TEST(Framing, JsonArray) {
  auto f = StreamFraming::kJsonArray;
  EXPECT_EQ(FrameStreamMessage(f, "{\"a\":1}", true) +
                FrameStreamMessage(f, "{}", false) +
                FrameStreamEnd(f, 2, std::nullopt),
            "[{\"a\":1},{}]");
  EXPECT_EQ(FrameStreamEnd(f, 0, std::nullopt), "[]");
  EXPECT_EQ(FrameStreamEnd(f, 1, std::string("{\"code\":\"x\"}")),
            ",{\"error\":{\"code\":\"x\"}}]");
}

TEST(Framing, NewlineDelimited) {
  auto f = StreamFraming::kNewlineDelimited;
  EXPECT_EQ(FrameStreamMessage(f, "{\n  \"a\": 1\n}\n", true),
            "{  \"a\": 1}\n");
  EXPECT_EQ(FrameStreamEnd(f, 3, std::nullopt), "");
  EXPECT_EQ(FrameStreamEnd(f, 3, std::string("{}")), "{\"error\":{}}\n");
}

TEST(Framing, ServerSentEvents) {
  auto f = StreamFraming::kServerSentEvents;
  EXPECT_EQ(FrameStreamMessage(f, "{\"a\":1}", true), "data: {\"a\":1}\n\n");
  EXPECT_EQ(FrameStreamMessage(f, "{\n \"a\": 1\n}\n", false),
            "data: {\ndata:  \"a\": 1\ndata: }\n\n");
  EXPECT_EQ(FrameStreamEnd(f, 1, std::nullopt), "");
  EXPECT_EQ(FrameStreamEnd(f, 1, std::string("{}")),
            "event: error\ndata: {\"error\":{}}\n\n");
}

// --- configuration -----------------------------------------------------------

TEST(Config, ReadsTheEnvoyBootstrap) {
  auto c = LoadGatewayConfig(GATEWAY_ENVOY_YAML);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(
      c->services,
      ElementsAre("leadrelay.v1.AccountService", "leadrelay.v1.ApiKeyService",
                  "leadrelay.v1.LeadService", "leadrelay.v1.EventService",
                  "leadrelay.v1.WebhookService"));
  EXPECT_TRUE(c->print_options.preserve_proto_field_names);
  EXPECT_EQ(c->url_unescape_spec, UrlUnescapeSpec::kAllCharactersExceptSlash);
  EXPECT_TRUE(c->query_param_unescape_plus);
  EXPECT_TRUE(c->reject_unknown_method);
  EXPECT_EQ(c->max_request_body_size, 1048576u);
  // The relative descriptor path resolves against the repository root.
  EXPECT_THAT(c->proto_descriptor, HasSubstr("build/leadrelay.pb"));
}

TEST(Config, ServesTheLeadrelayApi) {
  auto c = LoadGatewayConfig(GATEWAY_ENVOY_YAML);
  ASSERT_TRUE(c.ok());
  c->proto_descriptor = LR_DESCRIPTOR_SET;
  auto t = Transcoder::Create(*c);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(Translate(**t, "GET", "/v1/leads/ld_1"),
            R"(GetLead {"id":"ld_1"})");
  EXPECT_EQ(
      Translate(**t, "GET",
                "/v1/leads?vertical=solar&score_tier=hot&page=2&limit=10"),
      R"(ListLeads {"vertical":"solar","score_tier":"hot","page":2,"limit":10})");
  EXPECT_EQ(
      Translate(**t, "POST", "/v1/leads/webhook", R"({"url":"https://x"})"),
      R"(CreateWebhook {"url":"https://x"})");
  EXPECT_EQ(Translate(**t, "POST", "/v1/webhooks/wh_1:rotate-secret", "{}"),
            R"(RotateWebhookSecret {"id":"wh_1"})");
  EXPECT_EQ(Translate(**t, "GET", "/v1/webhooks/wh_1/deliveries/d1"),
            R"(GetDelivery {"webhook_id":"wh_1","id":"d1"})");
  EXPECT_EQ(
      Translate(**t, "GET", "/v1/events?types=lead.new&types=lead.updated"),
      R"(ListEvents {"types":["lead.new","lead.updated"]})");
}

TEST(Config, FieldsAsJsonOrBareBlock) {
  auto c = ParseGatewayConfig(R"({
    "proto_descriptor": "x.pb",
    "services": ["a.B"],
    "print_options": {"add_whitespace": true, "stream_newline_delimited": true},
    "auto_mapping": true,
    "ignored_query_parameters": ["key"],
    "ignore_unknown_query_parameters": true,
    "convert_grpc_status": true,
    "url_unescape_spec": "ALL_CHARACTERS",
    "match_unregistered_custom_verb": true,
    "request_validation_options": {"reject_unknown_query_parameters": true,
                                   "reject_binding_body_field_collisions": true},
    "case_insensitive_enum_parsing": true,
    "max_request_body_size": {"value": 10},
    "max_response_body_size": 20
  })");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->proto_descriptor, "x.pb");
  EXPECT_TRUE(c->print_options.add_whitespace);
  EXPECT_TRUE(c->print_options.stream_newline_delimited);
  EXPECT_TRUE(c->auto_mapping);
  EXPECT_THAT(c->ignored_query_parameters, ElementsAre("key"));
  EXPECT_TRUE(c->ignore_unknown_query_parameters);
  EXPECT_TRUE(c->convert_grpc_status);
  EXPECT_EQ(c->url_unescape_spec, UrlUnescapeSpec::kAllCharacters);
  EXPECT_TRUE(c->match_unregistered_custom_verb);
  EXPECT_TRUE(c->reject_unknown_query_parameters);
  EXPECT_TRUE(c->reject_binding_body_field_collisions);
  EXPECT_TRUE(c->case_insensitive_enum_parsing);
  EXPECT_EQ(c->max_request_body_size, 10u);
  EXPECT_EQ(c->max_response_body_size, 20u);
}

TEST(Config, Errors) {
  EXPECT_EQ(ParseGatewayConfig("a: 1").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(
      ParseGatewayConfig("proto_descriptor: x\nservices: [a]\nbogus: 1").ok());
  EXPECT_FALSE(ParseGatewayConfig(
                   "proto_descriptor: x\nservices: [a]\nurl_unescape_spec: NO")
                   .ok());
  EXPECT_FALSE(ParseGatewayConfig(
                   "proto_descriptor: x\nservices: [a]\nauto_mapping: maybe")
                   .ok());
  EXPECT_FALSE(ParseGatewayConfig("{{{").ok());
  EXPECT_FALSE(LoadGatewayConfig("/nonexistent/envoy.yaml").ok());
}

// --- OpenAPI -----------------------------------------------------------------

TEST(OpenApi, DescribesPathsParametersAndSchemas) {
  auto t = Make();
  std::string doc = BuildOpenApiJson(*t);
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(doc, &parsed).ok())
      << doc;
  const auto& paths = parsed.fields().at("paths").struct_value().fields();
  ASSERT_TRUE(paths.count("/v1/items/{id}"));
  const auto& item_ops = paths.at("/v1/items/{id}").struct_value().fields();
  EXPECT_TRUE(item_ops.count("get"));
  EXPECT_TRUE(item_ops.count("patch"));
  EXPECT_TRUE(item_ops.count("delete"));
  EXPECT_FALSE(item_ops.count("lock"));  // custom methods are not OpenAPI
  EXPECT_TRUE(paths.count("/v1/{name}"));
  EXPECT_TRUE(paths.count("/v1/items/{id}:test"));
  EXPECT_TRUE(paths.count("/v1/shelves/{parent}/items/{id}"));
  EXPECT_TRUE(paths.count("/v1/inner/{inner.name}/child/{inner.child.name}"));
  EXPECT_THAT(doc, HasSubstr(R"({"name":"int_val","in":"query")"));
  EXPECT_THAT(doc, HasSubstr(R"({"name":"inner.tags","in":"query")"));
  EXPECT_THAT(doc, HasSubstr(R"("enum":["COLOR_UNSPECIFIED","RED","GREEN"])"));
  EXPECT_THAT(doc, HasSubstr(R"("ts":{"type":"string","format":"date-time")"));
  EXPECT_THAT(doc, HasSubstr("text/event-stream"));
  const auto& schemas = parsed.fields()
                            .at("components")
                            .struct_value()
                            .fields()
                            .at("schemas")
                            .struct_value()
                            .fields();
  EXPECT_TRUE(schemas.count("gwtest.v1.Item"));
  EXPECT_TRUE(schemas.count("gwtest.v1.Inner"));
  EXPECT_TRUE(schemas.count("Error"));
  // Comments of the proto become descriptions.
  EXPECT_THAT(doc, HasSubstr("Literal beats the wildcard of Get."));
}

TEST(OpenApi, LeadrelayDocumentParses) {
  auto c = LoadGatewayConfig(GATEWAY_ENVOY_YAML);
  ASSERT_TRUE(c.ok());
  c->proto_descriptor = LR_DESCRIPTOR_SET;
  auto t = Transcoder::Create(*c);
  ASSERT_TRUE(t.ok());
  std::string doc = BuildOpenApiJson(**t);
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(doc, &parsed).ok());
  const auto& paths = parsed.fields().at("paths").struct_value().fields();
  EXPECT_TRUE(paths.count("/v1/leads/{id}"));
  EXPECT_TRUE(
      paths.count("/v1/webhooks/{webhook_id}/deliveries/{id}:redeliver"));
  EXPECT_THAT(doc, HasSubstr(R"({"name":"score_tier","in":"query")"));
}

}  // namespace
}  // namespace leadrelay::gateway
