// tests/integration/hcconnect_app_test: hcconnect in App Service mode (`--relay --app
// --app-key`) against a real hcrelay: adding a hybrid connection to the app through the API
// makes a running `hcconnect run-service --follow-endpoints` open a listener for it and tunnel
// to an in-test listener (the hcm role) with the app's own credential -- no restart, no
// endpoints.json;
// Disconnect closes the listener; `run --` resolves the app's endpoint names for a command. The
// long-running run-service takes the app key from an owner-only file or HCCONNECT_APP_KEY, never
// from its command line (ps shows that to every user); its /proc/PID/cmdline holds no key.
#include "hcconnect_app_support.hpp"

namespace hc::test {
namespace {

TEST_F(hcconnect_app_test, run_service_follows_the_apps_hybrid_connections_without_a_restart) {
  auto key = make_app();
  child_process daemon(bin_path("hcconnect"), app_args({"run-service", "--follow-endpoints"}),
                       dir_.path() / "hcconnect.log", {{"HCCONNECT_APP_KEY", key}});
  ASSERT_TRUE(
      wait_until([&] { return daemon.log().find("0 hybrid connection(s)") != std::string::npos; }, 10s))
      << daemon.log();

  auto port = pick_free_port();
  auto listen = create_in_app("orders", "orders.corp.internal", port);
  test_listener agent(listen, relay_->tls(), "", 0);  // the hcm role: joins tunnels to its echo server
  auto address = logged_address(daemon, "orders", port);
  ASSERT_FALSE(address.empty()) << "hcconnect did not pick up the new hybrid connection; log:\n"
                                << daemon.log();
  ASSERT_TRUE(wait_until([&] { return port_bound(address, port); }, 10s)) << daemon.log();
  EXPECT_EQ(round_trip(address, port, "hello through the app credential"), "hello through the app credential")
      << daemon.log();
  EXPECT_EQ(agent.accepted(), 1);

  // A second one, added while the first is in use, gets its own listener too.
  auto port2 = pick_free_port();
  auto listen2 = create_in_app("billing", "billing.corp.internal", port2);
  auto address2 = logged_address(daemon, "billing", port2);
  ASSERT_FALSE(address2.empty()) << daemon.log();
  EXPECT_NE(address2, address) << "different hosts get different loopback addresses";

  // Disconnect in the portal closes the listener; the other stays.
  run([&]() -> task<> {
    co_await api_ok(*relay_, "DELETE", "/apps/web/hybridConnections/localhost/orders");
  });
  EXPECT_TRUE(wait_until([&] { return !port_bound(address, port); }, 10s)) << daemon.log();
  EXPECT_TRUE(port_bound(address2, port2));
  EXPECT_TRUE(daemon.running()) << daemon.log();
  EXPECT_EQ(daemon.log().find(key), std::string::npos) << "the app key must never be logged";
}

TEST_F(hcconnect_app_test, a_wrong_app_key_is_reported_and_the_daemon_keeps_asking) {
  make_app();
  child_process daemon(bin_path("hcconnect"), app_args({"run-service"}), dir_.path() / "hcconnect.log",
                       {{"HCCONNECT_APP_KEY", "not-the-key"}});
  EXPECT_TRUE(wait_until([&] { return daemon.log().find("refused (401)") != std::string::npos; }, 10s))
      << daemon.log();
  // It asks again (every 2 s), not once and never more: the relay counts each refused call.
  auto refused_calls = [&] {
    double count = -1;
    run_bounded(
        [&]() -> task<> {
          auto metrics = co_await https_get(*relay_, "/$admin/metrics");
          const std::string series = "hcrelay_auth_failures_total{gesture=\"management\",status=\"401\"} ";
          auto at = metrics.body.find(series);
          if (at != std::string::npos) count = std::stod(metrics.body.substr(at + series.size()));
        },
        10s);
    return count;
  };
  EXPECT_TRUE(wait_until([&] { return refused_calls() >= 3; }, 20s)) << refused_calls() << " refused calls\n"
                                                                     << daemon.log();
  EXPECT_TRUE(daemon.running()) << daemon.log();
}

TEST_F(hcconnect_app_test, run_resolves_the_apps_endpoint_names_for_the_command) {
  auto key = make_app();
  auto port = pick_free_port();
  auto listen = create_in_app("cache", "cache.corp.internal", port);
  test_listener agent(listen, relay_->tls(), "", 0);
  child_process run_cmd(bin_path("hcconnect"),
                        app_args({"run", "--", "/usr/bin/getent", "hosts", "cache.corp.internal"}),
                        dir_.path() / "run.log", {{"HCCONNECT_APP_KEY", key}});
  ASSERT_TRUE(run_cmd.wait_exit(30s)) << run_cmd.log();
  EXPECT_TRUE(WIFEXITED(*run_cmd.exit_status()) && WEXITSTATUS(*run_cmd.exit_status()) == 0) << run_cmd.log();
  EXPECT_NE(run_cmd.log().find("127."), std::string::npos) << run_cmd.log();
}

std::string cmdline_of(pid_t pid) {
  auto text = read_text_file("/proc/" + std::to_string(pid) + "/cmdline");
  std::replace(text.begin(), text.end(), '\0', ' ');
  return text;
}

TEST_F(hcconnect_app_test, run_service_refuses_an_app_key_on_its_command_line) {
  auto key = make_app();
  child_process daemon(bin_path("hcconnect"), app_args({"--app-key", key, "run-service"}),
                       dir_.path() / "daemon.log");
  ASSERT_TRUE(daemon.wait_exit(20s)) << "run-service must refuse to start\n" << daemon.log();
  EXPECT_NE(*daemon.exit_status(), 0);
  auto log = daemon.log();
  EXPECT_NE(log.find("shows in ps"), std::string::npos) << log;
  EXPECT_NE(log.find("--app-key-file"), std::string::npos) << log;
  EXPECT_NE(log.find("HCCONNECT_APP_KEY"), std::string::npos) << log;
}

TEST_F(hcconnect_app_test, an_app_key_file_readable_by_others_is_refused_and_an_owner_only_one_works) {
  auto key = make_app();
  auto open_file = key_file(
      key, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  child_process refused(bin_path("hcconnect"),
                        app_args({"--app-key-file", open_file.string(), "run-service"}),
                        dir_.path() / "refused.log");
  ASSERT_TRUE(refused.wait_exit(20s)) << refused.log();
  EXPECT_NE(*refused.exit_status(), 0);
  EXPECT_NE(refused.log().find("mode 0644"), std::string::npos) << refused.log();
  EXPECT_NE(refused.log().find("chmod 600"), std::string::npos) << refused.log();

  auto private_file = key_file(key, fs::perms::owner_read | fs::perms::owner_write);
  child_process daemon(bin_path("hcconnect"),
                       app_args({"--app-key-file", private_file.string(), "run-service"}),
                       dir_.path() / "daemon.log");
  EXPECT_TRUE(wait_until([&] { return answered(daemon); }, 10s)) << daemon.log();
  EXPECT_EQ(cmdline_of(daemon.pid()).find(key), std::string::npos) << cmdline_of(daemon.pid());
  EXPECT_EQ(daemon.log().find(key), std::string::npos) << "the app key must never be logged";
}

TEST_F(hcconnect_app_test, run_service_takes_the_app_key_from_the_environment) {
  auto key = make_app();
  child_process daemon(bin_path("hcconnect"), app_args({"run-service"}), dir_.path() / "daemon.log",
                       {{"HCCONNECT_APP_KEY", key}});
  EXPECT_TRUE(wait_until([&] { return answered(daemon); }, 10s)) << daemon.log();
  EXPECT_EQ(cmdline_of(daemon.pid()).find(key), std::string::npos) << cmdline_of(daemon.pid());
}

}  // namespace
}  // namespace hc::test
