// tests/integration/hcm_security_test: hcm on a host that others use (issue 16), end to end on
// loopback. The web UI takes changes (and shows pages) only with its token, from `hcm ui-url`,
// as a header or as the cookie a ?token= visit sets; hcm dials the endpoint pinned at `hcm add`,
// not whatever the relay's metadata names later (unless added with --follow-endpoint), pins an
// entry that has none on first load, and never dials a link-local address unless allowed.
#include "hcm_support.hpp"

#include <boost/asio/read.hpp>

#include <fstream>

namespace hc::test {
namespace {
using namespace hcm;

class hcm_security_test : public hcm_fixture {
 protected:
  // Points the hybrid connection at localhost:port on the relay (management API PUT).
  void move_endpoint(const hc_fixture& hc, std::uint16_t port) {
    sync(create_hc(relay(), hc.name, R"({"endpoint":"localhost:)" + std::to_string(port) + R"("})"));
  }
  std::string reason(const hcm_instance& h, const std::string& name) {
    return h.text("localhost", name, "StatusReason");
  }
};

// One line through the app side of a sender: what came back ("" when the tunnel failed).
task<std::string> echo_once(std::uint16_t app_port) {
  auto c = co_await net::connect_tcp("127.0.0.1", app_port);
  if (c.first) co_return "";
  const std::string line = "through the tunnel\n";
  auto [wec, wn] = co_await asio::async_write(c.second, asio::buffer(line), net::use_tuple);
  std::string back(line.size(), '\0');
  auto [rec, rn] = co_await asio::async_read(c.second, asio::buffer(back), net::use_tuple);
  co_return wec || rec ? std::string() : back;
}

// "BODY\nSTATUS" from curl -w, split.
std::pair<std::string, std::string> status_and_body(const command_result& r) {
  auto nl = r.output.rfind('\n');
  if (nl == std::string::npos) return {r.output, ""};
  return {r.output.substr(nl + 1), r.output.substr(0, nl)};
}

TEST_F(hcm_security_test, UiChangesNeedTheTokenThatUiUrlPrints) {
  auto hc = make("ui-guarded", 9);
  auto h = make_hcm("hcm");
  auto port = std::to_string(free_port());
  h.start({"--ui-port", port});
  auto url = "http://127.0.0.1:" + port;
  ASSERT_TRUE(wait_until([&] { return shell("curl -sf -o /dev/null " + url + "/metrics").rc == 0; }, 10s))
      << h.log();
  EXPECT_EQ(file_mode(h.config_dir() / "ui-token"), 0600u);
  auto token = h.ui_token();
  EXPECT_EQ(token.size(), 64u) << "256 bits as hex";

  command_result printed;
  ASSERT_TRUE(wait_until([&] { return (printed = h.cli("ui-url")).rc == 0; }, 10s)) << printed.output;
  EXPECT_EQ(printed.output, url + "/?token=" + token + "\n");
  EXPECT_EQ(h.log().find(token), std::string::npos) << "the token is never logged";

  std::string curl = "curl -s --max-time 5 -w '\\n%{http_code}' ";
  auto form =
      " --data-urlencode " + quote("connectionString=" + listen_string(hc)) + " " + url + "/connections";
  auto [anonymous, anonymous_says] = status_and_body(shell(curl + form));  // curl or SSRF: no Origin
  EXPECT_EQ(anonymous, "401");
  EXPECT_NE(anonymous_says.find("run `hcm ui-url`"), std::string::npos) << anonymous_says;
  std::string wrong(64, 'a');
  if (wrong == token) wrong[0] = 'b';
  auto [forged, forged_says] =
      status_and_body(shell(curl + "-H " + quote("Authorization: Bearer " + wrong) + form));
  EXPECT_EQ(forged, "403");
  EXPECT_NE(forged_says.find("run `hcm ui-url`"), std::string::npos) << forged_says;
  EXPECT_EQ(h.cli("list -o json").output, "[]\n") << "nothing was added without the token";

  auto [scripted, scripted_says] =
      status_and_body(shell(curl + "-H " + quote("Authorization: Bearer " + token) + form));
  EXPECT_EQ(scripted, "200") << scripted_says;

  // A browser: the printed URL sets the cookie and redirects to the page without the token.
  auto jar = (h.config_dir() / "cookies.txt").string();
  auto visit = shell("curl -s -o /dev/null -D - --max-time 5 -c " + quote(jar) + " " +
                     quote(url + "/?token=" + token));
  EXPECT_NE(visit.output.find(" 303 "), std::string::npos) << visit.output;
  EXPECT_NE(visit.output.find("Location: /\r\n"), std::string::npos) << visit.output;
  EXPECT_NE(visit.output.find("HttpOnly"), std::string::npos) << visit.output;
  EXPECT_NE(visit.output.find("SameSite=Strict"), std::string::npos) << visit.output;
  auto [browser, browser_says] = status_and_body(shell(curl + "-b " + quote(jar) + form));
  EXPECT_EQ(browser, "200") << browser_says;
  auto [cross, cross_says] =
      status_and_body(shell(curl + "-b " + quote(jar) + " -H 'Origin: http://evil.example'" + form));
  EXPECT_EQ(cross, "403") << "the origin check stays behind the token";
  auto bad_visit = status_and_body(shell(curl + "-o /dev/null " + quote(url + "/?token=" + wrong)));
  EXPECT_EQ(bad_visit.first, "403");

  // Reading is behind the token as well; /metrics (for Prometheus) is not.
  EXPECT_EQ(status_and_body(shell(curl + "-o /dev/null " + url + "/")).first, "401");
  EXPECT_EQ(status_and_body(shell(curl + "-o /dev/null " + url + "/api/connections")).first, "401");
  EXPECT_EQ(status_and_body(shell(curl + "-o /dev/null -b " + quote(jar) + " " + url + "/")).first, "200");
  EXPECT_EQ(status_and_body(shell(curl + "-o /dev/null " + url + "/metrics")).first, "200");
}

TEST_F(hcm_security_test, KeepsDialingThePinnedEndpointWhenTheRelayNamesAnother) {
  tcp_echo_server pinned, elsewhere;
  auto hc = make("pinned", pinned.port());
  auto h = make_hcm("hcm");
  add(h, hc);
  h.start();
  ASSERT_TRUE(h.wait_status("localhost", hc.name, "Connected")) << h.log();
  sender_forwarder app(send_string(hc), relay().tls());
  ASSERT_EQ(sync(echo_once(app.port())), "through the tunnel\n");

  move_endpoint(hc, elsewhere.port());
  auto moved = "localhost:" + std::to_string(elsewhere.port());
  ASSERT_TRUE(wait_until(
      [&] {
        return reason(h, hc.name).find("endpoint changed on the relay to " + moved) != std::string::npos;
      },
      10s))
      << h.log();
  EXPECT_NE(reason(h, hc.name).find("run `hcm add` again to accept"), std::string::npos)
      << reason(h, hc.name);
  EXPECT_NE(h.cli("list").output.find("endpoint changed on the relay"), std::string::npos);
  EXPECT_EQ(h.status("localhost", hc.name), "Connected");
  EXPECT_EQ(sync(echo_once(app.port())), "through the tunnel\n");
  EXPECT_EQ(pinned.accepted(), 2) << "both tunnels reached the pinned endpoint";
  EXPECT_EQ(elsewhere.accepted(), 0) << "the relay's new endpoint is not dialed";
  auto o = h.show("localhost", hc.name);
  EXPECT_EQ(boost::json::value_to<std::string>(o["Endpoint"]), "localhost:" + std::to_string(pinned.port()));

  // `hcm add` again accepts the new endpoint.
  add(h, hc);
  ASSERT_TRUE(wait_until(
      [&] { return reason(h, hc.name).empty() && h.status("localhost", hc.name) == "Connected"; }, 15s))
      << h.log();
  EXPECT_EQ(sync(echo_once(app.port())), "through the tunnel\n");
  EXPECT_EQ(elsewhere.accepted(), 1);
}

TEST_F(hcm_security_test, FollowEndpointFollowsTheRelay) {
  tcp_echo_server first, second;
  auto hc = make("following", first.port());
  auto h = make_hcm("hcm");
  add(h, hc, "--follow-endpoint");
  h.start();
  ASSERT_TRUE(h.wait_status("localhost", hc.name, "Connected")) << h.log();
  move_endpoint(hc, second.port());
  auto moved = "localhost:" + std::to_string(second.port());
  ASSERT_TRUE(
      wait_until([&] { return h.log().find("endpoint " + moved + " (following") != std::string::npos; }, 10s))
      << h.log();
  sender_forwarder app(send_string(hc), relay().tls());
  EXPECT_EQ(sync(echo_once(app.port())), "through the tunnel\n");
  EXPECT_EQ(second.accepted(), 1);
  EXPECT_EQ(first.accepted(), 0);
  EXPECT_EQ(reason(h, hc.name), "") << "following is not a change to show";
}

// connections.json as an older hcm (or an add while the relay was away) left it: no endpoint.
TEST_F(hcm_security_test, AnEntryWithoutAPinnedEndpointIsPinnedOnFirstLoad) {
  tcp_echo_server original, elsewhere;
  auto hc = make("legacy", original.port());
  auto h = make_hcm("hcm");
  add(h, hc);
  auto path = h.config_dir() / "connections.json";
  auto entries = boost::json::parse(read_text_file(path)).as_array();
  entries[0].as_object()["endpointHost"] = "";
  entries[0].as_object()["endpointPort"] = 0;
  { std::ofstream(path) << boost::json::serialize(entries); }
  h.start();
  ASSERT_TRUE(h.wait_status("localhost", hc.name, "Connected")) << h.log();
  auto ours = "localhost:" + std::to_string(original.port());
  ASSERT_TRUE(
      wait_until([&] { return h.log().find("endpoint " + ours + " pinned in") != std::string::npos; }, 10s))
      << h.log();
  EXPECT_NE(h.log().find("pinning " + ours), std::string::npos) << h.log();
  auto stored = boost::json::parse(read_text_file(path)).as_array()[0].as_object();
  EXPECT_EQ(stored["endpointPort"].to_number<int>(), original.port());
  EXPECT_EQ(file_mode(path), 0600u);

  move_endpoint(hc, elsewhere.port());
  ASSERT_TRUE(
      wait_until([&] { return reason(h, hc.name).find("endpoint changed") != std::string::npos; }, 10s));
  sender_forwarder app(send_string(hc), relay().tls());
  EXPECT_EQ(sync(echo_once(app.port())), "through the tunnel\n");
  EXPECT_EQ(elsewhere.accepted(), 0);
}

TEST_F(hcm_security_test, ALinkLocalEndpointIsRefusedUnlessAllowed) {
  auto refused_hc = sync(make_hc(relay(), "metadata", R"({"endpoint":"169.254.169.254:80"})"));
  auto allowed_hc = sync(make_hc(relay(), "metadata-allowed", R"({"endpoint":"169.254.169.254:80"})"));
  auto h = make_hcm("hcm");
  add(h, refused_hc);
  add(h, allowed_hc, "--allow-link-local");
  h.start();
  ASSERT_TRUE(h.wait_status("localhost", refused_hc.name, "Connected")) << h.log();
  ASSERT_TRUE(h.wait_status("localhost", allowed_hc.name, "Connected")) << h.log();

  auto started = std::chrono::steady_clock::now();
  auto refused = send_once(refused_hc);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s) << "refused at once, nothing dialed";
  EXPECT_EQ(refused.status, 502) << refused.reason;
  EXPECT_NE(refused.reason.find("refused: 169.254.169.254 is link-local"), std::string::npos)
      << refused.reason;
  EXPECT_NE(refused.reason.find("--allow-link-local"), std::string::npos) << refused.reason;
  EXPECT_TRUE(wait_until(
      [&] {
        return h.text("localhost", refused_hc.name, "LastError").find("link-local") != std::string::npos;
      },
      5s));

  // Allowed: hcm dials it (nothing answers there on a test host: the reason is the dial's own).
  auto tried = send_once(allowed_hc, 25s);
  EXPECT_EQ(tried.reason.find("link-local"), std::string::npos) << tried.reason;
}

}  // namespace
}  // namespace hc::test
