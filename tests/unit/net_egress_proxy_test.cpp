// tests/unit/net_egress_proxy_test: how the route to a relay is chosen: proxy URLs (--proxy and
// the environment), the refusal of a password on the command line, and no_proxy matching. The
// handshakes themselves are tested against squid and dante (integration/proxy_egress_test).
#include "net/egress_proxy.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace hc::net {
namespace {

// Clears every proxy variable for the test and restores the process route afterwards.
class egress_env : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy",
                          "NO_PROXY", "HTTP_PROXY"})
      ::unsetenv(v);
  }
  void TearDown() override {
    SetUp();
    use_egress({});
  }
};

TEST_F(egress_env, ParsesHttpAndSocksUrlsWithUserAndDefaultPort) {
  auto http = parse_proxy_url("http://alice:s%40cret@proxy.corp:3128", "HTTPS_PROXY");
  EXPECT_EQ(http.protocol, proxy_route::kind::http_connect);
  EXPECT_EQ(http.host, "proxy.corp");
  EXPECT_EQ(http.port, 3128);
  EXPECT_EQ(http.user, "alice");
  EXPECT_EQ(http.password, "s@cret");
  EXPECT_EQ(http.label(), "HTTP proxy proxy.corp:3128");
  auto socks = parse_proxy_url("socks5h://[::1]", "--proxy");
  EXPECT_EQ(socks.protocol, proxy_route::kind::socks5);
  EXPECT_EQ(socks.host, "::1");
  EXPECT_EQ(socks.port, 1080);
  EXPECT_EQ(socks.label(), "SOCKS5 proxy [::1]:1080");
}

TEST_F(egress_env, RefusesWhatItCannotUseWithTheSourceNamed) {
  for (const char* bad :
       {"https://proxy:3128", "ftp://proxy", "proxy:3128", "http://:3128", "socks4://p:1"}) {
    try {
      parse_proxy_url(bad, "ALL_PROXY");
      ADD_FAILURE() << bad << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).rfind("ALL_PROXY: ", 0), 0u) << e.what();
    }
  }
}

TEST_F(egress_env, APasswordOnTheCommandLineIsRefusedAndTheFileIsRead) {
  try {
    egress_from("http://alice:secret@127.0.0.1:3128", "");
    ADD_FAILURE() << "a password in --proxy was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--proxy-password-file"), std::string::npos) << e.what();
  }
  auto file = std::filesystem::temp_directory_path() / ("egress-pw-" + std::to_string(::getpid()));
  { std::ofstream(file) << "from-the-file\n"; }
  ::chmod(file.c_str(), 0600);
  auto s = egress_from("http://alice@127.0.0.1:3128", file.string());
  std::filesystem::remove(file);
  ASSERT_TRUE(s.https);
  EXPECT_EQ(s.https->password, "from-the-file");
  EXPECT_EQ(s.https->source, "--proxy");
  ASSERT_TRUE(s.plain);
  EXPECT_THROW(egress_from("http://127.0.0.1:3128", "/nonexistent"), std::invalid_argument)
      << "a password file without a user";
  EXPECT_THROW(egress_from("", "/nonexistent"), std::invalid_argument) << "a password file without --proxy";
}

TEST_F(egress_env, TheEnvironmentIsReadAsCurlReadsItAndDirectIgnoresIt) {
  ::setenv("HTTPS_PROXY", "http://u:p@10.0.0.1:8080", 1);
  ::setenv("HTTP_PROXY", "http://10.0.0.9:80", 1);  // ignored: httpoxy
  ::setenv("ALL_PROXY", "socks5://10.0.0.2:1080", 1);
  auto s = egress_from("", "");
  ASSERT_TRUE(s.https);
  EXPECT_EQ(s.https->host, "10.0.0.1");
  EXPECT_EQ(s.https->password, "p") << "the environment may carry the password";
  EXPECT_EQ(s.https->source, "HTTPS_PROXY");
  ASSERT_TRUE(s.plain);
  EXPECT_EQ(s.plain->host, "10.0.0.2") << "plain relays take all_proxy, never HTTP_PROXY";
  ::setenv("https_proxy", "http://10.0.0.3:3128", 1);
  EXPECT_EQ(egress_from("", "").https->host, "10.0.0.3") << "lower case first";
  EXPECT_FALSE(egress_from("direct", "").https);
  EXPECT_EQ(egress_from("socks5://127.0.0.1:9", "").https->protocol, proxy_route::kind::socks5)
      << "the flag wins";
}

TEST_F(egress_env, NoProxyMatchesNamesSuffixesAddressesAndNetworks) {
  ::setenv("https_proxy", "http://127.0.0.1:3128", 1);
  ::setenv("no_proxy", " internal.corp, .svc.local ,10.1.0.0/16,::1, [fd00::7]", 1);
  use_egress(egress_from("", ""));
  EXPECT_TRUE(proxy_for("relay.example.com", true));
  EXPECT_FALSE(proxy_for("internal.corp", true));
  EXPECT_FALSE(proxy_for("relay.INTERNAL.corp", true));
  EXPECT_TRUE(proxy_for("notinternal.corp", true)) << "a suffix matches at a dot only";
  EXPECT_FALSE(proxy_for("a.b.svc.local", true));
  EXPECT_FALSE(proxy_for("10.1.200.3", true));
  EXPECT_TRUE(proxy_for("10.2.0.1", true));
  EXPECT_FALSE(proxy_for("::1", true));
  EXPECT_FALSE(proxy_for("fd00::7", true));
  EXPECT_TRUE(proxy_for("fd00::8", true));
  EXPECT_FALSE(proxy_for("relay.example.com", false))
      << "no http_proxy, no all_proxy: plain relays go direct";
  ::setenv("no_proxy", "*", 1);
  use_egress(egress_from("", ""));
  EXPECT_FALSE(proxy_for("relay.example.com", true));
}

}  // namespace
}  // namespace hc::net
