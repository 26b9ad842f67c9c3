// tests/integration/relay_admin_listen_test: hcrelay --admin-listen ADDR:PORT serves the management
// API, the portal and /metrics on that address (loopback here, as an operator would put it) and
// no longer on the public one, which keeps tunnels, relayed requests, the runtime-info GET and
// /healthz (load balancers check it there); the admin address refuses gestures and relayed
// requests, each refusal a 404 with a sentence naming the address that serves it.
#include "harness.hpp"

#include <regex>

namespace hc::test {
namespace {

class RelayAdminListen : public ::testing::Test {
 protected:
  RelayAdminListen() : relay_(dir_.path(), {"--admin-listen", "127.0.0.1:0"}) {
    const std::regex said(R"(admin address \([^)]*\): https://127\.0\.0\.1:(\d+))");
    wait_until([&] { return std::regex_search(relay_.process().log(), said); }, 10s);
    std::smatch m;
    auto log = relay_.process().log();
    if (std::regex_search(log, m, said)) admin_port_ = std::uint16_t(std::stoi(m[1]));
  }
  // METHOD https://localhost:PORT{target} with the root token (the relay's CA trusted).
  task<net::http_response> call(std::uint16_t port, std::string method, std::string target,
                                std::string body = {}) {
    net::http_call c;
    c.method = std::move(method);
    c.url = "https://localhost:" + std::to_string(port) + target;
    c.headers = {{"Authorization", relay_.root_token()}};
    if (!body.empty()) c.headers.emplace_back("Content-Type", "application/json");
    c.body = std::move(body);
    c.tls = relay_.tls();
    c.timeout = 10s;
    auto r = co_await net::call_http(std::move(c));
    require(r.response.has_value(), target + ": " + r.error);
    co_return std::move(*r.response);
  }
  test_dir dir_;
  relay_process relay_;
  std::uint16_t admin_port_ = 0;
};

TEST_F(RelayAdminListen, ThePublicAddressKeepsTunnelsAndHealthAndSendsTheRestToTheAdminAddress) {
  ASSERT_NE(admin_port_, 0) << "no admin address in the log:\n" << relay_.process().log();
  run_bounded(
      [&]() -> task<> {
        const std::string hcs = "/$admin/api/v1/namespaces/localhost/hybridConnections/";
        auto created = co_await call(admin_port_, "PUT", hcs + "orders", R"({"endpoint":"localhost:9"})");
        require_eq(created.status, 201, "PUT on the admin address: " + created.body);

        for (std::string page : {hcs, std::string("/$admin/metrics"), std::string("/metrics"),
                                 std::string("/$admin/portal/"), std::string("/api/v1/namespaces")}) {
          auto on_public = co_await call(relay_.port(), "GET", page);
          EXPECT_EQ(on_public.status, 404) << page << " on the public address";
          EXPECT_NE(on_public.body.find("served on the relay's admin address (--admin-listen)"),
                    std::string::npos)
              << page << ": " << on_public.body;
        }
        for (std::string health : {"/healthz", "/$admin/healthz"}) {
          auto public_health = co_await call(relay_.port(), "GET", health);
          EXPECT_EQ(public_health.status, 200) << health << " on the public address: " << public_health.body;
          auto admin_health = co_await call(admin_port_, "GET", health);
          EXPECT_EQ(admin_health.status, 200) << health << " on the admin address";
        }

        auto listed = co_await call(admin_port_, "GET", hcs);
        EXPECT_EQ(listed.status, 200) << listed.body;
        EXPECT_NE(listed.body.find("orders"), std::string::npos) << listed.body;
        auto metrics = co_await call(admin_port_, "GET", "/$admin/metrics");
        EXPECT_EQ(metrics.status, 200);
        EXPECT_NE(metrics.body.find("hcrelay_"), std::string::npos);
        auto portal = co_await call(admin_port_, "GET", "/$admin/portal/");
        EXPECT_EQ(portal.status, 200) << portal.body.substr(0, 200);

        // The admin address takes no gesture and relays no request.
        auto gesture = co_await call(admin_port_, "GET", "/$hc/orders?sb-hc-action=listen");
        EXPECT_EQ(gesture.status, 404);
        EXPECT_NE(gesture.body.find("This is the relay's admin address (--admin-listen)"), std::string::npos)
            << gesture.body;
        auto relayed = co_await call(admin_port_, "GET", "/orders/some/page");
        EXPECT_EQ(relayed.status, 404) << relayed.body;
        EXPECT_NE(relayed.body.find("admin address"), std::string::npos) << relayed.body;

        // Tunnels and the runtime-info GET stay on the public address.
        auto control = co_await connect_listener(relay_, "orders", relay_.root_token());
        auto t = co_await open_tunnel(relay_, control, "orders", relay_.root_token());
        co_await send_frame(t.sender, opcode::text, true, "through the public address");
        auto got = co_await read_frame(t.listener, "listener leg");
        EXPECT_EQ(got.payload, "through the public address");
        net::http_call info;
        info.url = "https://localhost:" + std::to_string(relay_.port()) + "/orders?api-version=2016-07";
        info.headers = {{"Authorization", relay_.root_token()}, {"X-PROCESS-AT", "ServiceBus"}};
        info.tls = relay_.tls();
        info.timeout = 10s;
        auto answered = co_await net::call_http(std::move(info));
        require(answered.response.has_value(), "runtime info: " + answered.error);
        EXPECT_EQ(answered.response->status, 200) << answered.response->body;
      },
      60s);
}

// hcctl reaches the management API at the admin address with --admin-address (or
// $HCRELAY_ADMIN_ADDRESS); the connection string's endpoint, the public address, says where to go.
TEST_F(RelayAdminListen, HcctlManagesTheRelayThroughItsAdminAddress) {
  ASSERT_NE(admin_port_, 0) << relay_.process().log();
  auto root = read_text_file(relay_.data_dir() / "root.connection-string");
  root = root.substr(0, root.find('\n'));
  std::vector<std::string> common{"--connection-string", root, "--ca-file", relay_.ca_file().string()};
  auto hcctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), common.begin(), common.end());
    return run_program(dir_.path(), bin_path("hcctl"), args, 30s);
  };
  auto admin = "localhost:" + std::to_string(admin_port_);
  auto created = hcctl({"--admin-address", admin, "hc", "create", "orders", "--endpoint", "localhost:9"});
  EXPECT_EQ(created.exit_code, 0) << created.output;
  auto listed = hcctl({"--admin-address", admin, "hc", "list"});
  EXPECT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_NE(listed.output.find("orders"), std::string::npos) << listed.output;

  auto on_public = hcctl({"hc", "list"});
  EXPECT_NE(on_public.exit_code, 0) << on_public.output;
  EXPECT_NE(on_public.output.find("--admin-listen"), std::string::npos) << on_public.output;
}

}  // namespace
}  // namespace hc::test
