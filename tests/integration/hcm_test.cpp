// tests/integration/hcm_test: hcm end to end on loopback: hcrelay over TLS, the hcm service and
// CLI as real processes, real endpoints (redis-server, python's http.server) reached through
// relay + hcm from an in-test sender. One test per behaviour the issue asks for: tunnels,
// redundancy, reconnect after a relay restart, endpoint down -> 502 with a reason, an accept for a
// foreign host rejected through the relay, config changes
// while running, refused connection strings, token renewal, the web UI and /metrics.
#include "hcm_support.hpp"
#include "util/build_info.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <signal.h>

#include <array>
#include <fstream>

namespace hc::test {
namespace {
using namespace hcm;

class hcm_test : public hcm_fixture {};

TEST_F(hcm_test, RedisAndHttpThroughRelayAndHcm) {
  redis_process redis(dir_.path());
  auto http_port = free_port();
  fs::create_directories(dir_.path() / "www");
  { std::ofstream(dir_.path() / "www" / "hello.txt") << "hello through hcm\n"; }
  child_process http("/usr/bin/python3",
                     {"-m", "http.server", std::to_string(http_port), "--bind", "127.0.0.1", "--directory",
                      (dir_.path() / "www").string()},
                     dir_.path() / "http.log");
  ASSERT_TRUE(wait_until(
      [&] {
        return shell("curl -s -o /dev/null http://127.0.0.1:" + std::to_string(http_port) + "/").rc == 0;
      },
      10s));

  auto redis_hc = make("redis", redis.port());
  auto web_hc = make("web", http_port);
  auto h = make_hcm("hcm");
  add(h, redis_hc);
  add(h, web_hc);
  h.start();
  ASSERT_TRUE(h.wait_status("localhost", "redis", "Connected")) << h.log();
  ASSERT_TRUE(h.wait_status("localhost", "web", "Connected")) << h.log();

  sender_forwarder to_redis(send_string(redis_hc), relay().tls());
  auto cli = "redis-cli -p " + std::to_string(to_redis.port()) + " ";
  EXPECT_EQ(shell(cli + "PING").output, "PONG\n");
  EXPECT_EQ(shell(cli + "SET greeting 'hello hcm'").output, "OK\n");
  EXPECT_EQ(shell(cli + "GET greeting").output, "hello hcm\n");
  EXPECT_EQ(redis.ping(redis.port()), true);

  sender_forwarder to_web(send_string(web_hc), relay().tls());
  auto got = shell("curl -s --max-time 10 http://127.0.0.1:" + std::to_string(to_web.port()) + "/hello.txt");
  EXPECT_EQ(got.rc, 0);
  EXPECT_EQ(got.output, "hello through hcm\n");

  // Counters reach status.json within a second or two.
  EXPECT_TRUE(wait_until([&] { return h.number("localhost", "redis", "TunnelsTotal") >= 3; }, 5s));
  EXPECT_TRUE(wait_until([&] { return h.number("localhost", "web", "BytesFromEndpoint") > 18; }, 5s));
  EXPECT_EQ(h.number("localhost", "redis", "NumberOfListeners"), 1);
  auto list = h.cli("list");
  EXPECT_NE(list.output.find("Connected"), std::string::npos) << list.output;
  EXPECT_EQ(list.output.find(redis_hc.listen_key), std::string::npos) << "list must not print keys";
  EXPECT_EQ(h.log().find(redis_hc.listen_key), std::string::npos) << "the log must not hold keys";
}

TEST_F(hcm_test, TwoHcmShareOneHybridConnectionAndSurviveKill9) {
  redis_process redis(dir_.path());
  auto hc = make("redundant", redis.port());
  auto a = make_hcm("hcm-a");
  auto b = make_hcm("hcm-b");
  add(a, hc);
  add(b, hc);
  a.start();
  b.start();
  ASSERT_TRUE(listeners(hc.name, 2));
  sender_forwarder sender(send_string(hc), relay().tls());
  auto ping = "redis-cli -p " + std::to_string(sender.port()) + " PING";
  for (int i = 0; i < 24; ++i) ASSERT_EQ(shell(ping).output, "PONG\n") << "connection " << i;
  ASSERT_TRUE(wait_until(
      [&] {
        return a.number("localhost", hc.name, "TunnelsTotal") +
                   b.number("localhost", hc.name, "TunnelsTotal") ==
               24;
      },
      5s));
  EXPECT_GT(a.number("localhost", hc.name, "TunnelsTotal"), 0) << "the relay spreads connections over both";
  EXPECT_GT(b.number("localhost", hc.name, "TunnelsTotal"), 0);

  a.kill9();
  ASSERT_TRUE(listeners(hc.name, 1));
  for (int i = 0; i < 10; ++i) ASSERT_EQ(shell(ping).output, "PONG\n") << "after kill -9, connection " << i;
  EXPECT_EQ(a.status("localhost", hc.name), "Disconnected") << "a dead service shows as not running";
}

TEST_F(hcm_test, ReconnectsByItselfAfterTheRelayRestarts) {
  redis_process redis(dir_.path());
  auto hc = make("survivor", redis.port());
  auto h = make_hcm("hcm");
  add(h, hc);
  h.start();
  ASSERT_TRUE(h.wait_status("localhost", hc.name, "Connected")) << h.log();
  {
    sender_forwarder sender(send_string(hc), relay().tls());
    ASSERT_EQ(shell("redis-cli -p " + std::to_string(sender.port()) + " PING").output, "PONG\n");
  }
  auto port = relay().port();
  auto tls = relay().tls();
  relay_.reset();  // SIGTERM, waits for exit
  ASSERT_TRUE(h.wait_status("localhost", hc.name, "Disconnected", 10s));
  fs::remove(dir_.path() / "relay" / "root.connection-string");
  child_process again(bin_path("hcrelay"),
                      {"--data-dir", (dir_.path() / "relay").string(), "--listen",
                       "127.0.0.1:" + std::to_string(port), "--dev-tls"},
                      dir_.path() / "hcrelay-again.log");
  ASSERT_TRUE(wait_for_file(dir_.path() / "relay" / "root.connection-string", 20s)) << again.log();
  ASSERT_TRUE(h.wait_status("localhost", hc.name, "Connected", 30s)) << h.log();
  EXPECT_GE(h.number("localhost", hc.name, "ReconnectCount"), 1);
  sender_forwarder sender(send_string(hc), tls);
  EXPECT_EQ(shell("redis-cli -p " + std::to_string(sender.port()) + " PING").output, "PONG\n");
}

// While the relay is down, hcm dials again on the backoff schedule (0, 1, 2, 5, 10, 30 s, each
// with up to 20 % jitter), not in a hot loop and not never: a plain TCP port in the relay's place
// counts the attempts (each closed at once, as a dead relay behind a balancer would).
TEST_F(hcm_test, RedialsOnTheBackoffScheduleWhileTheRelayIsDown) {
  auto hc = make("patient", 9);
  auto h = make_hcm("hcm");
  add(h, hc);
  h.start();
  ASSERT_TRUE(h.wait_status("localhost", hc.name, "Connected")) << h.log();
  auto port = relay().port();
  relay_.reset();  // SIGTERM, waits for exit

  asio::io_context io;
  net::tcp::acceptor stand_in(io);
  stand_in.open(net::tcp::v4());
  stand_in.set_option(asio::socket_base::reuse_address(true));
  stand_in.bind({asio::ip::address_v4::loopback(), port});
  stand_in.listen();
  std::vector<double> dialed_at;  // seconds since the stand-in opened
  auto opened = std::chrono::steady_clock::now();
  std::function<void()> take = [&] {
    stand_in.async_accept([&](net::error_code ec, net::tcp::socket s) {
      if (ec) return;
      dialed_at.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - opened).count());
      s.close();
      take();
    });
  };
  take();
  io.run_for(9s);
  std::string seen;
  for (auto t : dialed_at) seen += std::to_string(t) + " ";
  // Attempts start at about 0-1, 1-2.2, 3-4.6 and 8-10.6 s: three or four in 9 s. A TLS leg and an
  // HTTP/2 leg may each dial, so up to two connections per attempt.
  EXPECT_GE(dialed_at.size(), 2u) << "hcm stopped dialing: " << seen;
  EXPECT_LE(dialed_at.size(), 8u) << "hcm dials faster than its backoff: " << seen;
  ASSERT_FALSE(dialed_at.empty());
  EXPECT_GE(dialed_at.back(), 1.0) << "every attempt came at once: " << seen;
}

TEST_F(hcm_test, EndpointDownRejectsWith502AndShowSaysWhy) {
  auto dead_port = free_port();  // nothing listens here
  auto hc = make("nowhere", dead_port);
  auto h = make_hcm("hcm");
  add(h, hc);
  h.start();
  ASSERT_TRUE(h.wait_status("localhost", hc.name, "Connected")) << h.log();
  auto dialed = send_once(hc);
  EXPECT_EQ(dialed.status, 502);
  auto endpoint = "localhost:" + std::to_string(dead_port);
  EXPECT_NE(dialed.reason.find("endpoint " + endpoint + " unreachable from hcm"), std::string::npos)
      << dialed.reason;
  EXPECT_TRUE(wait_until(
      [&] {
        auto o = h.show("localhost", hc.name);
        auto* e = o.if_contains("LastError");
        return e && e->is_string() && std::string(e->get_string()).find("unreachable") != std::string::npos;
      },
      5s));
  auto shown = h.cli("show localhost nowhere");
  EXPECT_NE(shown.output.find("endpoint " + endpoint + " unreachable"), std::string::npos) << shown.output;
}

// HTTP mode reaches hcm too (the relay sends `request` to any listener, as Azure does): hcm
// answers 501 with a sentence at once, for a small request and for one announced by address only
// (a 100 KB POST), and the control channel stays up for tunnels.
TEST_F(hcm_test, HttpModeRequestsGet501WithASentenceAndTunnelsGoOn) {
  tcp_echo_server endpoint;
  auto hc = make("tcponly", endpoint.port());
  auto h = make_hcm("hcm");
  add(h, hc);
  h.start();
  ASSERT_TRUE(h.wait_status("localhost", hc.name, "Connected")) << h.log();
  for (bool large : {false, true}) {
    net::http_call call;
    call.method = large ? "POST" : "GET";
    call.url = "https://localhost:" + std::to_string(relay().port()) + "/tcponly/status";
    call.headers = {{"ServiceBusAuthorization", hc.send_token}};
    if (large) call.body.assign(100 * 1024, 'x');
    call.tls = relay().tls();
    call.timeout = 10s;
    auto started = std::chrono::steady_clock::now();
    auto r = sync(net::call_http(std::move(call)));
    ASSERT_TRUE(r.response) << r.error;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s) << "hcm left the request to time out";
    EXPECT_EQ(r.response->status, 501) << r.response->body << "\n" << h.log();
    EXPECT_NE(r.response->body.find("is served by hcm on"), std::string::npos) << r.response->body;
    EXPECT_NE(r.response->body.find("not HTTP requests"), std::string::npos) << r.response->body;
    if (large)  // answered unfetched: the body is never read, the connection ends with the answer
      EXPECT_EQ(r.response->header("Connection"), "close");
  }
  sender_forwarder sender(send_string(hc), relay().tls());
  EXPECT_TRUE(sync([&]() -> task<bool> {
    auto c = co_await net::connect_tcp("127.0.0.1", sender.port());
    require(!c.first, "connect to the sender's forwarder: " + c.first.message());
    co_await expect_echo(c.second, "still a tunnel\n");
    co_return true;
  }()));
}

// A relay whose accept addresses name a host hcm must not dial (here one advertised as
// evil.example): hcm dials nothing there and rejects through its own relay, so the sender gets
// 502 with the reason at once instead of waiting out the 30 s accept window.
TEST_F(hcm_test, AnAcceptForAForeignHostIsRejectedThroughTheRelayNotIgnored) {
  relay_.reset();
  relay_.emplace(dir_.path() / "advertising", std::vector<std::string>{"--advertise", "evil.example:443"});
  tcp_echo_server endpoint;
  auto hc = make("guarded", endpoint.port());
  auto h = make_hcm("hcm");
  add(h, hc);
  h.start();
  ASSERT_TRUE(h.wait_status("localhost", hc.name, "Connected")) << h.log();
  auto started = std::chrono::steady_clock::now();
  auto dialed = send_once(hc);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s) << "the sender waited for an accept hcm ignored";
  EXPECT_EQ(dialed.status, 502) << dialed.reason;
  EXPECT_NE(dialed.reason.find("hcm refused"), std::string::npos) << dialed.reason;
  EXPECT_NE(dialed.reason.find("evil.example"), std::string::npos) << dialed.reason;
  EXPECT_EQ(endpoint.accepted(), 0) << "nothing may be dialed for a foreign accept";
}

// hcm pings its tunnel legs (--tunnel-keepalive; Azure cuts legs idle for about 4 minutes): an
// idle pooled connection left silent for several intervals still carries bytes afterwards, and
// hcm did not take the relay's Pongs for a lost leg.
TEST_F(hcm_test, AnIdleTunnelOutlivesSeveralKeepAliveIntervals) {
  tcp_echo_server endpoint;
  auto hc = make("idle", endpoint.port());
  auto h = make_hcm("hcm");
  add(h, hc);
  h.start({"--tunnel-keepalive", "1"});
  ASSERT_TRUE(h.wait_status("localhost", hc.name, "Connected")) << h.log();
  sender_forwarder app(send_string(hc), relay().tls());
  run_bounded(
      [&]() -> task<> {
        auto c = co_await net::connect_tcp("127.0.0.1", app.port());
        require(!c.first, "connect to the app side: " + c.first.message());
        const std::array<std::string, 2> lines{"before the silence\n",
                                               "after the silence\n"};  // net/types.hpp
        for (const auto& line : lines) {
          if (line.starts_with("after")) {
            asio::steady_timer quiet(co_await asio::this_coro::executor, 3500ms);  // 3 intervals and more
            co_await quiet.async_wait(asio::use_awaitable);
          }
          co_await expect_echo(c.second, line);
        }
      },
      20s);
  EXPECT_EQ(endpoint.accepted(), 1) << "the same tunnel carried both lines";
}

TEST_F(hcm_test, ConfigChangesTakeEffectWhileRunning) {
  redis_process redis(dir_.path());
  auto hc = make("live-edit", redis.port());
  auto h = make_hcm("hcm");
  h.start();
  ASSERT_TRUE(wait_for_file(h.config_dir() / "status.json", 10s));
  add(h, hc);
  EXPECT_EQ(file_mode(h.config_dir() / "connections.json"), 0600u);
  ASSERT_TRUE(h.wait_status("localhost", hc.name, "Connected")) << h.log();
  ASSERT_TRUE(listeners(hc.name, 1));

  auto restarted = h.cli("restart localhost live-edit");
  EXPECT_EQ(restarted.rc, 0) << restarted.output;
  EXPECT_TRUE(wait_until([&] { return h.log().find("changed or restarted") != std::string::npos; }, 5s));
  ASSERT_TRUE(h.wait_status("localhost", hc.name, "Connected")) << h.log();

  auto removed = h.cli("remove localhost live-edit");
  EXPECT_EQ(removed.rc, 0) << removed.output;
  EXPECT_TRUE(listeners(hc.name, 0)) << "removing the entry closes the control channel";
  EXPECT_EQ(h.cli("show localhost live-edit").rc, 3);  // not found
  EXPECT_EQ(h.cli("remove localhost live-edit").rc, 3);
  EXPECT_EQ(file_mode(h.config_dir() / "connections.json"), 0600u);
}

TEST_F(hcm_test, BadConnectionStringsAreRefusedWithTheReason) {
  auto hc = make("strict", 9);
  auto h = make_hcm("hcm");
  struct refusal {
    std::string text;
    std::string says;
  };
  std::string good = listen_string(hc);
  std::string wrong_key =
      listener_string(relay(), hc.name, "defaultListener", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  for (auto& [text, says] : std::vector<refusal>{
           {"Endpoint=sb://localhost/;EntityPath=strict", "no key"},
           {"this is not a connection string", "malformed"},
           {"Endpoint=http://localhost/;SharedAccessKeyName=a;SharedAccessKey=b;EntityPath=x", "malformed"},
           {good.substr(0, good.find(";EntityPath")), "no EntityPath"},
           {send_string(hc), "may not listen"},
           {wrong_key, "refused the key"},
           {listener_string(relay(), "no-such-hc", "defaultListener", hc.listen_key), ""},
       }) {
    auto r = h.cli("add " + quote(text));
    EXPECT_NE(r.rc, 0) << text;
    EXPECT_NE(r.output.find("not added"), std::string::npos) << r.output;
    if (!says.empty()) {
      EXPECT_NE(r.output.find(says), std::string::npos) << r.output;
    }
    EXPECT_EQ(r.output.find(hc.listen_key), std::string::npos) << "a refusal must not echo the key";
  }
  EXPECT_EQ(h.cli("list -o json").output, "[]\n");
  auto ok = h.cli("add " + quote(good));
  EXPECT_EQ(ok.rc, 0) << ok.output;
  EXPECT_EQ(file_mode(h.config_dir() / "connections.json"), 0600u);
}

TEST_F(hcm_test, RenewsTokensWithoutDroppingTheControlChannel) {
  redis_process redis(dir_.path());
  auto hc = make("renewing", redis.port());
  auto h = make_hcm("hcm", {{"HCM_TOKEN_LIFETIME_SECONDS", "2"}});
  add(h, hc);
  h.start();
  ASSERT_TRUE(h.wait_status("localhost", hc.name, "Connected")) << h.log();
  ASSERT_TRUE(wait_until(
      [&] {
        auto log = h.log();
        std::size_t n = 0;
        for (auto at = log.find("token renewed"); at != std::string::npos;
             at = log.find("token renewed", at + 1))
          ++n;
        return n >= 3;
      },
      10s))
      << h.log();
  EXPECT_EQ(h.number("localhost", hc.name, "ReconnectCount"), 0);
  sender_forwarder sender(send_string(hc), relay().tls());
  EXPECT_EQ(shell("redis-cli -p " + std::to_string(sender.port()) + " PING").output, "PONG\n");
}

TEST_F(hcm_test, WebUiListsConnectionsServesMetricsAndRefusesCrossSitePosts) {
  redis_process redis(dir_.path());
  auto hc = make("ui-shown", redis.port());
  auto h = make_hcm("hcm");
  add(h, hc);
  auto ui_port = free_port();
  h.start({"--ui-port", std::to_string(ui_port)});
  ASSERT_TRUE(h.wait_status("localhost", hc.name, "Connected")) << h.log();
  auto url = "http://127.0.0.1:" + std::to_string(ui_port);
  auto bearer = "-H " + quote("Authorization: Bearer " + h.ui_token()) + " ";
  auto base = "curl -s --max-time 5 " + bearer + url;
  std::string post = "curl -s --max-time 5 -o /dev/null -w '%{http_code}' " + bearer;
  auto index = shell(base + "/");
  EXPECT_NE(index.output.find("ui-shown"), std::string::npos) << index.output;
  EXPECT_NE(index.output.find("Connected"), std::string::npos);
  EXPECT_NE(index.output.find("Enter manually"), std::string::npos);
  auto details = shell(base + "/connections/localhost/ui-shown");
  EXPECT_NE(details.output.find("defaultListener"), std::string::npos) << details.output;
  EXPECT_EQ(details.output.find(hc.listen_key), std::string::npos);
  auto api = shell(base + "/api/connections");
  EXPECT_NE(api.output.find("\"Status\":\"Connected\""), std::string::npos) << api.output;
  auto metrics = shell(base + "/metrics");
  EXPECT_NE(metrics.output.find("hcm_connections{status=\"Connected\"} 1"), std::string::npos)
      << metrics.output;
  EXPECT_NE(metrics.output.find("hcm_tunnel_setup_seconds"), std::string::npos);
  EXPECT_NE(metrics.output.find("hcm_build_info{version=\"" + std::string(util::version()) + "\",commit=\"" +
                                std::string(util::commit()) + "\"} 1"),
            std::string::npos)
      << metrics.output;
  for (std::string family : {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
                             "process_open_fds ", "process_max_fds ", "process_start_time_seconds "})
    EXPECT_NE(metrics.output.find("\n" + family), std::string::npos) << family;
  auto cross = shell(post + "-H 'Origin: http://evil.example' --data-urlencode " +
                     quote("connectionString=" + listen_string(hc)) + " " + url + "/connections");
  EXPECT_EQ(cross.output, "403");
  auto bad = shell(post + "--data-urlencode 'connectionString=nonsense' " + url + "/connections");
  EXPECT_EQ(bad.output, "400");
  auto same_site = shell(post + "-H " + quote("Origin: " + url) + " --data-urlencode " +
                         quote("connectionString=" + listen_string(hc)) + " " + url + "/connections");
  EXPECT_EQ(same_site.output, "200") << "re-adding from the UI itself updates the entry";

  // The table the page refreshes by itself, with Restart and Remove on every row.
  auto fragment = shell(base + "/connections-table");
  EXPECT_NE(fragment.output.find("data-name=\"ui-shown\""), std::string::npos) << fragment.output;
  EXPECT_NE(fragment.output.find("action=\"/connections/localhost/ui-shown/restart\""), std::string::npos);
  EXPECT_NE(fragment.output.find("action=\"/connections/localhost/ui-shown/remove\""), std::string::npos);
  EXPECT_NE(index.output.find("fetch('/connections-table')"), std::string::npos)
      << "the list does not refresh";
  auto generation = [&] {
    auto doc = boost::json::parse(read_text_file(h.config_dir() / "connections.json"));
    return doc.as_array().at(0).as_object().at("restartGeneration").to_number<std::int64_t>();
  };
  auto before = generation();
  auto restart = shell(post + "-H " + quote("Origin: " + url) + " -X POST " + url +
                       "/connections/localhost/ui-shown/restart");
  EXPECT_EQ(restart.output, "200");
  EXPECT_EQ(generation(), before + 1);
  EXPECT_TRUE(h.wait_status("localhost", hc.name, "Connected")) << "reconnected after the restart\n"
                                                                << h.log();
  auto foreign_remove = shell(post + "-H 'Origin: http://evil.example' -X POST " + url +
                              "/connections/localhost/ui-shown/remove");
  EXPECT_EQ(foreign_remove.output, "403");
  EXPECT_NE(h.cli("list").output.find("ui-shown"), std::string::npos) << "a cross-site POST removed it";
  // What a browser sends for the page's own form under Referrer-Policy: no-referrer (Origin: null,
  // Sec-Fetch-Site: same-origin) acts; the same null from another site does not.
  auto null_cross = shell(post + "-H 'Origin: null' -H 'Sec-Fetch-Site: cross-site' -X POST " + url +
                          "/connections/localhost/ui-shown/restart");
  EXPECT_EQ(null_cross.output, "403");
  auto null_unsure =
      shell(post + "-H 'Origin: null' -X POST " + url + "/connections/localhost/ui-shown/restart");
  EXPECT_EQ(null_unsure.output, "403");
  EXPECT_EQ(generation(), before + 1);
  auto browser_form = shell(post + "-H 'Origin: null' -H 'Sec-Fetch-Site: same-origin' -X POST " + url +
                            "/connections/localhost/ui-shown/restart");
  EXPECT_EQ(browser_form.output, "200") << "the page's own Restart button, as Chromium sends it";
  EXPECT_EQ(generation(), before + 2);
  auto unknown = shell(post + "-H " + quote("Origin: " + url) + " -X POST " + url +
                       "/connections/localhost/nope/remove");
  EXPECT_EQ(unknown.output, "404");
  auto longer = shell(post + "-H " + quote("Origin: " + url) + " -X POST " + url +
                      "/connections/localhost/ui-shown/remove/more");
  EXPECT_EQ(longer.output, "404") << "a longer path acted on a connection";

  // Liveness and readiness need no token (like /metrics): ready while every hybrid connection is
  // Connected; when the relay drops one, not ready, saying how many without naming them.
  auto probe = "curl -s --max-time 5 -w ' %{http_code}' " + url;
  EXPECT_EQ(shell(probe + "/healthz").output, "ok\n 200");
  EXPECT_EQ(shell(probe + "/readyz").output, "ready\n 200");
  run_bounded([&]() -> task<> { co_await delete_hc(relay(), hc.name); }, 20s);
  std::string not_ready;
  EXPECT_TRUE(wait_until(
      [&] {
        not_ready = shell(probe + "/readyz").output;
        return not_ready.ends_with(" 503");
      },
      10s))
      << not_ready;
  EXPECT_NE(not_ready.find("1 of 1 hybrid connections are not Connected"), std::string::npos) << not_ready;
  EXPECT_EQ(not_ready.find("ui-shown"), std::string::npos) << "an untokened page names a connection";

  auto removed = shell(post + "-H " + quote("Origin: " + url) + " -X POST " + url +
                       "/connections/localhost/ui-shown/remove");
  EXPECT_EQ(removed.output, "200");
  EXPECT_EQ(h.cli("list").output.find("ui-shown"), std::string::npos) << "Remove left it configured";
}

TEST_F(hcm_test, TestVerbShowsResolutionAndReachability) {
  redis_process redis(dir_.path());
  auto h = make_hcm("hcm");
  auto up = h.cli("test localhost:" + std::to_string(redis.port()));
  EXPECT_EQ(up.rc, 0) << up.output;
  EXPECT_NE(up.output.find("127.0.0.1:" + std::to_string(redis.port())), std::string::npos) << up.output;
  EXPECT_NE(up.output.find("connected in"), std::string::npos) << up.output;
  auto down = h.cli("test 127.0.0.1:" + std::to_string(free_port()));
  EXPECT_NE(down.rc, 0) << down.output;
  EXPECT_NE(h.cli("version").output.find("hcm "), std::string::npos);
}

}  // namespace
}  // namespace hc::test
