// Unit tests for relay/source_limits: how sources are keyed (IPv4, IPv4-mapped, IPv6 per /64),
// the open-connection caps per source and in total at their boundaries, places given back when
// a slot goes, and the failed-authentication allowance with an injected clock.
#include "relay/source_limits.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace hc::relay {
namespace {
namespace ip = net::asio::ip;

TEST(RelaySourceLimits, KeysIpv6SourcesByTheirSlash64) {
  EXPECT_EQ(source_limits::key(ip::make_address("192.0.2.7")), "192.0.2.7");
  EXPECT_EQ(source_limits::key(ip::make_address("::ffff:192.0.2.7")), "192.0.2.7");
  EXPECT_EQ(source_limits::key(ip::make_address("2001:db8:1:2:aaaa:bbbb:cccc:dddd")), "2001:db8:1:2::/64");
  EXPECT_EQ(source_limits::key(ip::make_address("2001:db8:1:2::1")),
            source_limits::key(ip::make_address("2001:db8:1:2:ffff::9")));
  EXPECT_NE(source_limits::key(ip::make_address("2001:db8:1:2::1")),
            source_limits::key(ip::make_address("2001:db8:1:3::1")));
}

TEST(RelaySourceLimits, CapsOpenConnectionsPerSourceAtTheLimit) {
  source_limits limits;
  limits.set_caps(3, 100, net::limits::auth_failure_refill_per_second);
  auto a = ip::make_address("2001:db8::1");
  auto same_host = ip::make_address("2001:db8::2");  // the same /64
  std::vector<source_limits::slot> held;
  for (int i = 0; i < 3; ++i) {
    auto slot = limits.open_connection(i % 2 ? same_host : a);
    ASSERT_TRUE(slot) << "connection " << i + 1 << " of 3";
    held.push_back(std::move(slot));
  }
  EXPECT_FALSE(limits.open_connection(a)) << "the 4th from the same /64";
  EXPECT_TRUE(limits.open_connection(ip::make_address("2001:db8:0:1::1"))) << "another /64";
  held.pop_back();  // one goes: its place comes back
  EXPECT_TRUE(limits.open_connection(a));
  EXPECT_EQ(limits.open_connections(), 2u);
}

TEST(RelaySourceLimits, CapsOpenConnectionsInTotal) {
  source_limits limits;
  limits.set_caps(10, 2, net::limits::auth_failure_refill_per_second);
  auto first = limits.open_connection(ip::make_address("192.0.2.1"));
  auto second = limits.open_connection(ip::make_address("192.0.2.2"));
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(limits.open_connection(ip::make_address("192.0.2.3")));
  first.release();
  EXPECT_TRUE(limits.open_connection(ip::make_address("192.0.2.3")));
}

TEST(RelaySourceLimits, FailedAuthenticationAllowanceAndRefill) {
  source_limits limits;
  auto source = ip::make_address("192.0.2.9");
  auto t0 = source_limits::clock::now();
  for (int i = 0; i < 99; ++i) limits.record_failure(source, t0);
  EXPECT_EQ(limits.retry_after(source, t0).count(), 0) << "one failure left";
  limits.record_failure(source, t0);
  EXPECT_GT(limits.retry_after(source, t0).count(), 0) << "the 100th failure empties the allowance";
  // limits::auth_failure_refill_per_second (10): one failure back after 0.1 s.
  EXPECT_GT(limits.retry_after(source, t0 + std::chrono::milliseconds(50)).count(), 0);
  EXPECT_EQ(limits.retry_after(source, t0 + std::chrono::milliseconds(101)).count(), 0);
}

}  // namespace
}  // namespace hc::relay
