// tests/integration/relay_hardening_test: what one sender, one listener or one source can do to
// everyone else, with real processes: an id or headers that would make an accept message too big
// for hcm, header bytes that are not UTF-8, a listener that stops reading while senders queue
// for it, a source that opens thousands of connections, keep-alive connections that idle or
// never end, request bodies sent before any authorization, failed management calls, and what a
// listener sees of a sender's Authorization header, a reject with a success status and SIGTERM.
// Key rotation and namespaces: relay_tenancy_test.cpp. Malformed input: relay_hostile_test.cpp.
#include "hcm_support.hpp"
#include "raw_client.hpp"

#include "proto/encoding.hpp"
#include "proto/hc_address.hpp"
#include "proto/utf8.hpp"

#include <signal.h>
#include <sys/socket.h>

#include <sys/resource.h>
#include <sys/socket.h>
#include <algorithm>
#include <cerrno>

#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>

namespace hc::test {
namespace {
using namespace hcm;

std::size_t open_fds(pid_t pid) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

std::size_t rss_kib(pid_t pid) {
  auto status = read_text_file("/proc/" + std::to_string(pid) + "/status");
  auto at = status.find("VmRSS:");
  return at == std::string::npos ? 0 : std::stoul(status.substr(at + 6));
}

// Room for 20,000 sockets and the test's own files (root may raise the hard limit too).
void raise_open_file_limit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  rlimit wanted{std::max<rlim_t>(limit.rlim_cur, 65536), std::max<rlim_t>(limit.rlim_max, 65536)};
  if (::setrlimit(RLIMIT_NOFILE, &wanted) != 0) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// A TLS connection to the relay from another loopback source address (127.0.0.2, ...).
task<net::byte_stream> connect_from(const relay_process& relay, const std::string& source) {
  auto stream = co_await raw::connect_from(relay, source);
  require(stream.has_value(), "TCP and TLS from " + source + " to the relay failed");
  co_return std::move(*stream);
}

std::string healthz_request(const relay_process& relay) {
  return "GET /healthz HTTP/1.1\r\nHost: " + relay.host() + "\r\n\r\n";
}

// Accepts every sender offered on `control` and echoes its frames until it closes, answering the
// relay's keep-alive pings; returns how many it accepted when the control channel ends.
task<int> accept_and_echo_all(const relay_process& relay, net::ws_connection& control) {
  int accepted = 0;
  for (;;) {
    auto [ec, h] = co_await control.read_header();
    if (ec) co_return accepted;
    std::string payload(h.payload_length, '\0');
    std::size_t at = 0;
    while (control.payload_remaining() > 0) {
      auto r = co_await control.read_payload(asio::buffer(payload.data() + at, payload.size() - at));
      if (r.ec) co_return accepted;
      at += r.bytes;
    }
    if (h.op == opcode::close) co_return accepted;
    if (h.op == opcode::ping) {  // the relay's keep-alive: a listener that never answers is dropped
      co_await control.write_frame(
          opcode::pong, true, std::span(reinterpret_cast<std::uint8_t*>(payload.data()), payload.size()));
      continue;
    }
    if (h.op != opcode::text) continue;
    auto command = proto::parse_relay_command(payload);
    if (!command || !std::holds_alternative<proto::accept_message>(*command)) continue;
    auto address = std::get<proto::accept_message>(*command).address;
    ++accepted;
    auto ex = co_await asio::this_coro::executor;
    asio::co_spawn(
        ex,
        [&relay, address]() -> task<> {
          auto leg = co_await dial_address(relay, address);
          if (leg.connection) co_await echo_until_close(*leg.connection);
        },
        asio::detached);
  }
}

// One echo through a sender that was answered 101.
task<bool> echo_once(net::ws_connection& sender, std::string text) {
  co_await send_frame(sender, opcode::binary, true, text);
  auto back = co_await read_frame(sender, "sender");
  co_await send_close(sender, 1000, "done");
  auto closed = co_await read_frame(sender, "sender");
  co_return back.payload == text&& closed.op == opcode::close;
}

// Reads the next accept on `control` and rejects it with `status` (the reject dial gets 410).
task<proto::accept_message> reject_next(const relay_process& relay, net::ws_connection& control, int status,
                                        std::string description) {
  auto accept = co_await read_accept(control);
  auto answer = co_await dial_address(relay, proto::build_reject_url(accept.address, status, description));
  require_eq(answer.status, 410, "the reject dial");
  co_return accept;
}

class RelayHardening : public relay_test {};

// ------------------------------------------------------------------ accept messages a listener can take
TEST(RelayHardeningHcm, NoSenderIdOrHeaderKnocksHcmOff) {
  test_dir dir;
  relay_process relay(dir.path());
  tcp_echo_server endpoint;
  auto port = endpoint.port();
  auto hc = sync(make_hc(relay, "cache", R"({"endpoint":"localhost:)" + std::to_string(port) + R"("})"));
  hcm_instance h(dir.path() / "hcm", relay.ca_file(), {{"HCM_REFRESH_SECONDS", "1"}});
  ASSERT_EQ(h.cli("add " + quote(listener_string(relay, hc.name, "defaultListener", hc.listen_key))).rc, 0);
  h.start();
  ASSERT_TRUE(h.wait_status("localhost", "cache", "Connected")) << h.log();

  run_bounded(
      [&]() -> task<> {
        // 8,000 x %01 as sb-hc-id: ~72 KB of accept JSON before the limit; now refused at the edge.
        std::string id_query = "sb-hc-id=";
        for (int i = 0; i < 8000; ++i) id_query += "%01";
        auto long_id = co_await open_sender(relay, hc.name, hc.send_token, {}, id_query);
        require_eq(long_id.status, 400, "a sender with an 8,000-byte id");
        require(long_id.reason.find("sb-hc-id") != std::string::npos,
                "the reason names sb-hc-id: " + long_id.reason);

        // 31,000 Latin-1 bytes in a header become ~62 KB of UTF-8 in the accept: 431, listener untouched.
        auto stream = co_await raw::connect(relay);
        co_await raw::send(stream, raw::upgrade(relay, raw::connect_target(hc.name),
                                                "ServiceBusAuthorization: " + hc.send_token +
                                                    "\r\nX-Big: " + std::string(31000, '\xE9') + "\r\n"));
        auto big = co_await raw::read_response(stream);
        require_eq(big.status, 431, "a sender whose headers make an accept over 60 KiB (" + big.error + ")");
        require(big.body.find("accept message") != std::string::npos, "431 says why: " + big.body);
      },
      40s);

  // hcm never lost its control channel, and a tunnel still works through it.
  run_bounded(
      [&]() -> task<> {
        auto view = co_await get_hc(relay, "cache");
        require_eq(view.at("listenerCount").to_number<int>(), 1, "listeners after the oversized senders");
      },
      10s);
  EXPECT_EQ(h.status("localhost", "cache"), "Connected");
  // One control channel for the whole test: hcm never had to reconnect.
  auto log = relay.process().log();
  std::size_t hcm_channels = 0;
  for (auto at = log.find("agent=\"hcm/"); at != std::string::npos; at = log.find("agent=\"hcm/", at + 1))
    ++hcm_channels;
  EXPECT_EQ(hcm_channels, 1u) << log;
  sender_forwarder app(listener_string(relay, hc.name, "defaultSender", hc.send_key), relay.tls());
  run_bounded(
      [&]() -> task<> {
        auto ex = co_await asio::this_coro::executor;
        net::tcp::socket s(ex);
        auto [ec] =
            co_await s.async_connect({asio::ip::make_address("127.0.0.1"), app.port()}, net::use_tuple);
        require(!ec, "connect to the in-test sender");
        co_await asio::async_write(s, asio::buffer(std::string("still here")), net::use_tuple);
        char buf[32];
        auto [rec, n] = co_await asio::async_read(s, asio::buffer(buf, 10), net::use_tuple);
        require_eq(std::string(buf, n), std::string("still here"), "echo through hcm");
      },
      20s);
}

TEST_F(RelayHardening, HeaderBytesThatAreNotUtf8ReachTheListenerAsUtf8) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "latin");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto stream = co_await raw::connect(relay());
    co_await raw::send(stream, raw::upgrade(relay(), raw::connect_target(hc.name),
                                            "ServiceBusAuthorization: " + hc.send_token +
                                                "\r\nX-Latin: caf\xE9\r\nX-Utf8: na\xC3\xAFve\r\n"));
    auto frame = co_await read_frame(control, "control channel");
    require(proto::is_utf8(frame.payload), "the accept message is valid UTF-8");
    auto command = proto::parse_relay_command(frame.payload);
    require(command.has_value(), "the accept message parses");
    const auto& accept = std::get<proto::accept_message>(*command);
    require_eq(std::string(net::find_header(accept.connect_headers, "X-Latin")), std::string("caf\xC3\xA9"),
               "a Latin-1 byte arrives as its UTF-8 character");
    require_eq(std::string(net::find_header(accept.connect_headers, "X-Utf8")), std::string("na\xC3\xAFve"),
               "valid UTF-8 arrives unchanged");
    stream.close();
  });
}

// ------------------------------------------------------------------ what a listener sees
TEST_F(RelayHardening, AuthorizationReachesTheListenerUnlessItCarriedTheToken) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "bearer");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    struct sender_case {
      std::string what;
      header_list headers;
      std::string query;
      std::string expected_authorization;  // "" = must not be forwarded
    };
    std::vector<sender_case> cases{
        {"token in sb-hc-token",
         {{"Authorization", "Bearer app-level"}},
         "sb-hc-token=" + proto::percent_encode(hc.send_token),
         "Bearer app-level"},
        {"token in ServiceBusAuthorization",
         {{"ServiceBusAuthorization", hc.send_token}, {"Authorization", "Bearer app-level"}},
         "",
         "Bearer app-level"},
        {"token in Authorization", {{"Authorization", hc.send_token}}, "", ""},
    };
    for (auto& c : cases) {
      auto legs = co_await both(open_sender(relay(), hc.name, "", c.headers, c.query),
                                reject_next(relay(), control, 404, "not today"));
      auto& accept = std::get<1>(legs);
      require_eq(std::string(net::find_header(accept.connect_headers, "Authorization")),
                 c.expected_authorization, "Authorization forwarded with the " + c.what);
      require(net::find_header(accept.connect_headers, "ServiceBusAuthorization").empty(),
              "ServiceBusAuthorization is the relay's own (" + c.what + ")");
      require_eq(std::get<0>(legs).status, 404, "the sender sees the listener's reject (" + c.what + ")");
    }
  });
}

TEST_F(RelayHardening, RejectWithASuccessStatusReachesTheSenderAs502) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "oddreject");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    for (int status : {101, 200, 204}) {
      auto legs = co_await both(open_sender(relay(), hc.name, hc.send_token),
                                reject_next(relay(), control, status, "all fine here"));
      auto& sender = std::get<0>(legs);
      require_eq(sender.status, 502, "a reject with status " + std::to_string(status));
      require(!sender.connection.has_value(), "no tunnel after a reject with " + std::to_string(status));
      require(sender.reason.find("all fine here") != std::string::npos,
              "the listener's reason: " + sender.reason);
    }
  });
}

TEST_F(RelayHardening, OutsideTextIsEscapedInTheRelayLog) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "logs");
    header_list odd_agent{{"User-Agent",
                           "agent\x9B"
                           "31m-C1-CSI"}};
    auto listener = co_await open_listener(relay(), hc.name, hc.listen_token, "quiet", odd_agent);
    require_eq(listener.status, 101, "a listener with an odd User-Agent");
    auto legs = co_await both(open_sender(relay(), hc.name, hc.send_token),
                              reject_next(relay(), *listener.connection, 403, "no\x1B[2Jway"));
    require_eq(std::get<0>(legs).status, 403, "the sender sees the reject");
  });
  ASSERT_TRUE(wait_until(
      [&] { return relay().process().log().find("rejected by listener") != std::string::npos; }, 5s));
  auto log = relay().process().log();
  EXPECT_EQ(log.find('\x1B'), std::string::npos) << "a raw ESC reached the log";
  EXPECT_EQ(log.find('\x9B'), std::string::npos) << "a raw C1 CSI reached the log";
  EXPECT_NE(log.find("no\\x1B[2Jway"), std::string::npos) << log;
  EXPECT_NE(log.find("agent\\x9B31m-C1-CSI"), std::string::npos) << log;
}

// ------------------------------------------------------------------ a listener that stops reading
// How the stuck listener is found out: by its silence (keep-alive pings every second, none
// answered), or by its full socket (accept messages it does not take within 5 s).
struct stall_case {
  std::string name;
  std::vector<std::string> relay_args;
  int senders;
  std::size_t header_bytes;  // per sender: the size of its accept message
  std::string relay_says;    // the relay's log line for the dropped listener
};

void PrintTo(const stall_case& c, std::ostream* os) {
  *os << c.name;
}

class RelayHardeningStall : public ::testing::TestWithParam<stall_case> {};

INSTANTIATE_TEST_SUITE_P(
    RelayHardening, RelayHardeningStall,
    ::testing::Values(
        stall_case{"SilentListener",
                   {"--listener-keepalive", "1"},
                   100,
                   8000,
                   "id=stuck: no answer to 2 keep-alive pings"},
        stall_case{"FullSocket", {}, 300, 30000, "listener stuck dropped: it took no control message"}),
    [](const auto& info) { return info.param.name; });

TEST_P(RelayHardeningStall, AListenerThatStopsReadingHoldsNoSender) {
  const auto& c = GetParam();
  test_dir dir;
  relay_process relay(dir.path(), c.relay_args);
  auto relay_pid = relay.process().pid();
  std::size_t baseline = 0;
  run_bounded(
      [&]() -> task<> {
        auto hc = co_await make_hc(relay, "stall");
        baseline = open_fds(relay_pid);
        // The stuck listener: its control channel is open, it never reads and never answers a ping.
        auto stuck = co_await raw::connect(relay);
        co_await raw::send(stuck, raw::upgrade(relay, raw::listen_target(hc.name) + "&sb-hc-id=stuck",
                                               "ServiceBusAuthorization: " + hc.listen_token + "\r\n"));
        auto upgraded = co_await raw::read_response(stuck);
        require_eq(upgraded.status, 101, "the stuck listener's upgrade");

        // Senders with large headers, all offered to it at first.
        const int senders = c.senders;
        std::vector<int> statuses(senders, 0);
        int echoed = 0;
        auto ex = co_await asio::this_coro::executor;
        int finished = 0;
        for (int i = 0; i < senders; ++i) {
          asio::co_spawn(
              ex,
              [&, i]() -> task<> {
                header_list filler{{"X-Filler", std::string(c.header_bytes, 'f')}};
                auto dial = co_await open_sender(relay, hc.name, hc.send_token, filler);
                statuses[i] = dial.status;
                if (dial.connection && co_await echo_once(*dial.connection, "sender " + std::to_string(i)))
                  ++echoed;
                ++finished;
              },
              asio::detached);
        }
        // A healthy listener joins a moment later and must end up carrying every sender.
        asio::steady_timer later(ex, 300ms);
        co_await later.async_wait(net::use_tuple);
        auto healthy = co_await connect_listener(relay, hc.name, hc.listen_token, "healthy");
        asio::co_spawn(
            ex, [&]() -> task<> { co_await accept_and_echo_all(relay, healthy); }, asio::detached);
        asio::steady_timer poll(ex);
        while (finished < senders) {
          poll.expires_after(50ms);
          co_await poll.async_wait(net::use_tuple);
        }
        for (int i = 0; i < senders; ++i) require_eq(statuses[i], 101, "sender " + std::to_string(i));
        require_eq(echoed, senders, "senders whose tunnel echoed");
        co_await send_close(healthy, 1000, "done");
        stuck.close();
      },
      25s);  // before the fix: every sender waits 30 s for the stuck listener, or for ever
  EXPECT_TRUE(wait_until([&] { return open_fds(relay_pid) <= baseline; }, 15s))
      << "relay fds: " << open_fds(relay_pid) << ", baseline " << baseline;
  EXPECT_NE(relay.process().log().find(c.relay_says), std::string::npos) << relay.process().log();
}

// A listener that reads its channel and answers pings but never answers an accept: with another
// listener there, its senders move on after limits::listener_answer_timeout instead of waiting
// out the 30 s window, and it is not offered new ones meanwhile.
TEST_F(RelayHardening, AListenerThatNeverAnswersLosesItsSendersToAnother) {
  run(
      [&]() -> task<> {
        auto hc = co_await make_hc(relay(), "mute");
        auto mute = co_await connect_listener(relay(), hc.name, hc.listen_token, "mute");
        auto ex = co_await asio::this_coro::executor;
        int offered_to_mute = 0;
        asio::co_spawn(
            ex,
            [&]() -> task<> {
              for (;;) {  // reads everything, answers pings, accepts nothing
                auto [ec, h] = co_await mute.read_header();
                if (ec) co_return;
                std::string payload(h.payload_length, '\0');
                std::size_t at = 0;
                while (mute.payload_remaining() > 0) {
                  auto r = co_await mute.read_payload(asio::buffer(payload.data() + at, payload.size() - at));
                  if (r.ec) co_return;
                  at += r.bytes;
                }
                if (h.op == opcode::text) ++offered_to_mute;
                if (h.op == opcode::ping)
                  co_await mute.write_frame(
                      opcode::pong, true,
                      std::span(reinterpret_cast<std::uint8_t*>(payload.data()), payload.size()));
              }
            },
            asio::detached);
        constexpr int senders = 8;
        int echoed = 0, finished = 0;
        for (int i = 0; i < senders; ++i) {
          asio::co_spawn(
              ex,
              [&, i]() -> task<> {
                auto dial = co_await open_sender(relay(), hc.name, hc.send_token);
                if (dial.status == 101 && co_await echo_once(*dial.connection, "sender " + std::to_string(i)))
                  ++echoed;
                ++finished;
              },
              asio::detached);
        }
        // Every sender is offered to the mute listener (the only one) before the healthy one comes.
        asio::steady_timer poll(ex);
        while (offered_to_mute < senders) {
          poll.expires_after(20ms);
          co_await poll.async_wait(net::use_tuple);
        }
        auto healthy = co_await connect_listener(relay(), hc.name, hc.listen_token, "healthy");
        asio::co_spawn(
            ex, [&]() -> task<> { co_await accept_and_echo_all(relay(), healthy); }, asio::detached);
        while (finished < senders) {
          poll.expires_after(50ms);
          co_await poll.async_wait(net::use_tuple);
        }
        require_eq(echoed, senders, "senders carried by the healthy listener");
        require_eq(offered_to_mute, senders,
                   "offers the mute listener saw (none after it stopped answering)");
        co_await send_close(healthy, 1000, "done");
      },
      25s);  // before the fix: a sender offered to the mute listener waits 30 s and gets 504
}

// ------------------------------------------------------------------ connections per source
TEST(RelayHardeningSource, TwentyThousandConnectionsFromOneSourceAreCappedAndGoodClientsServed) {
  raise_open_file_limit();
  test_dir dir;
  relay_process relay(dir.path(), {"--max-connections-per-source", "100"});
  auto relay_pid = relay.process().pid();
  std::size_t fd_baseline = 0, rss_baseline = 0;
  run_bounded([&]() -> task<> { co_await expect_healthy_echo(relay); }, 20s);
  fd_baseline = open_fds(relay_pid);
  rss_baseline = rss_kib(relay_pid);
  run_bounded(
      [&]() -> task<> {
        auto ex = co_await asio::this_coro::executor;
        // 100 keep-alive connections from 127.0.0.2: TLS, one request each, then idle.
        std::vector<net::byte_stream> held;
        for (int i = 0; i < 100; ++i) {
          auto s = co_await connect_from(relay, "127.0.0.2");
          co_await raw::send(s, healthz_request(relay));
          auto r = co_await raw::read_response(s);
          require_eq(r.status, 200, "keep-alive connection " + std::to_string(i));
          held.push_back(std::move(s));
        }
        // 19,900 more from the same source, 1,990 at a time (this process may hold 20,000 files
        // at most): each is closed by the relay, which reads none of them.
        auto closed_by_relay = [](net::tcp::socket& s) {
          char c;
          auto got = ::recv(s.native_handle(), &c, 1, MSG_DONTWAIT | MSG_PEEK);
          return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
        };
        asio::steady_timer poll(ex);
        for (int batch = 0; batch < 10; ++batch) {
          std::vector<net::tcp::socket> extra;
          for (int i = 0; i < 1990; ++i) {
            net::tcp::socket s(ex);
            s.open(net::tcp::v4());
            s.bind({asio::ip::make_address("127.0.0.2"), 0});
            auto [ec] =
                co_await s.async_connect({asio::ip::make_address("127.0.0.1"), relay.port()}, net::use_tuple);
            require(!ec, "TCP connect " + std::to_string(i) + ": " + ec.message());
            extra.push_back(std::move(s));
          }
          auto open = [&] {
            return std::count_if(extra.begin(), extra.end(), [&](auto& s) { return !closed_by_relay(s); });
          };
          for (int i = 0; i < 200 && open() > 0; ++i) {
            poll.expires_after(50ms);
            co_await poll.async_wait(net::use_tuple);
          }
          require_eq(open(), 0, "connections over the cap left open in batch " + std::to_string(batch));
        }
        // The 100 held ones still work; a good listener and sender (from 127.0.0.1) are served.
        co_await raw::send(held.front(), healthz_request(relay));
        auto again = co_await raw::read_response(held.front());
        require_eq(again.status, 200, "a held keep-alive connection still answers");
        co_await expect_healthy_echo(relay);
        for (auto& s : held) s.close();
      },
      90s);
  EXPECT_TRUE(wait_until([&] { return open_fds(relay_pid) <= fd_baseline; }, 15s))
      << "relay fds: " << open_fds(relay_pid) << ", baseline " << fd_baseline;
  // No state per refused connection stays behind (a leak would be tens of KiB each).
  EXPECT_LT(rss_kib(relay_pid), rss_baseline + 64 * 1024)
      << "RSS " << rss_kib(relay_pid) << " KiB, baseline " << rss_baseline;
}

// A trusted load balancer (--proxy-protocol) whose connections never send their PROXY header:
// until the header comes, each counts as the balancer's own (per-source cap 2 here), so a third
// silent one is closed at once instead of being held for the 10 s header timeout. A header that
// arrives names the client (192.0.2.7), who is then served over TLS on that connection.
TEST(RelayHardeningSource, ALoadBalancerSilentBeforeItsProxyHeaderHoldsOnlyItsOwnPlaces) {
  test_dir dir;
  relay_process relay(dir.path(), {"--proxy-protocol", "127.0.0.2", "--max-connections-per-source", "2"});
  run_bounded(
      [&]() -> task<> {
        auto ex = co_await asio::this_coro::executor;
        auto tcp_from_balancer = [&]() -> task<net::tcp::socket> {
          net::tcp::socket socket(ex);
          socket.open(net::tcp::v4());
          socket.bind({asio::ip::make_address("127.0.0.2"), 0});
          auto [ec] = co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), relay.port()},
                                                    net::use_tuple);
          require(!ec, "connect from 127.0.0.2: " + ec.message());
          co_return std::move(socket);
        };
        auto first = co_await tcp_from_balancer();
        auto second = co_await tcp_from_balancer();
        auto third = net::byte_stream::plain(co_await tcp_from_balancer());
        bool closed = co_await raw::closed_within(third, 3s);
        EXPECT_TRUE(closed) << "a third silent connection from the balancer was held past its cap of 2";

        // PROXY v2, PROXY command, TCP over IPv4: 192.0.2.7:40000 -> 127.0.0.1:443.
        std::string header("\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c", 16);
        header += std::string("\xc0\x00\x02\x07\x7f\x00\x00\x01\x9c\x40\x01\xbb", 12);
        auto [wec, wn] = co_await asio::async_write(first, asio::buffer(header), net::use_tuple);
        require(!wec, "writing the PROXY header: " + wec.message());
        auto stream = net::byte_stream::tls(std::move(first), *relay.tls());
        auto tls_ec = co_await stream.tls_connect(relay.host());
        require(!tls_ec, "TLS after the PROXY header: " + tls_ec.message());
        co_await raw::send(stream, healthz_request(relay));
        auto r = co_await raw::read_response(stream);
        EXPECT_EQ(r.status, 200);
        stream.close();
        second.close();
      },
      20s);
  auto log = relay.process().log();
  EXPECT_NE(log.find("closing new connections from 127.0.0.2"), std::string::npos) << last_lines(log);
}

// ------------------------------------------------------------------ plain HTTP connections
TEST(RelayHardeningHttp, KeepAliveConnectionsEndAfterTheirRequestsOrTheirIdleTime) {
  test_dir dir;
  relay_process relay(dir.path(), {"--max-requests-per-connection", "3", "--http-idle-timeout", "1"});
  run_bounded(
      [&]() -> task<> {
        auto s = co_await raw::connect(relay);
        for (int i = 1; i <= 3; ++i) {
          co_await raw::send(s, healthz_request(relay));
          auto r = co_await raw::read_response(s);
          require_eq(r.status, 200, "request " + std::to_string(i));
          require_eq(proto::iequals(r.header("Connection"), "close"), i == 3,
                     "Connection: close on request " + std::to_string(i) + " of 3");
        }
        require(co_await raw::closed_within(s, 5s), "the connection ends after its last request");

        auto idle = co_await raw::connect(relay);
        co_await raw::send(idle, healthz_request(relay));
        auto first = co_await raw::read_response(idle);
        require_eq(first.status, 200, "the first request");
        require(co_await raw::closed_within(idle, 10s), "an idle connection is closed after its idle time");
      },
      30s);
}

TEST_F(RelayHardening, ABodyIsReadOnlyAfterItsRouteAndAuthorization) {
  run([&]() -> task<> {
    // 50,000 bytes announced, none sent, no token: the answer comes at once and the body is never read.
    auto s = co_await raw::connect(relay());
    co_await raw::send(
        s, "PUT /api/v1/namespaces/localhost/hybridConnections/x HTTP/1.1\r\nHost: " + relay().host() +
               "\r\nContent-Type: application/json\r\nContent-Length: 50000\r\n\r\n");
    auto r = co_await raw::read_response(s, 5s);
    require_eq(r.status, 401, "an unauthenticated request with an unsent body (" + r.error + ")");
    require(proto::iequals(r.header("Connection"), "close"), "the connection ends: its body is never read");
    require(co_await raw::closed_within(s, 5s), "closed after the answer");

    // A route that takes no body: the answer, then the end of the connection.
    auto g = co_await raw::connect(relay());
    co_await raw::send(g,
                       "GET /healthz HTTP/1.1\r\nHost: " + relay().host() + "\r\nContent-Length: 10\r\n\r\n");
    auto health = co_await raw::read_response(g, 5s);
    require_eq(health.status, 200, "GET /healthz with an announced body");
    require(co_await raw::closed_within(g, 5s), "closed after the answer");

    // An authorized call whose body is over the API's limit: 413 naming the limit.
    auto big = co_await raw::connect(relay());
    co_await raw::send(big, "PUT /api/v1/namespaces/localhost/hybridConnections/x HTTP/1.1\r\nHost: " +
                                relay().host() + "\r\nServiceBusAuthorization: " + relay().root_token() +
                                "\r\nContent-Length: 70000\r\n\r\n");
    auto too_big = co_await raw::read_response(big, 5s);
    require_eq(too_big.status, 413, "an authorized body over 64 KiB (" + too_big.error + ")");
  });
}

TEST_F(RelayHardening, FailedManagementAuthenticationsCountTowardTheSourceLimit) {
  run(
      [&]() -> task<> {
        auto s = co_await raw::connect(relay());
        int status = 0, failures = 0;
        for (int i = 0; i < 150 && status != 429; ++i) {
          co_await raw::send(
              s, "GET /api/v1/namespaces HTTP/1.1\r\nHost: " + relay().host() +
                     "\r\nServiceBusAuthorization: SharedAccessSignature sr=x&sig=y&se=1&skn=z\r\n\r\n");
          auto r = co_await raw::read_response(s);
          status = r.status;
          if (status == 401) ++failures;
        }
        require_eq(status, 429, "a source that keeps failing management authentication is refused");
        require(failures >= 100,
                "429 only after the allowance of 100: " + std::to_string(failures) + " failures");
      },
      60s);
}

// ------------------------------------------------------------------ SIGTERM
TEST(RelayHardeningShutdown, SigtermSendsCloseToEveryChannelAndTunnelAndExits) {
  test_dir dir;
  relay_process relay(dir.path(), {"--drain-timeout", "5"});
  run_bounded(
      [&]() -> task<> {
        auto hc = co_await make_hc(relay, "drain");
        auto control = co_await connect_listener(relay, hc.name, hc.listen_token);
        auto t = co_await open_tunnel(relay, control, hc.name, hc.send_token);
        ::kill(relay.process().pid(), SIGTERM);
        auto expect_1001 = [](net::ws_connection& ws, std::string who) -> task<bool> {
          for (;;) {
            auto f = co_await read_frame(ws, who);
            if (f.op != opcode::close) continue;
            require_eq(close_of(f).code, std::uint16_t(1001), who + ": close code");
            co_await send_close(ws, 1001, "bye");
            co_return true;
          }
        };
        auto on_legs =
            co_await both(expect_1001(t.sender, "sender leg"), expect_1001(t.listener, "listener leg"));
        auto on_control = co_await expect_1001(control, "control channel");
        require(std::get<0>(on_legs) && std::get<1>(on_legs) && on_control, "Close 1001 everywhere");
      },
      20s);
  ASSERT_TRUE(relay.process().wait_exit(10s)) << relay.process().log();
  auto status = relay.process().exit_status();
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << relay.process().log();
}

}  // namespace
}  // namespace hc::test
