// tests/unit/manager_tunnel_test: hcm dials only its own relay: an accept
// message names the address to dial back to, and foreign_accept_address allows only the
// connection string's host (any port: the nodes of a cluster behind one name) and hosts beside it
// under its parent domain on its port (Azure's gateways, a cluster's named nodes).
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

TEST(ManagerTunnel, AcceptOnAnotherPortOfTheRelayHostIsDialed) {
  // A cluster on one name: each node's accept addresses carry its own port.
  auto cs = relay_at("relay.example", 8443);
  EXPECT_EQ(foreign_accept_address(cs, "wss://relay.example:9443/$hc/db"), "");
  EXPECT_EQ(foreign_accept_address(cs, "wss://relay.example/$hc/db"), "");
  EXPECT_EQ(foreign_accept_address(relay_at("127.0.0.1", 8443), "wss://127.0.0.1:9443/$hc/db"), "");
}

TEST(ManagerTunnel, HostsBesideTheRelayAreDialedOnItsPortOnly) {
  auto cs = relay_at("ns.relay.example", 443);
  EXPECT_EQ(foreign_accept_address(cs, "wss://node-2.relay.example:443/$hc/db"), "");
  EXPECT_EQ(foreign_accept_address(cs, "wss://NODE-2.Relay.Example/$hc/db"), "");
  auto why = foreign_accept_address(cs, "wss://node-2.relay.example:8443/$hc/db");
  EXPECT_NE(why.find("node-2.relay.example"), std::string::npos) << why;
  EXPECT_NE(why.find("relay.example on port 443"), std::string::npos) << why;
  EXPECT_NE(foreign_accept_address(cs, "wss://xrelay.example/$hc/db"), "");
  EXPECT_NE(foreign_accept_address(cs, "wss://relay.example.attacker.test/$hc/db"), "");
  EXPECT_NE(foreign_accept_address(cs, "wss://example/$hc/db"), "");
  // Two labels: the parent would be a public suffix, so nothing is beside it.
  EXPECT_NE(foreign_accept_address(relay_at("relay.example", 443), "wss://other.example/$hc/db"), "");
  // IP literals have no siblings.
  EXPECT_NE(foreign_accept_address(relay_at("10.0.0.1", 443), "wss://10.0.0.2/$hc/db"), "");
  EXPECT_NE(foreign_accept_address(relay_at("10.0.0.1", 443), "wss://0.0.1/$hc/db"), "");
}

TEST(ManagerTunnel, AcceptThatIsNotAWebSocketUrlIsRefused) {
  auto cs = relay_at("relay.example", 443);
  EXPECT_NE(foreign_accept_address(cs, "http://relay.example/$hc/db"), "");
  EXPECT_NE(foreign_accept_address(cs, "not a url"), "");
  EXPECT_NE(foreign_accept_address(cs, ""), "");
}

TEST(ManagerTunnel, AzureGatewaysOfEveryCloudAreAllowedOn443) {
  auto cs = relay_at("contoso.servicebus.windows.net", 443);
  EXPECT_EQ(
      foreign_accept_address(
          cs, "wss://g63-prod-am3-001-sb.servicebus.windows.net:443/$hc/db?sb-hc-action=accept&sb-hc-id=x"),
      "");
  EXPECT_NE(foreign_accept_address(cs, "wss://g63-prod-am3-001-sb.servicebus.windows.net:8443/$hc/db"), "");
  EXPECT_NE(foreign_accept_address(cs, "wss://servicebus.windows.net.evil.test/$hc/db"), "");
  EXPECT_EQ(foreign_accept_address(relay_at("contoso.servicebus.chinacloudapi.cn", 443),
                                   "wss://g1-prod-sha-001-sb.servicebus.chinacloudapi.cn/$hc/db"),
            "");
  EXPECT_EQ(foreign_accept_address(relay_at("contoso.servicebus.usgovcloudapi.net", 443),
                                   "wss://g2-prod-bn1-001-sb.servicebus.usgovcloudapi.net/$hc/db"),
            "");
  // A relay elsewhere gets no allowance for Azure's hosts.
  EXPECT_NE(
      foreign_accept_address(relay_at("relay.example", 443), "wss://g1-prod-x-sb.servicebus.windows.net/"),
      "");
}

}  // namespace
}  // namespace hc::manager
