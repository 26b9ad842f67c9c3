// Unit tests for net/backoff: the agents' reconnect schedule 0, 1, 2, 5, 10, 30, 30 ... seconds and
// a schedule given by the caller (Redis's), each delay within its jitter (+0..20 %), and reset()
// starting it again at 0 (no hot reconnect loop).
#include "net/backoff.hpp"

#include "net/limits.hpp"

#include <gtest/gtest.h>

namespace hc::net {
namespace {
using std::chrono::milliseconds;

TEST(NetBackoff, FollowsTheScheduleWithBoundedJitter) {
  const long expected_s[] = {0, 1, 2, 5, 10, 30, 30, 30};
  for (int run = 0; run < 200; ++run) {  // jitter is random: many schedules, every bound each time
    backoff b;
    for (long base_s : expected_s) {
      auto d = b.next();
      EXPECT_GE(d, milliseconds(base_s * 1000)) << "step with base " << base_s << " s";
      EXPECT_LE(d, milliseconds(base_s * 1200)) << "step with base " << base_s << " s";
    }
  }
}

TEST(NetBackoff, FollowsAGivenScheduleAndRepeatsItsLastStep) {
  backoff b(limits::redis_reconnect_schedule);
  const long expected_ms[] = {0, 100, 250, 500, 1000, 2000, 2000, 2000};
  for (long base_ms : expected_ms) {
    auto d = b.next();
    EXPECT_GE(d, milliseconds(base_ms)) << "step with base " << base_ms << " ms";
    EXPECT_LE(d, milliseconds(base_ms * 6 / 5)) << "step with base " << base_ms << " ms";
  }
}

TEST(NetBackoff, ResetStartsAgainAtZero) {
  backoff b;
  for (int i = 0; i < 4; ++i) b.next();
  EXPECT_EQ(b.step(), 4u);
  b.reset();
  EXPECT_EQ(b.step(), 0u);
  EXPECT_EQ(b.next(), milliseconds(0));
  EXPECT_GE(b.next(), milliseconds(1000));
}

}  // namespace
}  // namespace hc::net
