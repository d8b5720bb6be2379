#include "console/console_routes.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadrelay::console {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

TEST(ConsoleRoutesTest, RootServesIndexWithStrictHeaders) {
  ConsoleReply reply = ServeConsole("GET", "/console/");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, "text/html; charset=utf-8");
  EXPECT_THAT(reply.body, HasSubstr("<script type=\"module\" src=\"app.js\">"));
  EXPECT_THAT(reply.headers, Contains(Pair("X-Frame-Options", "DENY")));
  EXPECT_THAT(reply.headers,
              Contains(Pair("X-Content-Type-Options", "nosniff")));
  EXPECT_THAT(reply.headers,
              Contains(Pair("Content-Security-Policy",
                            std::string(ConsoleContentSecurityPolicy()))));
}

TEST(ConsoleRoutesTest, PolicyForbidsInlineScriptAndFraming) {
  std::string csp(ConsoleContentSecurityPolicy());
  EXPECT_THAT(csp, HasSubstr("default-src 'self'"));
  EXPECT_THAT(csp, HasSubstr("frame-ancestors 'none'"));
  EXPECT_THAT(csp, Not(HasSubstr("unsafe-inline")));
  EXPECT_THAT(csp, Not(HasSubstr("unsafe-eval")));
}

TEST(ConsoleRoutesTest, ScriptsAndStylesGetTheirTypes) {
  EXPECT_EQ(ServeConsole("GET", "/console/app.js").content_type,
            "text/javascript; charset=utf-8");
  EXPECT_EQ(ServeConsole("HEAD", "/console/console.css").content_type,
            "text/css; charset=utf-8");
}

TEST(ConsoleRoutesTest, UnknownOrEscapingPathsAreNotFound) {
  EXPECT_EQ(ServeConsole("GET", "/console/missing.js").status, 404);
  EXPECT_EQ(ServeConsole("GET", "/console/../main.cc").status, 404);
  EXPECT_EQ(ServeConsole("GET", "/console//app.js").status, 404);
  EXPECT_EQ(ServeConsole("GET", "/elsewhere/app.js").status, 404);
}

TEST(ConsoleRoutesTest, OnlyGetAndHead) {
  ConsoleReply reply = ServeConsole("POST", "/console/");
  EXPECT_EQ(reply.status, 405);
  EXPECT_THAT(reply.headers, Contains(Pair("Allow", "GET, HEAD")));
}

}  // namespace
}  // namespace leadrelay::console
