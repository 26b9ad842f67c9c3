// Unit tests for relay/usage_recorder with an injected clock: intervals split exactly at hour
// boundaries, bytes counted in the hour they are seen in and once, tunnels counted in the hour
// they open, a moved presence counted once.
#include "relay/usage_recorder.hpp"

#include <gtest/gtest.h>

#include <map>

namespace hc::relay {
namespace {

constexpr std::int64_t H = 1796378400;  // 2026-12-04T10:00:00Z, an hour's start

class UsageRecorder : public ::testing::Test {
 protected:
  double now = H;
  usage_recorder recorder{[this] { return now; }};

  // drain() by hour for one hybrid connection.
  std::map<std::int64_t, store::usage_record> drained(const std::string& hc = "db") {
    std::map<std::int64_t, store::usage_record> out;
    for (auto& r : recorder.drain())
      if (r.hc_name == hc) out[r.hour] = r;
    return out;
  }
};

TEST_F(UsageRecorder, AListenerAcrossAnHourBoundaryIsSplitExactly) {
  now = H + 3000;
  auto present = recorder.listener("ns", "db");
  now = H + 3600 + 600;
  auto rows = drained();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_DOUBLE_EQ(rows[H].listener_seconds, 600);
  EXPECT_DOUBLE_EQ(rows[H + 3600].listener_seconds, 600);
  EXPECT_EQ(rows[H].namespace_name, "ns");
  now = H + 3600 + 900;  // still connected: the next drain has only what came since
  rows = drained();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_DOUBLE_EQ(rows[H + 3600].listener_seconds, 300);
  { auto gone = std::move(present); }
  now = H + 3600 + 1000;
  EXPECT_TRUE(drained().empty()) << "a listener that left still counts";
}

TEST_F(UsageRecorder, ATunnelCountsInTheHourItOpensAndItsBytesInTheHourTheyAreSeen) {
  auto bytes = std::make_shared<net::tunnel_counters>();
  now = H + 3500;
  auto present = recorder.tunnel("ns", "db", bytes);
  now = H + 3550;
  bytes->app_to_agent += 100;
  bytes->agent_to_app += 7;
  auto rows = drained();
  EXPECT_EQ(rows[H].tunnels, 1);
  EXPECT_DOUBLE_EQ(rows[H].tunnel_seconds, 50);
  EXPECT_EQ(rows[H].bytes_app_to_agent, 100);
  EXPECT_EQ(rows[H].bytes_agent_to_app, 7);

  bytes->app_to_agent += 50;
  now = H + 3700;
  { auto closed = std::move(present); }
  rows = drained();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[H].tunnels, 0) << "counted again after it opened";
  EXPECT_DOUBLE_EQ(rows[H].tunnel_seconds, 50);
  EXPECT_DOUBLE_EQ(rows[H + 3600].tunnel_seconds, 100);
  EXPECT_EQ(rows[H].bytes_app_to_agent, 0) << "bytes counted twice";
  EXPECT_EQ(rows[H + 3600].bytes_app_to_agent, 50);
  EXPECT_EQ(rows[H + 3600].bytes_agent_to_app, 0);
}

TEST_F(UsageRecorder, ATunnelLongerThanAnHourFillsTheHoursBetween) {
  now = H + 1800;
  auto present = recorder.tunnel("ns", "db", std::make_shared<net::tunnel_counters>());
  now = H + 3 * 3600 + 60;
  { auto closed = std::move(present); }
  auto rows = drained();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_DOUBLE_EQ(rows[H].tunnel_seconds, 1800);
  EXPECT_DOUBLE_EQ(rows[H + 3600].tunnel_seconds, 3600);
  EXPECT_DOUBLE_EQ(rows[H + 7200].tunnel_seconds, 3600);
  EXPECT_DOUBLE_EQ(rows[H + 10800].tunnel_seconds, 60);
}

TEST_F(UsageRecorder, HybridConnectionsAndNamespacesStayApart) {
  auto a = recorder.listener("ns", "db");
  auto b = recorder.listener("ns", "cache");
  auto c = recorder.listener("other", "db");
  now = H + 10;
  auto all = recorder.drain();
  ASSERT_EQ(all.size(), 3u);
  for (const auto& r : all) EXPECT_DOUBLE_EQ(r.listener_seconds, 10) << r.namespace_name << "/" << r.hc_name;
}

}  // namespace
}  // namespace hc::relay
