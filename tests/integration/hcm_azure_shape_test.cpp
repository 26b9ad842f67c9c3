// tests/integration/hcm_azure_shape_test: hcm against a relay shaped the way Azure Relay is: the
// namespace at ns.servicebus.fake.test, every accept address on a gateway host beside it
// (g1.servicebus.fake.test, the relay's port), both names known only to a private hosts file.
// hcm must take the gateway's accepts (the parent-domain rule that admits every sovereign
// cloud's gateways), and a tunnel left idle for several keep-alive intervals (Azure's balancers
// cut silent legs after about 4 minutes) must still carry bytes afterwards.
#include "hcm_support.hpp"

#include <boost/asio/steady_timer.hpp>

namespace hc::test {
namespace {
using namespace hcm;

TEST(hcm_azure_shape, AGatewayBesideTheNamespaceCarriesATunnelThatOutlivesItsIdleIntervals) {
  test_dir dir;
  const std::string ns_host = "ns.servicebus.fake.test", gateway = "g1.servicebus.fake.test";
  private_hosts hosts(dir.path(), {ns_host, gateway});
  auto port = std::to_string(free_port());
  relay_process relay(dir.path(), {"--listen", "127.0.0.1:" + port, "--public-host", ns_host, "--advertise",
                                   gateway + ":" + port});
  tcp_echo_server endpoint;
  auto hc = create_with_hcctl(relay, "", "gw", endpoint.port());
  hcm_instance h(dir.path() / "hcm", relay.ca_file(), {{"HCM_REFRESH_SECONDS", "1"}});
  auto added = h.cli("add " + quote(hc.listen));
  ASSERT_EQ(added.rc, 0) << added.output;
  h.start({"--tunnel-keepalive", "1"});
  ASSERT_TRUE(h.wait_status("ns", "gw", "Connected")) << h.log();

  sender_forwarder app(hc.send, relay.tls());
  run_bounded(
      [&]() -> task<> {
        auto c = co_await net::connect_tcp("127.0.0.1", app.port());
        require(!c.first, "connect to the app side: " + c.first.message());
        const std::string before = "before the silence\n", after = "after the silence\n";  // net/types.hpp
        co_await expect_echo(c.second, before);
        asio::steady_timer quiet(co_await asio::this_coro::executor, 3500ms);  // 3 intervals and more
        co_await quiet.async_wait(asio::use_awaitable);
        co_await expect_echo(c.second, after);
      },
      20s);
  EXPECT_EQ(app.failed(), 0);
  EXPECT_EQ(endpoint.accepted(), 1) << "one tunnel carried both lines";
  EXPECT_NE(h.log().find("TLS to " + gateway), std::string::npos) << "hcm dialed the gateway:\n" << h.log();
  EXPECT_EQ(h.log().find("refused"), std::string::npos) << h.log();
}

}  // namespace
}  // namespace hc::test
