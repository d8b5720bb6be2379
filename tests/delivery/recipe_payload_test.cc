// The README's n8n / Make / polling recipes against what the server really
// sends: every header and field they name (tests/delivery/recipe_fields.txt)
// exists in a captured delivery, in GET /v1/leads responses and in a 429;
// the README section names every one of them; the n8n Code-node snippet,
// run with node on a captured delivery, accepts it and refuses a tampered
// one; and the shipped n8n workflow carries that same snippet.

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "delivery/rest_world.h"
#include "delivery/test_crypto.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "support/process.h"

namespace leadrelay::dtest {
namespace {

using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using itest::Authorize;
using itest::IsOk;

constexpr absl::Duration kWait = absl::Seconds(30);
constexpr char kSectionTitle[] = "## Recipes: n8n, Make, polling";

std::string ReadSource(const std::string& relative) {
  std::ifstream in(absl::StrCat(LEADRELAY_SOURCE_DIR, "/", relative));
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_FALSE(text.str().empty()) << "cannot read " << relative;
  return text.str();
}

// The README section of the recipes, up to the next "## " heading.
std::string RecipeSection() {
  std::string readme = ReadSource("README.md");
  size_t start = readme.find(kSectionTitle);
  if (start == std::string::npos) return "";
  size_t end = readme.find("\n## ", start + 1);
  return readme.substr(start, end == std::string::npos ? end : end - start);
}

// (kind, name) pairs of recipe_fields.txt.
std::vector<std::pair<std::string, std::string>> RecipeFields() {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view line :
       absl::StrSplit(ReadSource("tests/delivery/recipe_fields.txt"), '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> parts =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    EXPECT_EQ(parts.size(), 2u) << line;
    if (parts.size() == 2) out.emplace_back(parts[0], parts[1]);
  }
  return out;
}

std::vector<std::string> Named(const std::string& kind) {
  std::vector<std::string> out;
  for (const auto& [k, name] : RecipeFields()) {
    if (k == kind) out.push_back(name);
  }
  EXPECT_FALSE(out.empty()) << "no " << kind << " in recipe_fields.txt";
  return out;
}

Struct Json(const std::string& text) {
  Struct out;
  auto status = google::protobuf::util::JsonStringToMessage(text, &out);
  EXPECT_TRUE(status.ok()) << status.ToString() << ": " << text;
  return out;
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string out;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(message, &out).ok());
  return out;
}

// The README's Code-node snippet: the ```js block of the section, with the
// list item's indentation removed.
std::string ReadmeSnippet() {
  std::string section = RecipeSection();
  size_t open = section.find("```js\n");
  if (open == std::string::npos) return "";
  size_t body = open + 6;
  size_t close = section.find("```", body);
  std::string out;
  for (absl::string_view line : absl::StrSplit(
           absl::string_view(section).substr(body, close - body), '\n')) {
    absl::ConsumePrefix(&line, "   ");
    absl::StrAppend(&out, line, "\n");
  }
  // The split leaves the indentation of the closing fence as a last line.
  return std::string(absl::StripSuffix(out, "\n\n")) + "\n";
}

class RecipePayloadTest : public RestWorldTest {
 protected:
  v1::Lead CreateLead(const std::string& external_id) {
    grpc::ClientContext context;
    Authorize(&context, key_);
    v1::CreateLeadRequest request;
    v1::Lead* lead = request.mutable_lead();
    lead->set_vertical("solar");
    lead->set_first_name("Sipho");
    lead->set_last_name("Dlamini");
    lead->set_suburb("Durbanville");
    lead->set_phone("+27831234567");
    lead->set_email("sipho@example.co.za");
    lead->set_score(81);
    lead->set_external_id(external_id);
    v1::Lead created;
    EXPECT_TRUE(
        IsOk(world_->api().leads->CreateLead(&context, request, &created)));
    return created;
  }

  // A real lead.new delivery to a new endpoint, and the endpoint's secret.
  std::pair<ReceivedRequest, std::string> CaptureLeadNew() {
    const std::string path = "/" + itest::UniqueName("recipe");
    v1::CreateWebhookResponse hook;
    EXPECT_TRUE(
        IsOk(CreateWebhook(world_->api(), key_, world_->receiver->Url(path),
                           {"lead.new"}, &hook)));
    CreateLead(itest::UniqueName("crm"));
    ReceivedRequest captured;
    EXPECT_TRUE(world_->receiver->WaitUntil(
        [&](const std::vector<ReceivedRequest>& all) {
          for (const ReceivedRequest& r : all) {
            if (r.path == path) captured = r;
          }
          return !captured.body.empty();
        },
        kWait));
    return {captured, hook.secret()};
  }

  // Runs the README snippet with node on `request` (body possibly
  // altered); returns the first output item.
  absl::StatusOr<Struct> RunSnippet(const ReceivedRequest& request,
                                    const std::string& body,
                                    const std::string& secret) {
    absl::StatusOr<std::unique_ptr<itest::TempDir>> dir =
        itest::TempDir::Create();
    if (!dir.ok()) return dir.status();
    Struct input;
    Struct& headers =
        *(*input.mutable_fields())["headers"].mutable_struct_value();
    for (const auto& [name, value] : request.headers) {
      (*headers.mutable_fields())[name].set_string_value(value);
    }
    (*input.mutable_fields())["body_base64"].set_string_value(
        Base64Encode(body));
    (*(*input.mutable_fields())["env"]
          .mutable_struct_value()
          ->mutable_fields())["LEADRELAY_WEBHOOK_SECRET"]
        .set_string_value(secret);
    const std::string code_file = (*dir)->path() + "/snippet.js";
    const std::string request_file = (*dir)->path() + "/request.json";
    std::ofstream(code_file) << ReadmeSnippet();
    std::ofstream(request_file) << ToJson(input);
    absl::StatusOr<std::string> out = itest::RunToCompletion(
        {"/usr/bin/env", "node",
         absl::StrCat(LEADRELAY_SOURCE_DIR, "/tests/delivery/run_n8n_code.js"),
         code_file, request_file},
        (*dir)->path() + "/node.log", 30);
    if (!out.ok()) {
      return absl::InternalError(
          absl::StrCat(out.status().message(), "\n",
                       itest::FileTail((*dir)->path() + "/node.log", 20)));
    }
    Struct wrapped = Json(absl::StrCat(R"({"items": )", *out, "}"));
    const Value* items = AtPath(wrapped, "items");
    if (items == nullptr || items->list_value().values_size() != 1) {
      return absl::InternalError("snippet did not return one item: " + *out);
    }
    const Value* json =
        AtPath(items->list_value().values(0).struct_value(), "json");
    if (json == nullptr) return absl::InternalError("no json in " + *out);
    return json->struct_value();
  }
};

TEST_F(RecipePayloadTest, ReadmeSectionNamesEveryListedHeaderAndField) {
  std::string section = RecipeSection();
  ASSERT_FALSE(section.empty()) << "README has no '" << kSectionTitle << "'";
  std::vector<std::pair<std::string, std::string>> fields = RecipeFields();
  ASSERT_GT(fields.size(), 20u);
  for (const auto& [kind, name] : fields) {
    EXPECT_TRUE(absl::StrContains(section, name))
        << kind << " '" << name << "' is not named in the README recipes";
  }
}

TEST_F(RecipePayloadTest, DeliveryHasEveryHeaderAndFieldTheRecipesName) {
  auto [captured, secret] = CaptureLeadNew();
  ASSERT_FALSE(captured.body.empty());
  for (const std::string& header : Named("delivery-header")) {
    EXPECT_FALSE(captured.Header(header).empty()) << header;
  }
  Struct body = Json(captured.body);
  for (const std::string& field : Named("delivery-field")) {
    const Value* v = AtPath(body, field);
    ASSERT_NE(v, nullptr) << field << " missing in " << captured.body;
    EXPECT_TRUE(v->has_string_value() || v->has_number_value()) << field;
  }
  // The signed string the recipe states:
  // "<webhook-id>.<webhook-timestamp>.<body>".
  absl::string_view encoded = secret;
  ASSERT_TRUE(absl::ConsumePrefix(&encoded, "whsec_")) << "a generated secret";
  std::optional<std::string> key = Base64Decode(std::string(encoded));
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(captured.Header("webhook-signature"),
            "v1," + Base64Encode(HmacSha256Raw(
                        *key, absl::StrCat(captured.Header("webhook-id"), ".",
                                           captured.Header("webhook-timestamp"),
                                           ".", captured.body))));
  EXPECT_EQ(captured.Header("x-leadrelay-signature"),
            LowerHex(HmacSha256Raw(secret, captured.body)));
}

TEST_F(RecipePayloadTest, N8nSnippetAcceptsARealDeliveryAndRefusesForgeries) {
  auto [captured, secret] = CaptureLeadNew();
  ASSERT_FALSE(captured.body.empty());
  absl::StatusOr<Struct> genuine = RunSnippet(captured, captured.body, secret);
  ASSERT_TRUE(genuine.ok()) << genuine.status();
  EXPECT_TRUE(AtPath(*genuine, "verified")->bool_value()) << ToJson(*genuine);
  // What the Switch node and the downstream expressions read.
  EXPECT_EQ(AtPath(*genuine, "event")->string_value(), "lead.new");
  EXPECT_EQ(AtPath(*genuine, "data.lead.vertical")->string_value(), "solar");
  EXPECT_EQ(AtPath(*genuine, "data.contact.phone")->string_value(),
            "+27831234567");

  std::string tampered = captured.body;
  tampered.replace(tampered.find("solar"), 5, "SOLAR");
  absl::StatusOr<Struct> forged = RunSnippet(captured, tampered, secret);
  ASSERT_TRUE(forged.ok()) << forged.status();
  EXPECT_FALSE(AtPath(*forged, "verified")->bool_value());

  absl::StatusOr<Struct> wrong_key =
      RunSnippet(captured, captured.body, "whsec_" + Base64Encode("not it"));
  ASSERT_TRUE(wrong_key.ok()) << wrong_key.status();
  EXPECT_FALSE(AtPath(*wrong_key, "verified")->bool_value());
}

TEST_F(RecipePayloadTest, PollingResponsesHaveTheHeadersAndFields) {
  for (int i = 0; i < 3; ++i) CreateLead(itest::UniqueName("poll"));
  HttpResponse first = world_->Rest(key_, "GET", "/v1/leads?limit=2");
  ASSERT_EQ(first.status, 200) << first.body;
  for (const std::string& header : Named("poll-header")) {
    EXPECT_FALSE(first.header(header).empty()) << header;
  }
  Struct page = Json(first.body);
  for (const std::string& field : Named("poll-field")) {
    EXPECT_NE(AtPath(page, field), nullptr) << field << ": " << first.body;
  }
  EXPECT_EQ(AtPath(page, "leads")->list_value().values_size(), 2);
  const std::string token = AtPath(page, "next_page_token")->string_value();
  ASSERT_FALSE(token.empty());
  HttpResponse second =
      world_->Rest(key_, "GET", "/v1/leads?limit=2&page_token=" + token);
  ASSERT_EQ(second.status, 200) << second.body;
  Struct last = Json(second.body);
  EXPECT_EQ(AtPath(last, "leads")->list_value().values_size(), 1);
  EXPECT_EQ(AtPath(last, "next_page_token")->string_value(), "");
}

TEST_F(RecipePayloadTest, RateLimitedPollHasRetryAfterAndTheErrorFields) {
  // The free plan allows 60 requests a minute per key.
  absl::StatusOr<Account> free =
      world_->env->Bootstrap(itest::UniqueName("free"), "free");
  ASSERT_TRUE(free.ok()) << free.status();
  HttpResponse limited;
  for (int i = 0; i < 200 && limited.status != 429; ++i) {
    limited = world_->Rest(free->admin_key, "GET", "/v1/leads?limit=1");
  }
  ASSERT_EQ(limited.status, 429) << limited.body;
  for (const std::string& header : Named("limited-header")) {
    EXPECT_FALSE(limited.header(header).empty()) << header;
  }
  Struct error = Json(limited.body);
  for (const std::string& field : Named("limited-field")) {
    EXPECT_NE(AtPath(error, field), nullptr) << field << ": " << limited.body;
  }
  EXPECT_EQ(AtPath(error, "code")->string_value(), "rate_limited");
}

TEST_F(RecipePayloadTest, ShippedN8nWorkflowCarriesTheReadmeSnippet) {
  Struct workflow = Json(ReadSource("docs/recipes/n8n_leadrelay_webhook.json"));
  const Value* nodes = AtPath(workflow, "nodes");
  ASSERT_NE(nodes, nullptr);
  std::set<std::string> types;
  std::set<std::string> routed;
  for (const Value& node : nodes->list_value().values()) {
    const Struct& n = node.struct_value();
    const std::string type = AtPath(n, "type")->string_value();
    types.insert(type);
    if (type == "n8n-nodes-base.webhook") {
      EXPECT_TRUE(AtPath(n, "parameters.options.rawBody")->bool_value());
      EXPECT_EQ(AtPath(n, "parameters.httpMethod")->string_value(), "POST");
      EXPECT_EQ(AtPath(n, "parameters.responseMode")->string_value(),
                "responseNode");
    } else if (type == "n8n-nodes-base.code") {
      EXPECT_EQ(AtPath(n, "parameters.jsCode")->string_value(),
                ReadmeSnippet());
    } else if (type == "n8n-nodes-base.switch") {
      for (const Value& rule :
           AtPath(n, "parameters.rules.values")->list_value().values()) {
        for (const Value& c :
             AtPath(rule.struct_value(), "conditions.conditions")
                 ->list_value()
                 .values()) {
          EXPECT_EQ(AtPath(c.struct_value(), "leftValue")->string_value(),
                    "={{ $json.event }}");
          routed.insert(AtPath(c.struct_value(), "rightValue")->string_value());
        }
      }
    }
  }
  for (const char* type :
       {"n8n-nodes-base.webhook", "n8n-nodes-base.code", "n8n-nodes-base.if",
        "n8n-nodes-base.respondToWebhook", "n8n-nodes-base.switch"}) {
    EXPECT_EQ(types.count(type), 1u) << type;
  }
  // Event types the server sends (ListEventTypes), not guesses.
  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::ListEventTypesResponse known;
  ASSERT_TRUE(IsOk(world_->api().events->ListEventTypes(
      &context, v1::ListEventTypesRequest(), &known)));
  std::set<std::string> catalogue(known.types().begin(), known.types().end());
  EXPECT_EQ(routed, (std::set<std::string>{"lead.new", "lead.updated",
                                           "webhook.test"}));
  for (const std::string& event : routed) {
    EXPECT_EQ(catalogue.count(event), 1u) << event;
  }
}

}  // namespace
}  // namespace leadrelay::dtest
