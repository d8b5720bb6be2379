// Parity with Envoy's transcoder (grpc-httpjson-transcoding) on the behaviour
// its own path-template and path-matcher suites check, restated here as
// data tables in our own words: template parsing (shapes, variable ranges,
// `**` with literal suffixes, custom verbs, errors), route lookup (wildcards,
// precedence, suffixes after `**`, partial matches, verbs), percent-decoding
// per url_unescape_spec, deep paths, and duplicate bindings.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gateway/path_template.h"
#include "gateway/routes.h"
#include "gmock/gmock.h"
#include "google/api/annotations.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"

namespace leadrelay::gateway {
namespace {

using ::testing::HasSubstr;

// "a/*/**" plus " {x:1-3}" per variable (the end is in template segments)
// and " :verb".
std::string Shape(absl::string_view text) {
  auto t = ParsePathTemplate(text);
  if (!t.ok()) return "ERROR";
  std::vector<std::string> parts;
  for (const auto& s : t->segments) {
    parts.push_back(s.kind == PathTemplate::Kind::kLiteral  ? s.literal
                    : s.kind == PathTemplate::Kind::kSingle ? "*"
                                                            : "**");
  }
  std::string out = absl::StrJoin(parts, "/");
  for (const auto& v : t->variables) {
    absl::StrAppend(&out, " {", absl::StrJoin(v.field_path, "."), ":", v.start,
                    "-", v.end, "}");
  }
  if (!t->verb.empty()) absl::StrAppend(&out, " :", t->verb);
  return out;
}

struct ParseCase {
  const char* text;
  const char* shape;
};

TEST(EnvoyParity, TemplateShapes) {
  const ParseCase cases[] = {
      // Variables and wildcards.
      {"/shelves/{shelf}/books/{book}",
       "shelves/*/books/* {shelf:1-2} {book:3-4}"},
      {"/shelves/**", "shelves/**"},
      {"/**", "**"},
      {"/*/**", "*/**"},
      {"/*/a/**", "*/a/**"},
      {"/a/{a.b.c}", "a/* {a.b.c:1-2}"},
      {"/a/{a.b.c=*}", "a/* {a.b.c:1-2}"},
      {"/a/{b=*}", "a/* {b:1-2}"},
      {"/a/{b=**}", "a/** {b:1-2}"},
      {"/a/{b=c/*}", "a/c/* {b:1-3}"},
      {"/a/{b=c/*/d}", "a/c/*/d {b:1-4}"},
      {"/a/{b=c/**}", "a/c/** {b:1-3}"},
      {"/{x}", "* {x:0-1}"},
      {"/{x.y.z=*/a/b}/c", "*/a/b/c {x.y.z:0-3}"},
      {"/{x=**}", "** {x:0-1}"},
      // `**` followed by literal segments, inside or after the variable.
      {"/a/{b=c/**}/d/e", "a/c/**/d/e {b:1-3}"},
      {"/a/{b=c/**/d}/e", "a/c/**/d/e {b:1-4}"},
      {"/{x.y.z=a/**/b}", "a/**/b {x.y.z:0-3}"},
      {"/{x.y.z=a/**/b}/c/d", "a/**/b/c/d {x.y.z:0-3}"},
      {"/a/**/x", "a/**/x"},
      // Custom verbs.
      {"/a:foo", "a :foo"},
      {"/a/b/c:foo", "a/b/c :foo"},
      {"/*:verb", "* :verb"},
      {"/**:verb", "** :verb"},
      {"/{a}:verb", "* {a:0-1} :verb"},
      {"/a/b/**:verb", "a/b/** :verb"},
      {"/a/{b=*}/**:verb", "a/*/** {b:1-2} :verb"},
      {"/{x.y.z=*/*}:verb", "*/* {x.y.z:0-2} :verb"},
      {"/{x=**}:myverb", "** {x:0-1} :myverb"},
      {"/{x.y.z=a/**/b}/c/d:custom", "a/**/b/c/d {x.y.z:0-3} :custom"},
      {"/a/{b=c/**/d}/e:verb", "a/c/**/d/e {b:1-4} :verb"},
  };
  for (const ParseCase& c : cases) {
    EXPECT_EQ(Shape(c.text), c.shape) << c.text;
  }
}

TEST(EnvoyParity, TemplateErrors) {
  const char* const cases[] = {
      // Empty or misplaced segments and verbs.
      "",
      "//",
      "/{}",
      "/a/",
      "/a//b",
      ":verb",
      "/:verb",
      "/a/:verb",
      ":",
      "/:",
      "/*:",
      "/**:",
      "/{var}:",
      "/a/b/:",
      "/a/b/*:",
      "/a/b/**:",
      "/a/b/{var}:",
      // Unterminated or malformed variables.
      "/a/{",
      "/a/{var",
      "/a/{var.",
      "/a/{x=var:verb}",
      "/{var=a/{nested=b}}",
      // Relative templates.
      "a",
      "{x}",
      "{x=/a}",
      "a/b",
      "a/b/{x}",
      "a/{x}/b",
      "a/{x}/b:verb",
      "/a/{var=/b}",
      // A variable glued to a literal.
      "/a{x}",
      "/{x}a",
      "/a{x}b",
      "/{x}a{y}",
      "/a/b{x}",
      "/a/{x}b",
      "/a/b{x}c",
      "/a/{x}b{y}",
      "/a/b{x}/s",
      "/a/{x}b/s",
      // After `**` only literals, and one `**` per template.
      "/a/**/*",
      "/a/**/foo/*",
      "/a/**/**",
      "/a/**/foo/**",
      "/a{x=b/**}/{y=*}",
      "/a/{x=b/**}/{y=**}",
      "/{x=**}/{y}",
  };
  for (const char* text : cases) {
    EXPECT_EQ(Shape(text), "ERROR") << text;
  }
}

// A route table over one service whose methods M0, M1, ... carry the given
// GET templates; requests bind string fields x and y.
class LookupTable {
 public:
  explicit LookupTable(const std::vector<std::string>& templates,
                       const std::string& http_method = "GET") {
    google::protobuf::FileDescriptorProto file;
    file.set_name("parity.proto");
    file.set_package("parity");
    file.set_syntax("proto3");
    auto* req = file.add_message_type();
    req->set_name("Req");
    for (const char* name : {"x", "y"}) {
      auto* f = req->add_field();
      f->set_name(name);
      f->set_number(req->field_size());
      f->set_type(google::protobuf::FieldDescriptorProto::TYPE_STRING);
      f->set_label(google::protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
    }
    auto* service = file.add_service();
    service->set_name("S");
    for (size_t i = 0; i < templates.size(); ++i) {
      auto* m = service->add_method();
      m->set_name(absl::StrCat("M", i));
      m->set_input_type(".parity.Req");
      m->set_output_type(".parity.Req");
      google::api::HttpRule* rule =
          m->mutable_options()->MutableExtension(google::api::http);
      if (http_method == "GET") {
        rule->set_get(templates[i]);
      } else {
        rule->mutable_custom()->set_kind(http_method);
        rule->mutable_custom()->set_path(templates[i]);
      }
    }
    pool_.BuildFile(file);
    auto table = RouteTable::Build(pool_, {"parity.S"}, false);
    status_ = table.status();
    if (table.ok()) table_ = *std::move(table);
  }

  const absl::Status& status() const { return status_; }

  // "M<i> x=..;y=.." or "none".
  std::string Lookup(
      absl::string_view path,
      UrlUnescapeSpec spec = UrlUnescapeSpec::kAllCharactersExceptReserved) {
    GatewayConfig config;
    config.url_unescape_spec = spec;
    auto match = table_->Find("GET", path, config, nullptr);
    if (!match) return "none";
    std::vector<std::string> bindings;
    for (const auto& b : match->bindings) {
      bindings.push_back(
          absl::StrCat(absl::StrJoin(b.field_path, "."), "=", b.value));
    }
    return absl::StrCat(match->route->method->name(),
                        bindings.empty() ? "" : " ",
                        absl::StrJoin(bindings, ";"));
  }

 private:
  google::protobuf::DescriptorPool pool_;
  absl::Status status_;
  std::unique_ptr<RouteTable> table_;
};

struct Probe {
  const char* path;
  const char* expected;
};

void ExpectLookups(const std::vector<std::string>& templates,
                   const std::vector<Probe>& probes) {
  LookupTable table(templates);
  ASSERT_TRUE(table.status().ok()) << table.status();
  for (const Probe& p : probes) {
    EXPECT_EQ(table.Lookup(p.path), p.expected) << p.path;
  }
}

TEST(EnvoyParity, WildcardsAndPrecedence) {
  ExpectLookups({"/**"}, {{"/", "M0"}, {"/a", "M0"}, {"/a/", "M0"}});
  ExpectLookups({"/a/**", "/b/*", "/c/*/d/**", "/c/*/d/e", "/c/f/d/e"},
                {{"/a/b", "M0"},
                 {"/a/b/c", "M0"},
                 {"/b/c", "M1"},
                 {"b/c/d", "none"},
                 {"/c/u/d/v", "M2"},
                 {"/c/v/d/w/x", "M2"},
                 {"/c/x/y/d/z", "none"},
                 {"/c//v/d/w/x", "none"},
                 // The more specific template wins over `**` and over `*`.
                 {"/c/x/d/e", "M3"},
                 {"/c/f/d/e", "M4"}});
}

TEST(EnvoyParity, VariableBindings) {
  ExpectLookups({"/a/{x}/c/d/e", "/{x=a/*}/b/{y=*}/c", "/a/{x=b/*}/{y=d/**}",
                 "/alpha/{x=*}/beta/{y=**}/gamma", "/{x=*}/a", "/{x=**}/a/b",
                 "/a/b/{x=*}", "/a/b/c/{x=**}", "/{x=*}/d/e/f/{y=**}"},
                {{"/a/book/c/d/e", "M0 x=book"},
                 {"/a/hello/b/world/c", "M1 x=a/hello;y=world"},
                 {"/a/b/zoo/d/animal/tiger", "M2 x=b/zoo;y=d/animal/tiger"},
                 {"/alpha/dog/beta/eat/bones/gamma", "M3 x=dog;y=eat/bones"},
                 {"/foo/a", "M4 x=foo"},
                 {"/foo/bar/a/b", "M5 x=foo/bar"},
                 {"/a/b/foo", "M6 x=foo"},
                 {"/a/b/c/foo/bar/baz", "M7 x=foo/bar/baz"},
                 {"/foo/d/e/f/bar/baz", "M8 x=foo;y=bar/baz"}});
}

TEST(EnvoyParity, LiteralSuffixesAfterDoubleWildcard) {
  ExpectLookups(
      {"/a/{x=b/**}", "/a/{x=b/**}/z", "/a/{x=b/**}/y/z", "/a/{x=b/**}:verb",
       "/a/{x=**}", "/c/{x=*}/{y=d/**}/e", "/c/{x=*}/{y=d/**}/e:verb",
       "/f/{x=*}/{y=**}/g", "/f/{x=*}/{y=**}/g:verb", "/a/{x=b/*/y/z/**}/foo",
       "/a/{x=b/*/**/y/z}/foo", "/k/**/x"},
      {{"/a/b/hello/world/c", "M0 x=b/hello/world/c"},
       {"/a/b/world/c/z", "M1 x=b/world/c"},
       {"/a/b/world/c/y/z", "M2 x=b/world/c"},
       {"/a/b/world/c:verb", "M3 x=b/world/c"},
       {"/a/hello/b/world/c", "M4 x=hello/b/world/c"},
       {"/c/hello/d/esp/world/e", "M5 x=hello;y=d/esp/world"},
       {"/c/hola/d/esp/mundo/e:verb", "M6 x=hola;y=d/esp/mundo"},
       {"/f/foo/bar/baz/g", "M7 x=foo;y=bar/baz"},
       {"/f/foo/bar/baz/g:verb", "M8 x=foo;y=bar/baz"},
       {"/a/b/foo/y/z/bar/baz/foo", "M9 x=b/foo/y/z/bar/baz"},
       {"/a/b/foo/bar/baz/y/z/foo", "M10 x=b/foo/bar/baz/y/z"},
       {"/k/x", "M11"},
       {"/k/p/q/x", "M11"},
       {"/k/p/q/y", "none"}});
}

TEST(EnvoyParity, CustomVerbs) {
  ExpectLookups({"/some/const:verb", "/some/*:verb", "/some/*/foo:verb",
                 "/other/**:verb", "/other/**/const:verb"},
                {{"/some/const:verb", "M0"},
                 {"/some/other:verb", "M1"},
                 {"/some/other:verb/", "none"},
                 {"/some/bar/foo:verb", "M2"},
                 {"/some/foo1/foo2/foo:verb", "none"},
                 {"/some/foo/bar:verb", "none"},
                 {"/other/bar/foo:verb", "M3"},
                 {"/other/bar/foo/const:verb", "M4"}});
  ExpectLookups({"/*/*:verb"}, {{"/some:verb/const:verb", "M0"}});
  // A colon before the last slash is part of a segment.
  ExpectLookups({"/foo/*/hello"}, {{"/foo/other:verb/hello", "M0"}});
}

TEST(EnvoyParity, PartialAndOverspecifiedPaths) {
  ExpectLookups({"/prefix/middle/suffix", "/prefix/middle", "/prefix"},
                {{"/prefix/middle/suffix", "M0"},
                 {"/prefix/middle", "M1"},
                 {"/prefix", "M2"},
                 {"/prefix/middle/suffix/other", "none"},
                 {"/prefix/middle/other", "none"},
                 {"/prefix/other", "none"},
                 {"/other", "none"}});
  ExpectLookups({"/a/b/c", "/a/b"}, {{"/a/b/c/d", "none"}});
  ExpectLookups({"/a/b/c/d"}, {{"/a/b/c", "none"}});
}

struct DecodeCase {
  const char* tmpl;
  UrlUnescapeSpec spec;
  const char* path;
  const char* expected;
};

TEST(EnvoyParity, PercentDecoding) {
  using U = UrlUnescapeSpec;
  const DecodeCase cases[] = {
      // Single-segment variables are always fully decoded, whatever the spec.
      {"/a/{x}/c", U::kAllCharactersExceptReserved, "/a/p%20q%2Fr+/c",
       "M0 x=p q/r+"},
      {"/a/{x}/c", U::kAllCharactersExceptSlash, "/a/p%20q%2Fr/c",
       "M0 x=p q/r"},
      {"/a/{x=*}/c", U::kAllCharacters, "/a/%3A%40%2f/c", "M0 x=:@/"},
      // Multi-segment variables follow the spec.
      {"/a/{x=p/*/q/*}/c", U::kAllCharactersExceptSlash,
       "/a/p/foo%20foo/q/bar%2Fbar/c", "M0 x=p/foo foo/q/bar%2Fbar"},
      {"/a/{x=**}/c", U::kAllCharactersExceptSlash,
       "/a/p/foo%20foo/q/bar%2Fbar/c", "M0 x=p/foo foo/q/bar%2Fbar"},
      {"/a/{x=**}/c", U::kAllCharactersExceptReserved,
       "/a/%21%23%24%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D/c",
       "M0 x=%21%23%24%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D"},
      {"/a/{x=**}/c", U::kAllCharactersExceptReserved, "/a/%7E%41/c",
       "M0 x=~A"},
      {"/a/{x=**}/c", U::kAllCharacters, "/a/b%2Fc%3A/c", "M0 x=b/c:"},
      // Literals compare after decoding.
      {"/a/{x}/c", U::kAllCharactersExceptReserved, "/%61/z/c", "M0 x=z"},
  };
  for (const DecodeCase& c : cases) {
    LookupTable table({c.tmpl});
    ASSERT_TRUE(table.status().ok()) << table.status();
    EXPECT_EQ(table.Lookup(c.path, c.spec), c.expected)
        << c.tmpl << " " << c.path;
  }
}

TEST(EnvoyParity, EveryAsciiByteDecodesInASingleSegment) {
  LookupTable table({"/{x}"});
  ASSERT_TRUE(table.status().ok());
  for (int c = 1; c < 0x7f; ++c) {
    for (const char* format : {"/%%%02X", "/%%%02x"}) {
      char path[8];
      std::snprintf(path, sizeof(path), format, c);
      EXPECT_EQ(table.Lookup(path), absl::StrCat("M0 x=", std::string(1, c)))
          << path;
    }
  }
}

TEST(EnvoyParity, DeepPathsDoNotRecurse) {
  // 64,000 segments: matching is a single pass over the path.
  std::string deep;
  for (int i = 0; i < 64000; ++i) deep += "/s";
  LookupTable table({"/a/**/x", "/{x=**}/end", "/t/{y=**}"});
  ASSERT_TRUE(table.status().ok());
  EXPECT_EQ(table.Lookup("/a" + deep + "/x"), "M0");
  std::string bound = table.Lookup(deep + "/end");
  EXPECT_EQ(bound.substr(0, 5), "M1 x=");
  EXPECT_EQ(bound.size(), 5 + deep.size() - 1);
  EXPECT_EQ(table.Lookup("/t" + deep).substr(0, 5), "M2 y=");
  EXPECT_EQ(table.Lookup("/b" + deep), "none");
}

TEST(EnvoyParity, DuplicateBindingsAreRefused) {
  LookupTable same({"/v1/a/{x}", "/v1/a/{y}"});
  EXPECT_FALSE(same.status().ok());
  EXPECT_THAT(std::string(same.status().message()),
              HasSubstr("duplicate binding GET /v1/a/{y}"));
  EXPECT_THAT(std::string(same.status().message()), HasSubstr("parity.S.M0"));
  EXPECT_THAT(std::string(same.status().message()), HasSubstr("parity.S.M1"));
  EXPECT_FALSE(LookupTable({"/foo/bar", "/foo/bar"}).status().ok());
  EXPECT_FALSE(LookupTable({"/x/**:v", "/x/{y=**}:v"}).status().ok());
  // Different shapes, verbs or methods are no duplicates.
  EXPECT_TRUE(LookupTable({"/v1/a/{x}", "/v1/a/b"}).status().ok());
  EXPECT_TRUE(LookupTable({"/v1/a/{x}", "/v1/a/{x}:go"}).status().ok());
  EXPECT_TRUE(LookupTable({"/v1/a/*", "/v1/a/**"}).status().ok());
}

}  // namespace
}  // namespace leadrelay::gateway
