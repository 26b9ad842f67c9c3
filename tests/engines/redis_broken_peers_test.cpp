// Engine tests for cluster/redis_client against peers that are not a healthy Redis: a server that
// accepts and never answers (the command times out within limits::redis_reply_timeout and the
// client reconnects), a closed port (down with a sentence), a black hole (the connect times out
// while the loop keeps running other work). No redis-server needed; every wait is bounded.
#include "redis_server.hpp"
#include "redis_test_client.hpp"

#include <gtest/gtest.h>
#include <boost/asio/steady_timer.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace hc::cluster {
namespace {

using namespace hc::test;
using kind = redis_reply::kind;

// Accepts TCP connections and never answers; counts them.
struct silent_server {
  explicit silent_server(asio::io_context& io) : acceptor(io, {asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
  }
  void accept() {
    acceptor.async_accept([this](net::error_code ec, net::tcp::socket s) {
      if (ec) return;
      held.push_back(std::move(s));
      accepted.add(int(held.size()));
      accept();
    });
  }
  redis_endpoint endpoint() const {
    return parse_redis_url("redis://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port())).value();
  }
  net::tcp::acceptor acceptor;
  std::vector<net::tcp::socket> held;  // on the loop only
  recorder<int> accepted;
};

TEST(RedisBrokenPeers, ASilentServerTimesOutAndTheClientReconnects) {
  recorder<redis_state> states;
  io_thread loop;
  auto peer = std::make_unique<silent_server>(loop.io);
  redis_client client(loop.io.get_executor(), peer->endpoint(), [&](const redis_state& s) { states.add(s); });
  ASSERT_TRUE(states.wait_until(last_is_up));  // TCP is all a link needs without AUTH or SELECT
  const auto began = clock::now();
  auto r = await_on(loop, client.command({"PING"}));
  const auto took = clock::now() - began;
  EXPECT_EQ(r.type, kind::unanswered);
  EXPECT_NE(r.text.find("no reply from redis at 127.0.0.1:"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("within 2000 ms"), std::string::npos) << r.text;
  EXPECT_GE(took, 1900ms);
  EXPECT_LT(took, 3500ms);
  // Both links connected once; the commands link again after dropping the silent connection.
  ASSERT_TRUE(peer->accepted.wait_until([](auto& s) { return s.size() >= 3; }, 5s));
  await_on(loop, client.close());
  on_loop(loop, [&] { peer.reset(); });
}

// The loop goes away while both connections wait for the answer to AUTH: the handlers they owe
// belong to the link loops that hold them, and must be destroyed with the loop (ASan checks).
TEST(RedisBrokenPeers, TearingDownTheLoopWhileLoggingInIsSafe) {
  auto io = std::make_unique<asio::io_context>(1);
  auto peer = std::make_unique<silent_server>(*io);
  auto e = peer->endpoint();
  e.password = "never-checked";
  auto client = std::make_unique<redis_client>(io->get_executor(), e);
  const auto deadline = clock::now() + 5s;
  while (peer->held.size() < 2 && clock::now() < deadline) io->run_for(10ms);
  ASSERT_EQ(peer->held.size(), 2u);
  io->run_for(50ms);  // AUTH written, its reply owed
  client.reset();
  peer.reset();
  io.reset();
}

TEST(RedisBrokenPeers, AClosedPortIsDownWithASentence) {
  const auto port = test::pick_free_loopback_port();
  recorder<redis_state> states;
  io_thread loop;
  redis_client client(loop.io.get_executor(),
                      parse_redis_url("redis://127.0.0.1:" + std::to_string(port)).value(),
                      [&](const redis_state& s) { states.add(s); });
  ASSERT_TRUE(states.wait_until(last_is_down, 5s));
  EXPECT_EQ(client.state().last_error,
            "cannot connect to redis at 127.0.0.1:" + std::to_string(port) + ": Connection refused");
  auto r = await_on(loop, client.command({"PING"}), 1s);
  EXPECT_EQ(r.type, kind::unanswered);
  EXPECT_NE(r.text.find("Connection refused"), std::string::npos) << r.text;
  await_on(loop, client.close());
}

// A loopback port whose accept queue is full: the kernel drops further SYNs, so a connect there
// stays in progress (a black hole without leaving the machine). Plain POSIX sockets.
struct black_hole {
  black_hole() {
    listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 || listen(listener, 0) != 0)
      throw std::runtime_error("black hole: bind/listen failed");
    getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
    for (int i = 0; i < 16; ++i) {  // fill the queue until a connect stays pending for 300 ms
      int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      fillers.push_back(s);
      connect(s, reinterpret_cast<sockaddr*>(&address), length);
      pollfd ready{s, POLLOUT, 0};
      if (poll(&ready, 1, 300) == 0) return;
    }
    throw std::runtime_error("black hole: the accept queue never filled");
  }
  ~black_hole() {
    for (int s : fillers) ::close(s);
    ::close(listener);
  }
  int listener = -1;
  std::vector<int> fillers;
  std::uint16_t port = 0;
};

TEST(RedisBrokenPeers, ConnectingToABlackHoleNeverBlocksTheLoop) {
  black_hole hole;
  recorder<redis_state> states;
  io_thread loop;  // one thread: a blocking connect would stop the ticks
  clock::duration longest_gap{};
  int ticks = 0;
  bool ticking = true;
  asio::steady_timer tick(loop.io);
  auto tick_loop = [&]() -> net::task<> {
    auto last = clock::now();
    while (ticking) {
      tick.expires_after(10ms);
      co_await tick.async_wait(net::use_tuple);
      longest_gap = std::max(longest_gap, clock::now() - last);
      last = clock::now();
      ++ticks;
    }
  };
  auto ticker = asio::co_spawn(loop.io, tick_loop(), asio::use_future);
  const auto began = clock::now();
  redis_client client(loop.io.get_executor(),
                      parse_redis_url("redis://127.0.0.1:" + std::to_string(hole.port)).value(),
                      [&](const redis_state& s) { states.add(s); });
  auto early = await_on(loop, client.command({"PING"}), 1s);
  EXPECT_EQ(early.type, kind::unanswered);
  EXPECT_NE(early.text.find("not up yet"), std::string::npos) << early.text;
  ASSERT_TRUE(states.wait_until(last_is_down, 5s));
  EXPECT_NE(client.state().last_error.find(
                "no connection to redis at 127.0.0.1:" + std::to_string(hole.port) + " within 2000 ms"),
            std::string::npos)
      << client.state().last_error;
  const auto waited = clock::now() - began;
  EXPECT_GE(waited, 1900ms);
  await_on(loop, client.close());
  asio::post(loop.io, [&] { ticking = false; });
  ASSERT_EQ(ticker.wait_for(1s), std::future_status::ready);
  EXPECT_LT(longest_gap, 250ms);
  EXPECT_GT(ticks, int(waited / 10ms) / 2);
}

}  // namespace
}  // namespace hc::cluster
