// tests/integration/proxy_egress_test: hcm, hcctl and a sender (net::relay_client, as hcconnect
// dials) reaching a relay that only a proxy can reach: the relay's name resolves inside squid
// (HTTP CONNECT, Basic authentication) or dante (SOCKS5, username/password) and nowhere else, so
// a direct attempt fails and every gesture of a working tunnel went through the proxy. A wrong
// password gives a sentence that names the proxy hop, not "relay unreachable".
#include "hcm_support.hpp"
#include "net/egress_proxy.hpp"
#include "proxy_servers.hpp"

#include <boost/asio/read.hpp>

#include <sys/stat.h>

#include <fstream>

namespace hc::test {
namespace {
using namespace hcm;

class proxy_egress_test : public ::testing::Test {
 protected:
  void SetUp() override {
    relay_.emplace(dir_.path(), std::vector<std::string>{"--public-host", proxied_host});
    echo_.emplace();
  }
  void TearDown() override { net::use_egress({}); }  // the test process's own route (the sender's)

  // hcctl with the root connection string (whose host only the proxy resolves).
  command_result hcctl(const std::string& options, const std::string& args, const std::string& env = {}) {
    return hcm::hcctl(*relay_, options, args, env);
  }
  std::string password_file(const std::string& password) {
    auto path = dir_.path() / ("proxy-password-" + std::to_string(++files_));
    { std::ofstream(path) << password << "\n"; }
    ::chmod(path.c_str(), 0600);
    return path.string();
  }
  // One line through sender -> relay -> hcm -> echo and back.
  void echo_through(const std::string& send_string) {
    sender_forwarder app(send_string, relay_->tls());
    run_bounded(
        [&]() -> task<> {
          auto c = co_await net::connect_tcp("127.0.0.1", app.port());
          require(!c.first, "connect to the app side: " + c.first.message());
          const std::string line = "through the proxy\n";  // named: g++ 12 and temporaries (net/types.hpp)
          co_await expect_echo(c.second, line);
        },
        20s);
    EXPECT_EQ(app.failed(), 0);
  }

  test_dir dir_;
  std::optional<relay_process> relay_;
  std::optional<tcp_echo_server> echo_;
  int files_ = 0;
};

TEST_F(proxy_egress_test, ATunnelWorksWhenTheRelayIsReachableOnlyThroughSquidWithBasicAuth) {
  squid_process squid(dir_.path() / "squid", proxy_user{"alice", "s3cret"});
  auto direct = hcctl("", "hc list");
  ASSERT_NE(direct.rc, 0) << "the relay must not be reachable directly: " << direct.output;
  EXPECT_NE(direct.output.find(proxied_host), std::string::npos) << direct.output;

  auto pw = password_file("s3cret");
  std::string via = "--proxy http://alice@" + squid.address() + " --proxy-password-file " + quote(pw);
  auto [listen, send] = create_with_hcctl(*relay_, via, "tunnel", echo_->port());
  hcm_instance h(dir_.path() / "hcm", relay_->ca_file());
  auto added = h.cli(via + " add " + quote(listen));
  ASSERT_EQ(added.rc, 0) << added.output;
  h.start({"--proxy", "http://alice@" + squid.address(), "--proxy-password-file", pw});
  ASSERT_TRUE(h.wait_status("relay", "tunnel", "Connected")) << h.log();

  net::use_egress(net::egress_from("http://alice@" + squid.address(), pw));
  echo_through(send);
  EXPECT_EQ(echo_->accepted(), 1);

  auto log = squid.access_log();
  std::string target = std::string(proxied_host) + ":" + std::to_string(relay_->port());
  EXPECT_NE(log.find("TCP_TUNNEL/200"), std::string::npos) << log;
  EXPECT_NE(log.find("CONNECT " + target + " alice"), std::string::npos) << log;
  EXPECT_EQ(log.find("CONNECT localhost"), std::string::npos) << "hcm dials its endpoint directly:\n" << log;
  EXPECT_EQ(h.log().find("s3cret"), std::string::npos) << "the proxy password must not be logged";

  auto diagnosed = hcctl(via, "diagnose tunnel");
  EXPECT_EQ(diagnosed.rc, 0) << diagnosed.output;
  EXPECT_NE(diagnosed.output.find("[ok] proxy: HTTP proxy " + squid.address()), std::string::npos)
      << diagnosed.output;
  auto tested = h.cli(via + " test localhost:" + std::to_string(echo_->port()));
  EXPECT_EQ(tested.rc, 0) << tested.output;
  EXPECT_NE(tested.output.find("through HTTP proxy " + squid.address()), std::string::npos) << tested.output;
}

TEST_F(proxy_egress_test, AWrongProxyPasswordNamesTheProxyHopNotTheRelay) {
  squid_process squid(dir_.path() / "squid", proxy_user{"alice", "s3cret"});
  auto pw = password_file("wrong");
  std::string via = "--proxy http://alice@" + squid.address() + " --proxy-password-file " + quote(pw);
  auto listed = hcctl(via, "hc list");
  EXPECT_NE(listed.rc, 0);
  EXPECT_NE(listed.output.find("HTTP proxy " + squid.address() + " refused CONNECT"), std::string::npos)
      << listed.output;
  EXPECT_NE(listed.output.find("407"), std::string::npos) << listed.output;

  auto no_user = hcctl("--proxy http://" + squid.address(), "hc list");
  EXPECT_NE(no_user.output.find("407 Proxy Authentication Required (give a user"), std::string::npos)
      << no_user.output;
  auto in_argv = hcctl("--proxy http://alice:s3cret@" + squid.address(), "hc list");
  EXPECT_NE(in_argv.rc, 0);
  EXPECT_NE(in_argv.output.find("--proxy-password-file"), std::string::npos) << in_argv.output;

  // hcm says it too, and keeps trying.
  auto listen = hc_connection_string(*relay_, "absent", "RootManageSharedAccessKey", relay_->root().key);
  hcm_instance h(dir_.path() / "hcm", relay_->ca_file());
  ASSERT_EQ(h.cli("add " + quote(listen)).rc, 0);
  h.start({"--proxy", "http://alice@" + squid.address(), "--proxy-password-file", pw});
  EXPECT_TRUE(wait_until([&] { return h.log().find("refused CONNECT") != std::string::npos; }, 15s))
      << h.log();
  EXPECT_NE(h.log().find("HTTP proxy " + squid.address()), std::string::npos) << h.log();
}

TEST_F(proxy_egress_test, ATunnelWorksThroughDanteSocks5WithUsernameAndPassword) {
  dante_process dante(dir_.path() / "dante", proxy_user{"socksuser", "socks-pw"});
  std::string env_url = "socks5h://socksuser:socks-pw@" + dante.address();
  // hcctl from the environment (where a password may live), as curl reads it.
  auto made = hcctl("", "hc create socks --endpoint localhost:" + std::to_string(echo_->port()),
                    "ALL_PROXY=" + quote(env_url));
  ASSERT_EQ(made.rc, 0) << made.output;

  auto pw = password_file("socks-pw");
  std::string via = "--proxy socks5://socksuser@" + dante.address() + " --proxy-password-file " + quote(pw);
  auto listen = hcctl(via, "hc connection-string socks --rule defaultListener");
  auto send = hcctl(via, "hc connection-string socks --rule defaultSender");
  ASSERT_EQ(listen.rc, 0) << listen.output;
  hcm_instance h(dir_.path() / "hcm", relay_->ca_file(), {{"ALL_PROXY", env_url}});
  ASSERT_EQ(h.cli("add " + quote(listen.output.substr(0, listen.output.find('\n')))).rc, 0);
  h.start();
  ASSERT_TRUE(h.wait_status("relay", "socks", "Connected")) << h.log();

  net::use_egress(net::egress_from("socks5://socksuser@" + dante.address(), pw));
  echo_through(send.output.substr(0, send.output.find('\n')));
  EXPECT_EQ(echo_->accepted(), 1);
  EXPECT_NE(dante.log().find("username%socksuser@"), std::string::npos) << dante.log();

  auto bad = password_file("not-the-password");
  auto refused = hcctl(
      "--proxy socks5://socksuser@" + dante.address() + " --proxy-password-file " + quote(bad), "hc list");
  EXPECT_NE(refused.rc, 0);
  EXPECT_NE(refused.output.find("SOCKS5 proxy " + dante.address() + " refused user 'socksuser'"),
            std::string::npos)
      << refused.output;
}

}  // namespace
}  // namespace hc::test
