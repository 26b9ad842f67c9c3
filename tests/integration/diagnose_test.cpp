// tests/integration/diagnose_test: `hcctl diagnose` against real processes: each failure the
// Hybrid Connections troubleshooting guide names is produced on purpose (wrong key, deleted hybrid
// connection, no hcm, endpoint name that does not resolve on the hcm host, endpoint port closed,
// endpoint given as an IP) and diagnose must name that cause; a working path reports success
// with timings and exit code 0. Also /metrics of the relay is scraped and its counters move.
#include "hcm_support.hpp"
#include "net/spawn.hpp"

namespace hc::test {
namespace {

using hcm::command_result;
using hcm::quote;

class diagnose_test : public relay_test {
 protected:
  command_result hcctl(const std::string& args, const std::string& connection_string = {}) {
    auto cs = connection_string.empty() ? relay().root().to_string() : connection_string;
    return hcm::shell("HCRELAY_CONNECTION_STRING=" + quote(cs) + " HCRELAY_CA_FILE=" +
                      quote(relay().ca_file().string()) + " " + quote(bin_path("hcctl")) + " " + args);
  }
  // An hcm attached to `name`, with its service running.
  hcm::hcm_instance& attach_hcm(const std::string& name) {
    auto key = hcm::sync(rule_key(relay(), name, "defaultListener"));
    hcm_.emplace(dir_.path() / "hcm", relay().ca_file());
    auto added = hcm_->cli("add " + quote(hcm::listener_string(relay(), name, "defaultListener", key)));
    EXPECT_EQ(added.rc, 0) << added.output;
    hcm_->start();
    EXPECT_TRUE(hcm::sync(wait_listener_count(relay(), name, 1)));
    return *hcm_;
  }
  void create(const std::string& name, const std::string& endpoint) {
    hcm::sync(create_hc(relay(), name, R"({"endpoint":")" + endpoint + R"("})"));
  }
  std::optional<hcm::hcm_instance> hcm_;
};

TEST_F(diagnose_test, WorkingPathReportsSuccessWithTimings) {
  auto port = hcm::free_port();
  child_process web("/usr/bin/python3", {"-m", "http.server", std::to_string(port), "--bind", "127.0.0.1"},
                    dir_.path() / "web.log");
  ASSERT_TRUE(wait_until(
      [&] { return hcm::shell("curl -s -o /dev/null http://127.0.0.1:" + std::to_string(port)).rc == 0; },
      10s));
  create("web", "localhost:" + std::to_string(port));
  attach_hcm("web");
  auto r = hcctl("diagnose localhost/web");
  EXPECT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("[ok] probe: a tunnel reached localhost:" + std::to_string(port)),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(" ms"), std::string::npos) << r.output;
  auto json = hcctl("-o json diagnose web");
  EXPECT_EQ(json.rc, 0) << json.output;
  EXPECT_NE(json.output.find(R"("result": "ok")"), std::string::npos) << json.output;

  // The App Service view: every hybrid connection of an app.
  ASSERT_EQ(hcctl("plan create basic --sku Basic").rc, 0);
  ASSERT_EQ(hcctl("app create shop --plan basic").rc, 0);
  auto none = hcctl("diagnose --app shop");
  EXPECT_NE(none.rc, 0);
  EXPECT_NE(none.output.find("uses no hybrid connection"), std::string::npos) << none.output;
  ASSERT_EQ(hcctl("app hc add shop localhost/web").rc, 0);
  auto app = hcctl("diagnose --app shop");
  EXPECT_EQ(app.rc, 0) << app.output;
  EXPECT_NE(app.output.find("[ok] probe: a tunnel reached"), std::string::npos) << app.output;
}

TEST_F(diagnose_test, WrongKeyIsNamed) {
  auto cs = relay().root();
  cs.key = "bm90IHRoZSByaWdodCBrZXkgYXQgYWxsLCBzb3JyeSE=";
  auto r = hcctl("diagnose web", cs.to_string());
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.output.find("[FAIL] key"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("invalid signature"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(cs.key), std::string::npos) << "the key must never be printed";
}

TEST_F(diagnose_test, DeletedHybridConnectionIsNamed) {
  create("gone", "db.corp.internal:5432");
  net::run_sync(delete_hc(relay(), "gone"));
  auto r = hcctl("diagnose gone");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.output.find("[FAIL] hybrid connection"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("does not exist"), std::string::npos) << r.output;
}

TEST_F(diagnose_test, NoHcmIsNamed) {
  create("lonely", "db.corp.internal:5432");
  auto r = hcctl("diagnose lonely");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.output.find("[FAIL] listeners: no hcm is connected"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("hcm add"), std::string::npos) << r.output;
}

TEST_F(diagnose_test, EndpointNameThatDoesNotResolveOnTheHcmHostIsNamed) {
  create("nxdomain", "no-such-host.invalid:5432");
  attach_hcm("nxdomain");
  auto r = hcctl("diagnose nxdomain");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.output.find("the endpoint name does not resolve on the hcm host"), std::string::npos)
      << r.output;
  auto show = hcctl("hc show nxdomain");
  EXPECT_NE(show.output.find("Connected, last connection rejected: 502"), std::string::npos) << show.output;
}

TEST_F(diagnose_test, ClosedEndpointPortIsNamed) {
  create("closed", "localhost:" + std::to_string(hcm::free_port()));
  attach_hcm("closed");
  auto r = hcctl("diagnose closed");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.output.find("connection refused"), std::string::npos) << r.output;
}

TEST_F(diagnose_test, IpEndpointIsWarnedAbout) {
  create("byip", "10.1.2.3:1433");
  auto r = hcctl("diagnose byip");
  EXPECT_NE(r.output.find("[warn] endpoint: 10.1.2.3:1433"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("DNS name"), std::string::npos) << r.output;
}

TEST_F(diagnose_test, RelayMetricsCountListenersAndTunnels) {
  create("metered", "localhost:" + std::to_string(hcm::free_port()));
  attach_hcm("metered");
  hcctl("diagnose metered");  // one tunnel rejected by hcm with 502: its endpoint is closed
  auto metrics = hcm::shell("curl -s --cacert " + quote(relay().ca_file().string()) + " " +
                            relay().https_url("/metrics"));
  ASSERT_EQ(metrics.rc, 0);
  EXPECT_NE(metrics.output.find("hcrelay_listeners 1"), std::string::npos) << metrics.output;
  EXPECT_NE(metrics.output.find(R"(hcrelay_sender_connections_total{outcome="endpoint_unreachable"} 1)"),
            std::string::npos)
      << metrics.output;
  EXPECT_NE(metrics.output.find("# TYPE hcrelay_tunnel_setup_seconds histogram"), std::string::npos)
      << metrics.output;
  // hcm's control channel and its reject are streams of its pooled HTTP/2 connections (one or
  // two), and so is this scrape (curl takes h2 from the relay): every one of them is counted.
  auto value_of = [&](const std::string& name) {
    auto at = metrics.output.find("\n" + name + " ");
    return at == std::string::npos ? -1.0 : std::stod(metrics.output.substr(at + name.size() + 2));
  };
  auto connections = value_of("hcrelay_http2_connections");
  EXPECT_GE(connections, 2) << metrics.output;
  EXPECT_LE(connections, 3) << metrics.output;
  EXPECT_GE(value_of("hcrelay_http2_streams_total"), 3) << metrics.output;
}

}  // namespace
}  // namespace hc::test
