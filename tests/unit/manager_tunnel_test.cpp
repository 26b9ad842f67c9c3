// tests/unit/manager_tunnel_test: hcm dials only its own relay: an accept
// message names the address to dial back to, and foreign_accept_address refuses any host or
// port other than the connection string's (Azure gateways in the namespace's domain excepted).
// runner -> spawn_tunnel -> run_tunnel checks it before dialing anything (manager/tunnel.cpp).
#include "manager/tunnel.hpp"

#include <gtest/gtest.h>

namespace hc::manager {
namespace {

proto::connection_string relay_at(std::string host, std::uint16_t port) {
  proto::connection_string cs;
  cs.host = std::move(host);
  cs.port = port;
  cs.key_name = "defaultListener";
  cs.key = "k";
  cs.entity_path = "db";
  return cs;
}

TEST(ManagerTunnel, AcceptOnTheRelaysOwnHostAndPortIsDialed) {
  auto cs = relay_at("relay.example", 8443);
  EXPECT_EQ(foreign_accept_address(
                cs, "wss://relay.example:8443/$hc/db?sb-hc-action=accept&sb-hc-id=1&sb-hc-rendezvous=00"),
            "");
  EXPECT_EQ(foreign_accept_address(cs, "wss://RELAY.example:8443/$hc/db?sb-hc-action=accept"), "");
  EXPECT_EQ(foreign_accept_address(cs, "ws://relay.example:8443/$hc/db?sb-hc-action=accept"), "");
}

TEST(ManagerTunnel, AcceptNamingAnotherHostIsRefused) {
  auto cs = relay_at("relay.example", 443);
  auto why = foreign_accept_address(cs, "wss://169.254.169.254/$hc/db?sb-hc-action=accept");
  EXPECT_NE(why.find("169.254.169.254"), std::string::npos) << why;
  EXPECT_NE(foreign_accept_address(cs, "wss://relay.example.evil.test/$hc/db"), "");
  EXPECT_NE(foreign_accept_address(cs, "wss://evilrelay.example/$hc/db"), "");
  EXPECT_NE(foreign_accept_address(cs, "wss://localhost/$hc/db"), "");
}

TEST(ManagerTunnel, AcceptOnAnotherPortOfTheRelayHostIsRefused) {
  auto cs = relay_at("relay.example", 8443);
  EXPECT_NE(foreign_accept_address(cs, "wss://relay.example:22/$hc/db"), "");
  EXPECT_NE(foreign_accept_address(cs, "wss://relay.example/$hc/db"), "");
}

TEST(ManagerTunnel, AcceptThatIsNotAWebSocketUrlIsRefused) {
  auto cs = relay_at("relay.example", 443);
  EXPECT_NE(foreign_accept_address(cs, "http://relay.example/$hc/db"), "");
  EXPECT_NE(foreign_accept_address(cs, "not a url"), "");
  EXPECT_NE(foreign_accept_address(cs, ""), "");
}

TEST(ManagerTunnel, AzureGatewaysOfTheSameDomainAreAllowedOn443) {
  auto cs = relay_at("contoso.servicebus.windows.net", 443);
  EXPECT_EQ(
      foreign_accept_address(
          cs, "wss://g63-prod-am3-001-sb.servicebus.windows.net:443/$hc/db?sb-hc-action=accept&sb-hc-id=x"),
      "");
  EXPECT_NE(foreign_accept_address(cs, "wss://g63-prod-am3-001-sb.servicebus.windows.net:8443/$hc/db"), "");
  EXPECT_NE(foreign_accept_address(cs, "wss://servicebus.windows.net.evil.test/$hc/db"), "");
  // A non-Azure relay gets no such allowance.
  EXPECT_NE(
      foreign_accept_address(relay_at("relay.example", 443), "wss://g1-prod-x-sb.servicebus.windows.net/"),
      "");
}

}  // namespace
}  // namespace hc::manager
