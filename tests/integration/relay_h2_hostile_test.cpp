// HTTP/2 clients that mean harm, against a relay that offers h2 on its public port (RFC 8441 for
// our agents, but anyone may choose it by ALPN): a rapid-reset flood (CVE-2023-44487) costs the
// attacker its connection and nobody else anything; so do streams past the per-source limit.
// Every case ends with the other tenant's tunnel and a new one working.
#include "harness.hpp"

#include "net/h2_session.hpp"
#include "net/tls.hpp"
#include "net/ws_client.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

namespace hc::test {
namespace {

class RelayH2Hostile : public relay_test {};

// A TLS connection to the relay on which h2 was chosen, SETTINGS received.
task<std::shared_ptr<net::h2_session>> h2_connect(const relay_process& relay) {
  std::string error;
  auto connection = co_await net::open_tls_connection("localhost", relay.port(), relay.tls(), 10s,
                                                      net::alpn_h2_then_http11, error);
  require(connection.has_value(), "TLS to the relay: " + error);
  require_eq(connection->negotiated_protocol(), std::string("h2"), "the protocol chosen by ALPN");
  auto ex = co_await net::asio::this_coro::executor;
  auto session = net::h2_session::start(ex, std::move(*connection), net::h2_options{});
  bool ready = co_await session->ready();
  require(ready, "the relay sent no SETTINGS");
  co_return session;
}

// Extended CONNECT for `action` (connect, listen) on `path` with `token`.
header_list websocket_head(const relay_process& relay, const std::string& path, const std::string& action,
                           const std::string& token) {
  return {{":method", "CONNECT"},
          {":protocol", "websocket"},
          {":scheme", "https"},
          {":authority", "localhost:" + std::to_string(relay.port())},
          {":path", "/$hc/" + path + "?sb-hc-action=" + action},
          {"sec-websocket-version", "13"},
          {"servicebusauthorization", token}};
}

task<> yield_once() {
  auto ex = co_await net::asio::this_coro::executor;
  co_await net::asio::post(ex, net::asio::use_awaitable);
}

// "orders", the tenant that must not notice, with its listener and an open tunnel; "target", the
// hybrid connection the attacker aims at.
struct two_tenants {
  hc_fixture hc, target;
  net::ws_connection control;
  tunnel kept;
};
task<two_tenants> tenants(const relay_process& relay) {
  auto hc = co_await make_hc(relay, "orders");
  auto target = co_await make_hc(relay, "target");
  auto control = co_await connect_listener(relay, "orders", hc.listen_token);
  auto kept = co_await open_tunnel(relay, control, "orders", hc.send_token);
  co_return two_tenants{std::move(hc), std::move(target), std::move(control), std::move(kept)};
}

// The other tenant's tunnel still carries a message, and a new one opens and carries one.
task<> others_unharmed(const relay_process& relay, net::ws_connection& control, tunnel& kept,
                       const hc_fixture& hc, const std::string& when) {
  co_await send_frame(kept.sender, opcode::text, true, "still there " + when);
  auto got = co_await read_frame(kept.listener, "the kept tunnel's listener leg");
  EXPECT_EQ(got.payload, "still there " + when);
  auto fresh = co_await open_tunnel(relay, control, hc.name, hc.send_token);
  co_await send_frame(fresh.sender, opcode::text, true, "new " + when);
  auto echoed = co_await read_frame(fresh.listener, "a new tunnel's listener leg");
  EXPECT_EQ(echoed.payload, "new " + when);
}

TEST_F(RelayH2Hostile, ARapidResetFloodCostsTheAttackerItsConnectionAndNobodyElseAnything) {
  run(
      [&]() -> task<> {
        auto t = co_await tenants(relay());
        auto& [hc, target, control, kept] = t;

        // Open a stream and reset it at once, as fast as the connection takes them.
        auto attacker = co_await h2_connect(relay());
        auto head = websocket_head(relay(), "target", "connect", target.send_token);
        constexpr int flood = 20000;
        int opened = 0;
        while (opened < flood && attacker->usable()) {
          // A batch of requests goes out, then their resets (a reset before the request is sent
          // would only cancel it here).
          std::vector<net::h2_stream> batch;
          for (int i = 0; i < 64; ++i) {
            auto stream = attacker->open(head);
            if (!stream) break;
            batch.push_back(std::move(stream));
          }
          if (batch.empty()) break;
          opened += int(batch.size());
          co_await yield_once();
          co_await yield_once();
          for (auto& stream : batch) stream.reset();
          co_await yield_once();
        }
        // nghttp2 closes the connection after 1,000 resets in a burst (GOAWAY); the flood may well
        // be sent before that GOAWAY arrives here. The connection must end well before the
        // relay's idle timeout (10 s) would end it anyway, and the relay says why.
        auto flooded = std::chrono::steady_clock::now();
        while (attacker->usable() && std::chrono::steady_clock::now() - flooded < 5s)
          co_await pause_for(50ms);
        EXPECT_FALSE(attacker->usable())
            << "the relay took " << opened << " streams reset at once and kept the connection";
        bool said = wait_until(
            [&] {
              return relay().process().log().find("closing it with GOAWAY INTERNAL_ERROR") !=
                     std::string::npos;
            },
            5s);
        EXPECT_TRUE(said) << "the relay's log does not say it closed the flooding connection";
        co_await others_unharmed(relay(), control, kept, hc, "after the flood");
      },
      60s);
}

// One HTTP/2 connection must not hold more than a source may: each stream counts as a connection
// would, and the stream past the cap gets 503 with a sentence (the connection and its other
// streams go on).
TEST_F(RelayH2Hostile, StreamsPastThePerSourceCapAreRefusedWithASentence) {
  relay_.reset();
  relay_.emplace(dir_.path() / "capped", std::vector<std::string>{"--max-connections-per-source", "12"});
  run(
      [&]() -> task<> {
        auto t = co_await tenants(relay());
        auto& [hc, target, control, kept] = t;

        auto hoarder = co_await h2_connect(relay());
        auto head = websocket_head(relay(), "target", "listen", target.listen_token);
        std::vector<net::h2_stream> held;
        int accepted = 0, refused = 0;
        std::string sentence;
        for (int i = 0; i < 20; ++i) {
          auto stream = hoarder->open(head);
          require(bool(stream), "stream " + std::to_string(i) + " could not be opened");
          auto status = co_await stream.response_head();
          require(status.has_value(), "stream " + std::to_string(i) + " got no answer");
          if (*status == 200) {
            ++accepted;
            held.push_back(std::move(stream));
            continue;
          }
          EXPECT_EQ(*status, 503) << "stream " << i;
          ++refused;
          if (sentence.empty()) {
            char buffer[512];
            auto r = co_await stream.read_some(net::asio::buffer(buffer));
            sentence.assign(buffer, r.bytes);
          }
        }
        EXPECT_LT(accepted, 12) << "one connection held more streams than the source may hold";
        EXPECT_GT(refused, 0);
        EXPECT_NE(sentence.find("Too many open connections and streams from 127.0.0.1"), std::string::npos)
            << sentence;
        EXPECT_TRUE(hoarder->usable()) << "a refused stream cost the connection";
        for (auto& stream : held) stream.reset();
        held.clear();
        std::printf("[ h2       ] %d streams held, %d refused\n", accepted, refused);
        co_await pause_for(200ms);  // the relay sees the resets and frees the places
        co_await others_unharmed(relay(), control, kept, hc, "after the hoarder let go");
        hoarder->shut_down();
      },
      60s);
}

}  // namespace
}  // namespace hc::test
