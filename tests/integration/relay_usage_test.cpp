// tests/integration/relay_usage_test: what GET /api/v1/usage and `hcctl usage` report for a
// scripted workload: three tunnels of known size and length on a hybrid connection of a plan's app
// (exact tunnel count and bytes each way; tunnel-seconds at least their length; listener hours
// within the time the listener was connected), nothing for a hybrid connection of another plan,
// a tunnel counted only by the write at shutdown found after the next start (with what was written
// before), and refusals that say what is wrong. Hour boundaries are unit-tested with an injected clock
// (tests/unit/usage_recorder_test).
#include "api_support.hpp"
#include "hcm_support.hpp"

namespace hc::test {
namespace {

double number(const boost::json::value& v, std::string_view key) {
  const auto& f = v.as_object().at(key);
  return f.is_double() ? f.as_double() : double(f.to_number<std::int64_t>());
}

TEST(RelayUsage, AScriptedWorkloadIsCountedExactlyAndSurvivesARestart) {
  test_dir dir;
  const std::vector<std::string> flags{"--usage-interval", "0.2"};
  std::optional<relay_process> relay;
  relay.emplace(dir.path(), flags);
  auto started = std::chrono::steady_clock::now();
  constexpr int tunnels = 3;
  constexpr std::size_t up_bytes = 100000, down_bytes = 2500;
  run_bounded(
      [&]() -> task<> {
        auto& r = *relay;
        auto db = co_await make_hc(r, "db");
        co_await make_hc(r, "elsewhere");
        co_await api_ok(r, "PUT", "/plans/p1", R"({"sku":"Basic"})");
        co_await api_ok(r, "PUT", "/plans/p2", R"({"sku":"Standard"})");
        co_await api_ok(r, "PUT", "/apps/a1", R"({"plan":"p1"})");
        co_await api_ok(r, "PUT", "/apps/a2", R"({"plan":"p2"})");
        co_await api_ok(r, "PUT", "/apps/a1/hybridConnections/localhost/db");
        co_await api_ok(r, "PUT", "/apps/a2/hybridConnections/localhost/elsewhere");
        auto control = co_await connect_listener(r, "db", db.listen_token);
        for (int i = 0; i < tunnels; ++i) {
          auto t = co_await open_tunnel(r, control, "db", db.send_token);
          co_await send_frame(t.sender, opcode::binary, true, std::string(up_bytes, 'u'));
          co_await read_frame(t.listener, "listener leg");
          co_await send_frame(t.listener, opcode::binary, true, std::string(down_bytes, 'd'));
          co_await read_frame(t.sender, "sender leg");
          co_await pause_for(1000ms);  // each tunnel is open a known second at least
          co_await send_close(t.sender, 1000, "done");
          co_await echo_until_close(t.listener);
          co_await read_until_error(t.sender);
        }
        co_await send_close(control, 1000, "done");
        co_await pause_for(600ms);  // a write (every 0.2 s) after the last tunnel and the listener ended

        auto usage = co_await api_ok(r, "GET", "/usage?plan=p1");
        auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const auto& scope = usage.at("scope");
        EXPECT_EQ(json_text(scope, "plan"), "p1");
        EXPECT_EQ(json_text(scope, "sku"), "Basic");
        EXPECT_EQ(number(scope, "hybridConnectionLimit"), 5);
        EXPECT_EQ(number(scope, "hybridConnectionsUsed"), 1);
        const auto& hcs = usage.at("hybridConnections").as_array();
        require(hcs.size() == 1,
                "plan p1 has one hybrid connection with usage: " + boost::json::serialize(usage));
        const auto& h = hcs[0];
        EXPECT_EQ(json_text(h, "name"), "db");
        EXPECT_EQ(number(h, "tunnels"), tunnels);
        EXPECT_EQ(number(h, "bytesAppToAgent"), double(tunnels * up_bytes));
        EXPECT_EQ(number(h, "bytesAgentToApp"), double(tunnels * down_bytes));
        EXPECT_GE(number(h, "tunnelSeconds"), double(tunnels));
        EXPECT_LE(number(h, "tunnelSeconds"), elapsed);
        EXPECT_GT(number(h, "listenerHours"), tunnels / 3600.0);
        EXPECT_LE(number(h, "listenerHours"), elapsed / 3600.0);
        EXPECT_EQ(number(usage.at("total"), "tunnels"), tunnels);

        auto other = co_await api_ok(r, "GET", "/usage?plan=p2");
        EXPECT_TRUE(other.at("hybridConnections").as_array().empty()) << boost::json::serialize(other);
        auto hourly =
            co_await api_ok(r, "GET", "/usage?namespace=localhost&hybridConnection=db&granularity=hour");
        const auto& hours = hourly.at("hybridConnections").as_array().at(0).at("hours").as_array();
        double by_hour = 0;
        for (const auto& hour : hours) by_hour += number(hour, "tunnels");
        EXPECT_EQ(by_hour, tunnels) << "the hours do not add up to the total";

        for (auto [query, says] : std::vector<std::pair<std::string, std::string>>{
                 {"/usage?from=yesterday", "'from' must be a date"},
                 {"/usage?from=2026-12-04&to=2026-12-03", "'from' must be before 'to'"},
                 {"/usage?plan=p1&app=a1", "not several"},
                 {"/usage?bucket=1", "unknown query parameter 'bucket'"},
                 {"/usage?from=0", "at most 400 days"},
                 {"/usage?plan=nope", "'nope' does not exist"}}) {
          auto refused = co_await api_call(r, "GET", query);
          EXPECT_EQ(refused.status, says.find("exist") != std::string::npos ? 404 : 400) << query;
          EXPECT_NE(error_message(refused).find(says), std::string::npos) << query << ": " << refused.body;
        }
      },
      60s);

  // Restarts with a write interval longer than the test: one more tunnel is counted only by the
  // write at shutdown, and after the next start the store has both.
  const std::vector<std::string> rarely{"--usage-interval", "3600"};
  auto restart = [&](const std::vector<std::string>& with) {
    relay.reset();
    fs::remove(dir.path() / "relay" / "root.connection-string");
    relay.emplace(dir.path(), with);
  };
  restart(rarely);
  run_bounded(
      [&]() -> task<> {
        auto keys = co_await rule_key(*relay, "db", "defaultListener");
        auto send = co_await rule_key(*relay, "db", "defaultSender");
        auto control =
            co_await connect_listener(*relay, "db", make_token(*relay, "db", "defaultListener", keys));
        auto t = co_await open_tunnel(*relay, control, "db", make_token(*relay, "db", "defaultSender", send));
        co_await send_frame(t.sender, opcode::binary, true, std::string(up_bytes, 'u'));
        co_await read_frame(t.listener, "listener leg");
        co_await send_close(t.sender, 1000, "done");
        co_await echo_until_close(t.listener);
        co_await read_until_error(t.sender);
      },
      30s);
  restart(rarely);
  auto ctl = hcm::shell("HCRELAY_CONNECTION_STRING=" + hcm::quote(relay->root().to_string()) +
                        " HCRELAY_CA_FILE=" + hcm::quote(relay->ca_file().string()) + " " +
                        (fs::path(HC_BIN_DIR) / "hcctl").string() + " usage --app a1 -o csv");
  EXPECT_EQ(ctl.rc, 0) << ctl.output;
  EXPECT_NE(ctl.output.find("hour,namespace,hybrid_connection,listener_hours,tunnels,tunnel_seconds,"
                            "bytes_app_to_agent,bytes_agent_to_app\r\n"),
            std::string::npos)
      << ctl.output;
  EXPECT_NE(ctl.output.find(",localhost,db,"), std::string::npos) << ctl.output;
  run_bounded(
      [&]() -> task<> {
        auto usage = co_await api_ok(*relay, "GET", "/usage?app=a1");
        const auto& h = usage.at("hybridConnections").as_array().at(0);
        EXPECT_EQ(number(h, "tunnels"), tunnels + 1) << "counts lost or doubled across a restart";
        EXPECT_EQ(number(h, "bytesAppToAgent"), double((tunnels + 1) * up_bytes));
        EXPECT_EQ(json_text(usage.at("scope"), "app"), "a1");
      },
      30s);
  auto table = hcm::shell("HCRELAY_CONNECTION_STRING=" + hcm::quote(relay->root().to_string()) +
                          " HCRELAY_CA_FILE=" + hcm::quote(relay->ca_file().string()) + " " +
                          (fs::path(HC_BIN_DIR) / "hcctl").string() + " usage --plan p1");
  EXPECT_EQ(table.rc, 0) << table.output;
  EXPECT_NE(table.output.find("Plan:  p1 (Basic): 1 / 5 hybrid connections"), std::string::npos)
      << table.output;
  EXPECT_NE(table.output.find("localhost/db"), std::string::npos) << table.output;
}

}  // namespace
}  // namespace hc::test
