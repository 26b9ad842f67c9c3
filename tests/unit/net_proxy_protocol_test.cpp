// Unit tests for net/proxy_protocol: PROXY v2 headers as HAProxy and AWS NLB send them, byte for
// byte (IPv4, IPv6, LOCAL health checks, TLVs after the addresses), and every header the relay must
// refuse with a sentence: v1 text, TLS without a header, another version or command, a datagram
// family, a length that does not match, and one over the size limit.
#include "net/proxy_protocol.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace hc::net {
namespace {

using bytes = std::vector<std::uint8_t>;

bytes header(std::uint8_t version_command, std::uint8_t family, const bytes& body) {
  bytes h = {0x0D,
             0x0A,
             0x0D,
             0x0A,
             0x00,
             0x0D,
             0x0A,
             0x51,
             0x55,
             0x49,
             0x54,
             0x0A,
             version_command,
             family,
             std::uint8_t(body.size() >> 8),
             std::uint8_t(body.size() & 0xFF)};
  h.insert(h.end(), body.begin(), body.end());
  return h;
}

const bytes ipv4_body = {203, 0, 113, 7, 10, 0, 0, 1, 0x10, 0x92, 0x01, 0xBB};  // 203.0.113.7:4242 -> :443

TEST(NetProxyProtocol, AnIpv4ProxyHeaderNamesTheClient) {
  auto r = parse_proxy_v2(header(0x21, 0x11, ipv4_body));
  ASSERT_TRUE(r.header) << r.error;
  ASSERT_TRUE(r.header->client);
  EXPECT_EQ(r.header->client->address().to_string(), "203.0.113.7");
  EXPECT_EQ(r.header->client->port(), 4242);
}

TEST(NetProxyProtocol, AnIpv6HeaderWithTlvsAfterTheAddressesNamesTheClient) {
  bytes body(16, 0);
  body[0] = 0x20, body[1] = 0x01, body[2] = 0x0d, body[3] = 0xb8, body[15] = 0x05;  // 2001:db8::5
  body.resize(32, 0);
  body.insert(body.end(), {0xC3, 0x50, 0x01, 0xBB});                     // port 50000 -> 443
  body.insert(body.end(), {0xEA, 0x00, 0x05, 'v', 'p', 'c', 'e', '1'});  // AWS's VPC endpoint TLV
  auto r = parse_proxy_v2(header(0x21, 0x21, body));
  ASSERT_TRUE(r.header) << r.error;
  ASSERT_TRUE(r.header->client);
  EXPECT_EQ(r.header->client->address().to_string(), "2001:db8::5");
  EXPECT_EQ(r.header->client->port(), 50000);
}

TEST(NetProxyProtocol, LocalAndAddresslessHeadersNameNoClient) {
  auto local = parse_proxy_v2(header(0x20, 0x00, {}));  // HAProxy's health check
  ASSERT_TRUE(local.header) << local.error;
  EXPECT_FALSE(local.header->client);
  auto local_with_addresses = parse_proxy_v2(header(0x20, 0x11, ipv4_body));  // LOCAL ignores them
  ASSERT_TRUE(local_with_addresses.header);
  EXPECT_FALSE(local_with_addresses.header->client);
  auto unspec = parse_proxy_v2(header(0x21, 0x00, {}));
  ASSERT_TRUE(unspec.header);
  EXPECT_FALSE(unspec.header->client);
}

TEST(NetProxyProtocol, WhatIsNotAUsableV2HeaderIsRefusedWithASentence) {
  auto refused = [](const bytes& h, const std::string& says) {
    auto r = parse_proxy_v2(h);
    EXPECT_FALSE(r.header) << says;
    EXPECT_NE(r.error.find(says), std::string::npos) << r.error;
  };
  std::string v1 = "PROXY TCP4 203.0.113.7 10.0.0.1 4242 443\r\n";
  refused(bytes(v1.begin(), v1.end()), "v1 (text)");
  bytes tls = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0, 0, 0, 0, 0};
  refused(tls, "started TLS without a PROXY protocol v2 header");
  refused(header(0x11, 0x11, ipv4_body), "version 1");
  refused(header(0x22, 0x11, ipv4_body), "command 2");
  refused(header(0x21, 0x12, ipv4_body), "datagram");
  refused(header(0x21, 0x11, bytes(ipv4_body.begin(), ipv4_body.begin() + 11)), "too short");
  auto cut = header(0x21, 0x11, ipv4_body);
  cut.pop_back();
  refused(cut, "does not match");
  refused(bytes(cut.begin(), cut.begin() + 10), "cut short");
  refused(header(0x21, 0x11, bytes(4096 + 1, 0)), "at most");
  EXPECT_TRUE(parse_proxy_v2(header(0x21, 0x11,
                                    [] {
                                      auto b = ipv4_body;
                                      b.resize(4096, 0);
                                      return b;
                                    }()))
                  .header)
      << "a header of exactly the limit is read";
}

}  // namespace
}  // namespace hc::net
