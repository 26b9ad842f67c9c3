// tests/integration/relay_metrics_test: what an operator scrapes from the relay's /metrics, read
// the way Prometheus reads it: every hybrid connection in the catalog has its series (listeners,
// active tunnels, every outcome at 0) from the first scrape; outcomes land on the hybrid
// connection they belong to and no other; bytes show while a tunnel is still open, once each;
// the cardinality bound and the switch that turns the families off; /readyz, build info, the
// certificate's expiry and the process families.
#include "hcm_support.hpp"
#include "proto/hc_address.hpp"
#include "util/build_info.hpp"

#include <map>

namespace hc::test {
namespace {

using labels = std::map<std::string, std::string>;

// The samples of `name` in a Prometheus text page, each with its labels.
std::vector<std::pair<labels, double>> samples(const std::string& page, const std::string& name) {
  std::vector<std::pair<labels, double>> out;
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#' || !line.starts_with(name)) continue;
    auto rest = std::string_view(line).substr(name.size());
    if (rest.empty() || (rest[0] != '{' && rest[0] != ' ')) continue;  // a longer name
    labels l;
    if (rest[0] == '{') {
      auto close = rest.find("} ");
      auto body = rest.substr(1, close - 1);
      while (!body.empty()) {
        auto eq = body.find("=\"");
        auto end = body.find('"', eq + 2);
        l.emplace(std::string(body.substr(0, eq)), std::string(body.substr(eq + 2, end - eq - 2)));
        body.remove_prefix(std::min(body.size(), end + 2));  // past the quote and the comma
      }
      rest.remove_prefix(close + 1);
    }
    out.emplace_back(std::move(l), std::stod(std::string(rest.substr(1))));
  }
  return out;
}

// The value of the one sample of `name` whose labels include `want`; NaN when there is none.
double value(const std::string& page, const std::string& name, const labels& want = {}) {
  for (const auto& [l, v] : samples(page, name)) {
    bool match = std::all_of(want.begin(), want.end(), [&](const auto& kv) {
      auto it = l.find(kv.first);
      return it != l.end() && it->second == kv.second;
    });
    if (match) return v;
  }
  return std::nan("");
}

task<std::string> scrape(const relay_process& relay) {
  auto r = co_await https_get(relay, "/$admin/metrics");
  require(r.status == 200, "GET /$admin/metrics answered " + std::to_string(r.status));
  co_return r.body;
}

labels hc_labels(const std::string& name, labels more = {}) {
  more.emplace("namespace", "localhost");
  more.emplace("hybrid_connection", name);
  return more;
}

const std::vector<std::string> per_hc_outcomes{"accepted", "rejected", "endpoint_unreachable", "no_listener",
                                               "timeout"};

// A relay with the per-hybrid-connection families on (by default they are on only with
// --admin-listen: see RelayMetricsCardinality).
class RelayMetrics : public relay_test {
 protected:
  void SetUp() override { relay_.emplace(dir_.path(), std::vector<std::string>{"--hc-metrics"}); }
};

TEST_F(RelayMetrics, EveryHybridConnectionHasItsSeriesFromTheFirstScrapeAndLosesItsGaugesWhenDeleted) {
  run([&]() -> task<> {
    auto alpha = co_await make_hc(relay(), "alpha");
    co_await make_hc(relay(), "beta");
    auto page = co_await scrape(relay());
    for (std::string name : {"alpha", "beta"}) {
      EXPECT_EQ(value(page, "hcrelay_hc_listeners", hc_labels(name)), 0) << name;
      EXPECT_EQ(value(page, "hcrelay_hc_tunnels_active", hc_labels(name)), 0) << name;
      for (const auto& outcome : per_hc_outcomes)
        EXPECT_EQ(value(page, "hcrelay_hc_tunnels_total", hc_labels(name, {{"outcome", outcome}})), 0)
            << name << " " << outcome;
      for (std::string direction : {"app_to_agent", "agent_to_app"})
        EXPECT_EQ(value(page, "hcrelay_hc_bytes_total", hc_labels(name, {{"direction", direction}})), 0)
            << name << " " << direction;
      EXPECT_EQ(value(page, "hcrelay_hc_tunnel_setup_seconds_count", hc_labels(name)), 0) << name;
    }
    for (const auto& outcome : per_hc_outcomes)
      EXPECT_EQ(value(page, "hcrelay_sender_connections_total", {{"outcome", outcome}}), 0) << outcome;

    auto control = co_await connect_listener(relay(), "alpha", alpha.listen_token);
    page = co_await scrape(relay());
    EXPECT_EQ(value(page, "hcrelay_hc_listeners", hc_labels("alpha")), 1);
    EXPECT_EQ(value(page, "hcrelay_hc_listeners", hc_labels("beta")), 0);

    co_await delete_hc(relay(), "beta");
    page = co_await scrape(relay());
    EXPECT_TRUE(std::isnan(value(page, "hcrelay_hc_listeners", hc_labels("beta"))))
        << "a deleted hybrid connection still has a listeners gauge (an alert would fire forever)";
    EXPECT_EQ(value(page, "hcrelay_hc_listeners", hc_labels("alpha")), 1);
    co_await send_close(control, 1000, "done");
  });
}

// A listener's reject of the next accept on `control` with `status`; the relay's answer (410).
task<int> reject_next(net::ws_connection& control, const relay_process& relay, int status) {
  auto accept = co_await read_accept(control);
  auto rejected = co_await dial_address(relay, proto::build_reject_url(accept.address, status, "test"));
  co_return rejected.status;
}

TEST_F(RelayMetrics, OutcomesLandOnTheirOwnHybridConnection) {
  run([&]() -> task<> {
    auto orders = co_await make_hc(relay(), "orders");
    co_await make_hc(relay(), "other");
    auto nobody = co_await open_sender(relay(), "orders", orders.send_token);
    EXPECT_EQ(nobody.status, 404);

    auto control = co_await connect_listener(relay(), "orders", orders.listen_token);
    for (int status : {502, 403}) {
      auto [sent, answered] = co_await both(open_sender(relay(), "orders", orders.send_token),
                                            reject_next(control, relay(), status));
      EXPECT_EQ(sent.status, status);
      EXPECT_EQ(answered, 410);
    }
    auto t = co_await open_tunnel(relay(), control, "orders", orders.send_token);

    auto page = co_await scrape(relay());
    const std::map<std::string, double> expected{
        {"no_listener", 1}, {"endpoint_unreachable", 1}, {"rejected", 1}, {"accepted", 1}, {"timeout", 0}};
    for (const auto& [outcome, n] : expected) {
      EXPECT_EQ(value(page, "hcrelay_hc_tunnels_total", hc_labels("orders", {{"outcome", outcome}})), n)
          << outcome;
      EXPECT_EQ(value(page, "hcrelay_hc_tunnels_total", hc_labels("other", {{"outcome", outcome}})), 0)
          << outcome << " counted for a hybrid connection nobody asked for";
      EXPECT_EQ(value(page, "hcrelay_sender_connections_total", {{"outcome", outcome}}), n) << outcome;
    }
    EXPECT_EQ(value(page, "hcrelay_hc_tunnel_setup_seconds_count", hc_labels("orders")), 1);
    EXPECT_GT(value(page, "hcrelay_hc_tunnel_setup_seconds_sum", hc_labels("orders")), 0);
    EXPECT_EQ(value(page, "hcrelay_hc_tunnels_active", hc_labels("orders")), 1);
    co_await send_close(t.sender, 1000, "done");
    co_await echo_until_close(t.listener);
  });
}

TEST_F(RelayMetrics, BytesShowWhileTheTunnelIsOpenAndAreCountedOnce) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "pipe");
    auto control = co_await connect_listener(relay(), "pipe", hc.listen_token);
    auto t = co_await open_tunnel(relay(), control, "pipe", hc.send_token);
    std::size_t up = 0;
    for (std::size_t size : {1u, 40000u, 30000u}) {  // 70,001 bytes app -> agent
      co_await send_frame(t.sender, opcode::binary, true, std::string(size, 'u'));
      auto got = co_await read_frame(t.listener, "listener leg");
      up += got.payload.size();
    }
    co_await send_frame(t.listener, opcode::binary, true, std::string(5000, 'd'));
    auto down = co_await read_frame(t.sender, "sender leg");

    auto open = co_await scrape(relay());
    EXPECT_EQ(value(open, "hcrelay_hc_bytes_total", hc_labels("pipe", {{"direction", "app_to_agent"}})),
              70001)
        << "the bytes of an open tunnel are not in the scrape";
    EXPECT_EQ(value(open, "hcrelay_hc_bytes_total", hc_labels("pipe", {{"direction", "agent_to_app"}})),
              double(down.payload.size()));
    EXPECT_EQ(value(open, "hcrelay_tunnel_bytes_total", {{"direction", "app_to_agent"}}), double(up));
    auto again = co_await scrape(relay());
    EXPECT_EQ(value(again, "hcrelay_hc_bytes_total", hc_labels("pipe", {{"direction", "app_to_agent"}})),
              70001)
        << "a second scrape counted the same bytes again";

    co_await send_frame(t.sender, opcode::binary, true, std::string(999, 'u'));
    co_await read_frame(t.listener, "listener leg");
    co_await send_close(t.sender, 1000, "done");
    co_await echo_until_close(t.listener);
    co_await read_until_error(t.sender);
    std::string closed;
    for (int i = 0; i < 50; ++i) {  // the relay ends the tunnel as both Close frames pass
      closed = co_await scrape(relay());
      if (value(closed, "hcrelay_hc_tunnels_active", hc_labels("pipe")) == 0) break;
      co_await pause_for(20ms);
    }
    EXPECT_EQ(value(closed, "hcrelay_hc_tunnels_active", hc_labels("pipe")), 0);
    EXPECT_EQ(value(closed, "hcrelay_hc_bytes_total", hc_labels("pipe", {{"direction", "app_to_agent"}})),
              71000);
    EXPECT_EQ(value(closed, "hcrelay_tunnel_bytes_total", {{"direction", "app_to_agent"}}), 71000);
  });
}

TEST_F(RelayMetrics, ReadyBuildInfoCertificateAndProcess) {
  run([&]() -> task<> {
    auto ready = co_await https_get(relay(), "/readyz");
    EXPECT_EQ(ready.status, 200);
    EXPECT_EQ(ready.body, "ready\n");
    auto page = co_await scrape(relay());
    EXPECT_EQ(value(page, "hcrelay_ready"), 1);
    EXPECT_EQ(value(page, "hcrelay_build_info",
                    {{"version", std::string(util::version())}, {"commit", std::string(util::commit())}}),
              1);
    auto not_after =
        hcm::shell("date -d \"$(openssl x509 -noout -enddate -in " +
                   (relay().data_dir() / "tls" / "server.pem").string() + " | cut -d= -f2)\" +%s");
    require(not_after.rc == 0, "openssl/date: " + not_after.output);
    EXPECT_EQ(value(page, "hcrelay_tls_certificate_expiry_timestamp_seconds"), std::stod(not_after.output));
    EXPECT_GT(value(page, "process_cpu_seconds_total"), 0);
    EXPECT_GT(value(page, "process_resident_memory_bytes"), 1e6);
    EXPECT_GE(value(page, "process_open_fds"), 3);
    EXPECT_GT(value(page, "process_max_fds"), value(page, "process_open_fds"));
    auto started = value(page, "process_start_time_seconds");
    auto now = double(std::time(nullptr));
    EXPECT_GT(started, now - 120);
    EXPECT_LE(started, now + 1);
  });
}

// deploy/prometheus/alerts.yml and deploy/grafana/hcrelay-dashboard.json use only what a relay
// exports: every metric they name (as tests/deploy/prometheus_rules_test.sh lists them) is in a
// scrape of a relay with a hybrid connection, a listener and a tunnel.
TEST_F(RelayMetrics, EveryMetricTheAlertsAndTheDashboardUseIsExported) {
  auto listed = hcm::shell(std::string(HC_SOURCE_DIR) + "/tests/deploy/prometheus_rules_test.sh 2>&1");
  ASSERT_EQ(listed.rc, 0) << listed.output;
  std::vector<std::string> used;
  std::istringstream lines(listed.output);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("metric: ")) used.push_back(line.substr(8));
  ASSERT_GE(used.size(), 5u) << listed.output;
  std::string page;
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "watched");
    auto control = co_await connect_listener(relay(), "watched", hc.listen_token);
    auto t = co_await open_tunnel(relay(), control, "watched", hc.send_token);
    page = co_await scrape(relay());
    co_await send_close(t.sender, 1000, "done");
    co_await echo_until_close(t.listener);
  });
  for (const auto& name : used) {
    ASSERT_TRUE(name.starts_with("hcrelay_") || name.starts_with("process_"))
        << name << ": the rules and the dashboard are checked against the relay's scrape only";
    bool exported = false;
    for (std::string suffix : {"{", " ", "_bucket{", "_count{", "_count "})
      exported = exported || page.find("\n" + name + suffix) != std::string::npos;
    EXPECT_TRUE(exported) << name << " is used by deploy/ but not exported by the relay";
  }
}

// The families name every tenant's hybrid connections: without --admin-listen (where /metrics is
// on the public address) they are left out unless --hc-metrics asks, which is warned about.
TEST(RelayMetricsCardinality, OnThePublicAddressTheFamiliesAreOffUnlessAskedForWithAWarning) {
  test_dir dir;
  relay_process plain(dir.path() / "plain");
  relay_process asked(dir.path() / "asked", {"--hc-metrics"});
  relay_process split(dir.path() / "split", {"--admin-listen", "127.0.0.1:0"});
  run_bounded(
      [&]() -> task<> {
        co_await make_hc(plain, "secret-name");
        co_await make_hc(asked, "shown");
        auto page = co_await scrape(plain);
        EXPECT_EQ(page.find("secret-name"), std::string::npos) << "a tenant's name on the public /metrics";
        EXPECT_EQ(page.find("hcrelay_hc_"), std::string::npos);
        auto shown = co_await scrape(asked);
        EXPECT_EQ(value(shown, "hcrelay_hc_listeners", hc_labels("shown")), 0);
      },
      30s);
  EXPECT_NE(plain.process().log().find("per-hybrid-connection metrics are off"), std::string::npos);
  EXPECT_NE(asked.process().log().find("--hc-metrics without --admin-listen"), std::string::npos);
  EXPECT_NE(split.process().log().find("admin address"), std::string::npos);
  EXPECT_EQ(split.process().log().find("per-hybrid-connection metrics are off"), std::string::npos)
      << "with --admin-listen they are on by default";
}

TEST(RelayMetricsCardinality, PastTheLimitHybridConnectionsShareOneSeriesAndTheFamiliesCanBeOff) {
  test_dir dir;
  relay_process bounded(dir.path() / "bounded", {"--hc-metrics", "--hc-metrics-limit", "2"});
  relay_process off(dir.path() / "off", {"--no-hc-metrics"});
  run_bounded(
      [&]() -> task<> {
        for (std::string name : {"one", "two", "three"}) {
          auto hc = co_await make_hc(bounded, name);
          co_await make_hc(off, name);
          (void)hc;
        }
        auto page = co_await scrape(bounded);
        auto listeners = samples(page, "hcrelay_hc_listeners");
        EXPECT_EQ(listeners.size(), 3u) << "two of their own and _other";
        EXPECT_EQ(
            value(page, "hcrelay_hc_listeners", {{"namespace", "_other"}, {"hybrid_connection", "_other"}}),
            0);
        EXPECT_EQ(samples(page, "hcrelay_hc_tunnels_total").size(), 3u * per_hc_outcomes.size());

        auto quiet = co_await scrape(off);
        EXPECT_EQ(quiet.find("hcrelay_hc_"), std::string::npos) << "--no-hc-metrics still exports them";
        EXPECT_FALSE(std::isnan(value(quiet, "hcrelay_listeners")));
      },
      30s);
}

// A tenant that creates and deletes names cannot use up the limit: a deleted hybrid connection's
// series go at the next scrape (once no tunnel of it is open), so the next one gets its own.
TEST(RelayMetricsCardinality, DeletedHybridConnectionsGiveTheirPlacesBack) {
  test_dir dir;
  relay_process relay(dir.path(), {"--hc-metrics", "--hc-metrics-limit", "2"});
  run_bounded(
      [&]() -> task<> {
        for (std::string name : {"churn-1", "churn-2"}) {
          auto hc = co_await make_hc(relay, name);
          auto refused = co_await open_sender(relay, hc.name, hc.send_token);  // no listener: a series
          EXPECT_EQ(refused.status, 404);
          auto counted = co_await scrape(relay);
          EXPECT_EQ(value(counted, "hcrelay_hc_tunnels_total", hc_labels(name, {{"outcome", "no_listener"}})),
                    1);
          co_await delete_hc(relay, name);
        }
        auto victim = co_await make_hc(relay, "victim");
        (void)victim;
        auto page = co_await scrape(relay);
        EXPECT_EQ(value(page, "hcrelay_hc_listeners", hc_labels("victim")), 0)
            << "another tenant's deleted names kept its place:\n"
            << page;
        EXPECT_TRUE(std::isnan(value(page, "hcrelay_hc_listeners", {{"namespace", "_other"}})));
        EXPECT_TRUE(std::isnan(value(page, "hcrelay_hc_tunnels_total", hc_labels("churn-1"))))
            << "a deleted hybrid connection's counters are still exported";
      },
      30s);
}

}  // namespace
}  // namespace hc::test
