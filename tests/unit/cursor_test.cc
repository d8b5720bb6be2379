// Event-log cursors: opaque, URL-safe, and strict on the way back in.
#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "common/status_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/events_repo.h"

namespace leadrelay::store {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

TEST(CursorTest, RoundTrips) {
  for (int64_t seq : {int64_t{0}, int64_t{1}, int64_t{42}, int64_t{1} << 40,
                      std::numeric_limits<int64_t>::max()}) {
    std::string cursor = EncodeCursor({seq});
    auto decoded = DecodeCursor(cursor);
    ASSERT_TRUE(decoded.ok()) << seq << ": " << decoded.status();
    EXPECT_EQ(decoded->seq, seq);
  }
}

TEST(CursorTest, IsUrlSafeAndOpaque) {
  for (int64_t seq : {int64_t{0}, int64_t{99}, int64_t{123456789012}}) {
    std::string cursor = EncodeCursor({seq});
    EXPECT_THAT(cursor, MatchesRegex("[A-Za-z0-9_-]+")) << cursor;
    EXPECT_EQ(cursor.find(std::to_string(seq)), std::string::npos) << cursor;
  }
  EXPECT_NE(EncodeCursor({1}), EncodeCursor({2}));
}

TEST(CursorTest, GarbageIsInvalidArgument) {
  for (const std::string& bad : {
           std::string(""),
           std::string("not a cursor"),
           std::string("12345"),
           std::string("!!!!"),
           absl::WebSafeBase64Escape("x1:5"),
           absl::WebSafeBase64Escape("e1:"),
           absl::WebSafeBase64Escape("e1:abc"),
           absl::WebSafeBase64Escape("e1:-1"),
           absl::WebSafeBase64Escape("e1:99999999999999999999"),
           absl::WebSafeBase64Escape("e2:5"),
       }) {
    absl::Status s = DecodeCursor(bad).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(ReasonOf(s), "invalid_request") << bad;
    EXPECT_THAT(s.message(), HasSubstr("cursor")) << bad;
  }
}

}  // namespace
}  // namespace leadrelay::store
