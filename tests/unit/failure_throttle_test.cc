// The per-address throttle of failed authentications.
#include "auth/failure_throttle.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace leadrelay::auth {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

FailureThrottleOptions Options(int max, size_t max_addresses = 100) {
  FailureThrottleOptions o;
  o.max_failures = max;
  o.window = absl::Seconds(60);
  o.max_addresses = max_addresses;
  return o;
}

TEST(FailureThrottleTest, BlocksAfterMaxFailuresUntilTheWindowEnds) {
  FailureThrottle t(Options(3));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(t.Blocked("1.2.3.4", kT0), absl::ZeroDuration()) << i;
    t.RecordFailure("1.2.3.4", kT0 + absl::Seconds(i));
  }
  EXPECT_EQ(t.Blocked("1.2.3.4", kT0 + absl::Seconds(10)), absl::Seconds(50));
  EXPECT_EQ(t.Blocked("5.6.7.8", kT0 + absl::Seconds(10)), absl::ZeroDuration())
      << "other addresses are not affected";
  EXPECT_EQ(t.Blocked("1.2.3.4", kT0 + absl::Seconds(60)),
            absl::ZeroDuration());
  // A new window starts from nothing.
  t.RecordFailure("1.2.3.4", kT0 + absl::Seconds(61));
  EXPECT_EQ(t.Blocked("1.2.3.4", kT0 + absl::Seconds(62)),
            absl::ZeroDuration());
}

TEST(FailureThrottleTest, FailuresInAnOldWindowDoNotCount) {
  FailureThrottle t(Options(2));
  t.RecordFailure("a", kT0);
  t.RecordFailure("a", kT0 + absl::Seconds(61));
  EXPECT_EQ(t.Blocked("a", kT0 + absl::Seconds(62)), absl::ZeroDuration());
}

TEST(FailureThrottleTest, ZeroTurnsItOff) {
  FailureThrottle t(Options(0));
  for (int i = 0; i < 100; ++i) t.RecordFailure("a", kT0);
  EXPECT_EQ(t.Blocked("a", kT0), absl::ZeroDuration());
}

TEST(FailureThrottleTest, MemoryIsBoundedByAddresses) {
  FailureThrottle t(Options(1, 10));
  for (int i = 0; i < 1000; ++i) {
    t.RecordFailure("addr" + std::to_string(i), kT0);
  }
  // The newest address is still tracked; the oldest were let go.
  EXPECT_GT(t.Blocked("addr999", kT0), absl::ZeroDuration());
  EXPECT_EQ(t.Blocked("addr0", kT0), absl::ZeroDuration());
}

TEST(AddressOfPeerTest, DropsThePort) {
  EXPECT_EQ(AddressOfPeer("ipv4:127.0.0.1:54321"), "127.0.0.1");
  EXPECT_EQ(AddressOfPeer("ipv6:[::1]:54321"), "::1");
  EXPECT_EQ(AddressOfPeer("ipv6:%5B2001:db8::1%5D:443"), "2001:db8::1");
  EXPECT_EQ(AddressOfPeer("unix:/tmp/sock"), "unix:/tmp/sock");
  EXPECT_EQ(AddressOfPeer(""), "");
}

}  // namespace
}  // namespace leadrelay::auth
