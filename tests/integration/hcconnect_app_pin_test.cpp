// tests/integration/hcconnect_app_pin_test: in App Service mode the relay does not decide alone
// which names hcconnect intercepts. The first run-service pins what the relay names (trust on
// first use, CONFIG_DIR/app-endpoints.json, 0600); later a hybrid connection added to the app, or
// an endpoint changed on the relay, is logged and shown in /healthz and /metrics but not used until
// `hcconnect app-accept`; a changed one keeps its pinned endpoint. A disconnect applies at once.
// `run-service --follow-endpoints` follows the relay as before. Against a real hcrelay.
#include "hcconnect_app_support.hpp"

namespace hc::test {
namespace {

class hcconnect_app_pin_test : public hcconnect_app_test {
 protected:
  fs::path pinned_file() const { return dir_.path() / "hcconnect" / "app-endpoints.json"; }

  child_process start_daemon(const std::string& key, std::vector<std::string> flags = {}) {
    std::vector<std::string> verb{"run-service"};
    verb.insert(verb.end(), flags.begin(), flags.end());
    return child_process(bin_path("hcconnect"), app_args(verb), dir_.path() / "hcconnect.log",
                         {{"HCCONNECT_APP_KEY", key}});
  }

  // Waits until the daemon logged `text`; true when it did within 15 s (several polls).
  static bool logs(child_process& daemon, const std::string& text) {
    return wait_until([&] { return daemon.log().find(text) != std::string::npos; }, 15s);
  }
  static std::size_t count(const std::string& log, const std::string& text) {
    std::size_t n = 0;
    for (auto at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
    return n;
  }
  // The daemon's /healthz answer (metrics on `port`).
  static std::string healthz(std::uint16_t port) {
    return round_trip("127.0.0.1", port,
                      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  }
};

std::string new_endpoint(const std::string& host, std::uint16_t port, const std::string& name) {
  return "the relay names a new endpoint " + host + ":" + std::to_string(port) + " for localhost/" + name;
}
// What open_listener logs for a listener toward host:port.
bool listens_toward(const std::string& log, const std::string& name, const std::string& host,
                    std::uint16_t port) {
  std::regex line("endpoint localhost/" + name + ": 127\\.[0-9.]+:[0-9]+ -> " +
                  std::regex_replace(host, std::regex("\\."), "\\.") + ":" + std::to_string(port) + " ");
  return std::regex_search(log, line);
}

TEST_F(hcconnect_app_pin_test, a_hybrid_connection_added_on_the_relay_waits_for_app_accept) {
  auto key = make_app();
  auto port = pick_free_port();
  auto listen = create_in_app("orders", "orders.corp.internal", port);
  auto metrics_port = pick_free_port();
  auto daemon = start_daemon(key, {"--metrics-port", std::to_string(metrics_port)});
  auto address = logged_address(daemon, "orders", port);
  ASSERT_FALSE(address.empty()) << daemon.log();
  EXPECT_NE(daemon.log().find("trust on first use"), std::string::npos) << daemon.log();
  ASSERT_TRUE(wait_until([&] { return fs::exists(pinned_file()); }, 10s)) << daemon.log();
  EXPECT_EQ(fs::status(pinned_file()).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  // Someone with a Manage key adds a hybrid connection to the app: named, not intercepted.
  auto port2 = pick_free_port();
  create_in_app("billing", "billing.corp.internal", port2);
  ASSERT_TRUE(logs(daemon, new_endpoint("billing.corp.internal", port2, "billing"))) << daemon.log();
  EXPECT_NE(daemon.log().find(" app-accept\""), std::string::npos) << daemon.log();
  EXPECT_EQ(daemon.log().find("endpoint localhost/billing: 127."), std::string::npos) << daemon.log();
  EXPECT_EQ(status_answer(), address + ":" + std::to_string(port) + "\n");
  auto health = healthz(metrics_port);
  EXPECT_NE(health.find(new_endpoint("billing.corp.internal", port2, "billing")), std::string::npos)
      << health;
  auto metrics = round_trip("127.0.0.1", metrics_port,
                            "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_NE(metrics.find("hcconnect_app_endpoint_changes_pending 1"), std::string::npos) << metrics;

  // The operator accepts: the running daemon picks the pinned file up on its next poll.
  auto accepted = hcconnect_once(key, {"app-accept"});
  ASSERT_EQ(accepted.exit_code, 0) << accepted.output;
  EXPECT_NE(accepted.output.find("localhost/billing"), std::string::npos) << accepted.output;
  auto address2 = logged_address(daemon, "billing", port2);
  ASSERT_FALSE(address2.empty()) << daemon.log();
  EXPECT_TRUE(wait_until([&] { return port_bound(address2, port2); }, 10s)) << daemon.log();
  EXPECT_TRUE(port_bound(address, port));
  EXPECT_EQ(count(daemon.log(), new_endpoint("billing.corp.internal", port2, "billing")), 1u)
      << "one line per distinct change, not one per poll\n"
      << daemon.log();
  EXPECT_EQ(daemon.log().find(key), std::string::npos) << "the app key must never be logged";
  EXPECT_EQ(read_text_file(pinned_file()).find(key), std::string::npos) << "the pinned file holds no key";
}

TEST_F(hcconnect_app_pin_test, an_endpoint_changed_on_the_relay_keeps_the_pinned_one_until_accepted) {
  auto key = make_app();
  auto port = pick_free_port();
  auto listen = create_in_app("orders", "orders.corp.internal", port);
  test_listener agent(listen, relay_->tls(), "", 0);
  auto daemon = start_daemon(key);
  auto address = logged_address(daemon, "orders", port);
  ASSERT_FALSE(address.empty()) << daemon.log();
  ASSERT_TRUE(wait_until([&] { return port_bound(address, port); }, 10s)) << daemon.log();

  change_endpoint("orders", "login.example.com:" + std::to_string(port));
  ASSERT_TRUE(logs(daemon, new_endpoint("login.example.com", port, "orders"))) << daemon.log();
  EXPECT_NE(daemon.log().find("orders.corp.internal:" + std::to_string(port)), std::string::npos);
  EXPECT_FALSE(listens_toward(daemon.log(), "orders", "login.example.com", port)) << daemon.log();
  EXPECT_TRUE(port_bound(address, port)) << "the pinned endpoint keeps running\n" << daemon.log();
  EXPECT_EQ(round_trip(address, port, "still pinned"), "still pinned") << daemon.log();

  // Another change later proves more polls went by: the first is still logged once.
  auto port2 = pick_free_port();
  create_in_app("billing", "billing.corp.internal", port2);
  ASSERT_TRUE(logs(daemon, new_endpoint("billing.corp.internal", port2, "billing"))) << daemon.log();
  EXPECT_EQ(count(daemon.log(), new_endpoint("login.example.com", port, "orders")), 1u) << daemon.log();

  auto accepted = hcconnect_once(key, {"app-accept"});
  ASSERT_EQ(accepted.exit_code, 0) << accepted.output;
  EXPECT_NE(accepted.output.find("login.example.com:" + std::to_string(port)), std::string::npos)
      << accepted.output;
  EXPECT_TRUE(
      wait_until([&] { return listens_toward(daemon.log(), "orders", "login.example.com", port); }, 15s))
      << daemon.log();
}

TEST_F(hcconnect_app_pin_test, follow_endpoints_applies_new_and_changed_endpoints) {
  auto key = make_app();
  auto port = pick_free_port();
  create_in_app("orders", "orders.corp.internal", port);
  auto daemon = start_daemon(key, {"--follow-endpoints"});
  ASSERT_FALSE(logged_address(daemon, "orders", port).empty()) << daemon.log();

  auto port2 = pick_free_port();
  create_in_app("billing", "billing.corp.internal", port2);
  change_endpoint("orders", "orders2.corp.internal:" + std::to_string(port));
  auto address2 = logged_address(daemon, "billing", port2);
  ASSERT_FALSE(address2.empty()) << daemon.log();
  EXPECT_TRUE(wait_until([&] { return port_bound(address2, port2); }, 10s)) << daemon.log();
  EXPECT_TRUE(
      wait_until([&] { return listens_toward(daemon.log(), "orders", "orders2.corp.internal", port); }, 15s))
      << daemon.log();
  auto followed = "localhost/orders: endpoint orders2.corp.internal:" + std::to_string(port) +
                  " (was orders.corp.internal:" + std::to_string(port) +
                  "), following the relay (--follow-endpoints)";
  EXPECT_NE(daemon.log().find(followed), std::string::npos) << "each change is logged\n" << daemon.log();
  EXPECT_EQ(daemon.log().find("not used until accepted"), std::string::npos) << daemon.log();
}

TEST_F(hcconnect_app_pin_test, a_disconnect_applies_at_once_while_a_change_waits) {
  auto key = make_app();
  auto port = pick_free_port(), port2 = pick_free_port();
  create_in_app("orders", "orders.corp.internal", port);
  create_in_app("billing", "billing.corp.internal", port2);
  auto daemon = start_daemon(key);
  auto address = logged_address(daemon, "orders", port);
  auto address2 = logged_address(daemon, "billing", port2);
  ASSERT_FALSE(address.empty() || address2.empty()) << daemon.log();
  ASSERT_TRUE(wait_until([&] { return port_bound(address, port) && port_bound(address2, port2); }, 10s));

  change_endpoint("billing", "db2.corp:" + std::to_string(port2));
  disconnect("orders");
  EXPECT_TRUE(wait_until([&] { return !port_bound(address, port); }, 10s)) << daemon.log();
  ASSERT_TRUE(logs(daemon, new_endpoint("db2.corp", port2, "billing"))) << daemon.log();
  EXPECT_TRUE(port_bound(address2, port2)) << "billing keeps its pinned endpoint\n" << daemon.log();
  EXPECT_FALSE(listens_toward(daemon.log(), "billing", "db2.corp", port2)) << daemon.log();
  EXPECT_TRUE(daemon.running()) << daemon.log();
}

}  // namespace
}  // namespace hc::test
