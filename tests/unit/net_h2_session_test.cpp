// tests/unit/net_h2_session_test: net/h2_session on a real loopback TCP connection (HTTP/2 with
// prior knowledge, no TLS: the framing and the flow control are what is tested here; the relay's
// TLS+ALPN path is tested end to end by the integration suites). Many streams on one connection,
// each with its own flow control (a reader that stalls stops only its stream), half-close as
// END_STREAM, RST_STREAM and the loss of the connection as resets, never as a clean end.
#include "memory_stream.hpp"
#include "net/h2_session.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <functional>
#include <random>

namespace hc::net {
namespace {

using namespace std::chrono_literals;

// Runs `body` on `io` to its end within `limit`; false when it did not finish (or threw).
bool run_within(asio::io_context& io, std::function<task<>()> body, std::chrono::seconds limit) {
  bool finished = false;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) { finished = !e; });
  auto until = std::chrono::steady_clock::now() + limit;
  while (!finished && std::chrono::steady_clock::now() < until) io.run_for(50ms);
  return finished;
}

// A client and a server session on the two ends of one loopback connection.
struct h2_pair {
  asio::io_context io;
  std::shared_ptr<h2_session> client, server;
  int server_fd = -1;

  h2_pair() {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    tcp::socket c(io);
    c.connect(acceptor.local_endpoint());
    tcp::socket s = acceptor.accept();
    server_fd = s.native_handle();
    h2_options server_options;
    server_options.server = true;
    server_options.stream_window = 64 * 1024;
    h2_options client_options;
    client_options.stream_window = 64 * 1024;
    server = h2_session::start(io.get_executor(), byte_stream::plain(std::move(s)), server_options);
    client = h2_session::start(io.get_executor(), byte_stream::plain(std::move(c)), client_options);
  }
  ~h2_pair() {
    client->shut_down();
    server->shut_down();
    io.run_for(200ms);
  }

  // Runs `body` to its end within `limit`; false when it did not finish (or threw).
  bool run(std::function<task<>()> body, std::chrono::seconds limit = 20s) {
    return run_within(io, std::move(body), limit);
  }
};

header_list websocket_head(const std::string& path) {
  return {{":method", "CONNECT"},
          {":protocol", "websocket"},
          {":scheme", "https"},
          {":authority", "relay.test"},
          {":path", path}};
}

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::mt19937 rng(seed);
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

task<io_result> write_all(h2_stream& s, const std::string& data) {
  std::size_t at = 0;
  while (at < data.size()) {
    std::size_t n = std::min<std::size_t>(16 * 1024, data.size() - at);
    std::array<asio::const_buffer, 1> one{asio::buffer(data.data() + at, n)};
    auto w = co_await s.write(one);
    if (w.ec) co_return io_result{w.ec, at};
    at += n;
  }
  co_return io_result{{}, at};
}

// Reads until eof (ec eof) or an error; the bytes in `into`.
task<error_code> read_to_end(h2_stream& s, std::string& into, std::size_t stop_after = SIZE_MAX) {
  char buf[8192];
  while (into.size() < stop_after) {
    auto r = co_await s.read_some(asio::buffer(buf));
    into.append(buf, r.bytes);
    if (r.ec) co_return r.ec;
  }
  co_return error_code{};
}

task<h2_stream> accept_and_answer(h2_session& server) {
  auto next = co_await server.next_stream();
  if (!next) throw std::runtime_error("no stream arrived");
  next->respond(200, {});
  co_return std::move(*next);
}

TEST(NetH2Session, EightStreamsOnOneConnectionEachCarryTheirBytesBothWaysAndEndCleanly) {
  h2_pair pair;
  constexpr int streams = 8;
  int intact = 0;
  ASSERT_TRUE(pair.run([&]() -> task<> {
    auto ex = co_await asio::this_coro::executor;
    bool ready = co_await pair.client->ready();
    EXPECT_TRUE(ready);
    EXPECT_TRUE(pair.client->accepts_websocket());
    // Server: echo every stream until its END_STREAM, then end ours.
    asio::co_spawn(
        ex,
        [&]() -> task<> {
          for (int i = 0; i < streams; ++i) {
            auto s = co_await accept_and_answer(*pair.server);
            EXPECT_EQ(find_header(s.peer_head(), ":path"), "/echo/" + std::to_string(i));
            EXPECT_TRUE(find_header(s.peer_head(), ":protocol") == "websocket");
            asio::co_spawn(
                ex,
                [s]() mutable -> task<> {
                  std::string got;
                  auto end = co_await read_to_end(s, got);
                  EXPECT_EQ(end, asio::error::eof);
                  co_await write_all(s, got);
                  s.end();
                },
                asio::detached);
          }
        },
        asio::detached);
    int done = 0;
    for (int i = 0; i < streams; ++i) {
      asio::co_spawn(
          ex,
          [&, i]() -> task<> {
            auto s = pair.client->open(websocket_head("/echo/" + std::to_string(i)));
            auto status = co_await s.response_head();
            EXPECT_EQ(status.value_or(0), 200);
            auto sent = pattern(300 * 1024 + i * 1000, i);
            co_await write_all(s, sent);
            s.end();  // our half-close; the echo still comes back
            std::string back;
            auto end = co_await read_to_end(s, back);
            EXPECT_EQ(end, asio::error::eof) << end.message();
            if (back == sent) ++intact;
            s.close();
            ++done;
          },
          asio::detached);
    }
    asio::steady_timer poll(ex);
    while (done < streams) {
      poll.expires_after(5ms);
      co_await poll.async_wait(asio::use_awaitable);
    }
    EXPECT_EQ(pair.client->open_streams(), 0u);
  }));
  EXPECT_EQ(intact, streams);
}

TEST(NetH2Session, AReaderThatStallsStopsOnlyItsOwnStream) {
  h2_pair pair;
  const auto bulk = pattern(4 * 1024 * 1024, 7);
  std::size_t written_to_stalled = 0;
  bool stalled_write_done = false;
  std::string other;
  ASSERT_TRUE(pair.run([&]() -> task<> {
    auto ex = co_await asio::this_coro::executor;
    co_await pair.client->ready();
    auto stalled = pair.client->open(websocket_head("/stalled"));
    auto moving = pair.client->open(websocket_head("/moving"));
    auto server_stalled = co_await accept_and_answer(*pair.server);
    auto server_moving = co_await accept_and_answer(*pair.server);
    // The server writes 4 MiB to each; the client reads only /moving.
    asio::co_spawn(
        ex,
        [&]() -> task<> {
          auto w = co_await write_all(server_stalled, bulk);
          written_to_stalled = w.bytes;
          stalled_write_done = true;
        },
        asio::detached);
    asio::co_spawn(
        ex,
        [&]() -> task<> {
          co_await write_all(server_moving, bulk);
          server_moving.end();
        },
        asio::detached);
    co_await moving.response_head();
    co_await stalled.response_head();
    auto end = co_await read_to_end(moving, other);
    EXPECT_EQ(end, asio::error::eof);
    // /moving is complete while /stalled's writer still waits on its stream's window.
    EXPECT_EQ(other.size(), bulk.size());
    EXPECT_FALSE(stalled_write_done) << "the stalled stream took " << written_to_stalled << " bytes";
    // Reading it now lets the rest through, intact.
    std::string late;
    co_await read_to_end(stalled, late, bulk.size());
    EXPECT_TRUE(late == bulk);
  }));
  EXPECT_TRUE(other == bulk);
}

TEST(NetH2Session, AResetStreamIsAResetForThePeerAndTheOtherStreamsGoOn) {
  h2_pair pair;
  ASSERT_TRUE(pair.run([&]() -> task<> {
    co_await pair.client->ready();
    auto doomed = pair.client->open(websocket_head("/doomed"));
    auto kept = pair.client->open(websocket_head("/kept"));
    auto server_doomed = co_await accept_and_answer(*pair.server);
    auto server_kept = co_await accept_and_answer(*pair.server);
    co_await doomed.response_head();
    co_await kept.response_head();
    doomed.reset();
    std::string got;
    auto end = co_await read_to_end(server_doomed, got);
    EXPECT_EQ(end, asio::error::connection_reset) << end.message();
    auto sent = pattern(100 * 1024, 3);
    co_await write_all(kept, sent);
    kept.end();
    std::string arrived;
    auto kept_end = co_await read_to_end(server_kept, arrived);
    EXPECT_EQ(kept_end, asio::error::eof);
    EXPECT_TRUE(arrived == sent);
  }));
}

TEST(NetH2Session, ALostConnectionEndsEveryOpenStreamAsAReset) {
  h2_pair pair;
  ASSERT_TRUE(pair.run([&]() -> task<> {
    co_await pair.client->ready();
    std::vector<h2_stream> open;
    for (int i = 0; i < 3; ++i) open.push_back(pair.client->open(websocket_head("/s" + std::to_string(i))));
    for (int i = 0; i < 3; ++i) co_await accept_and_answer(*pair.server);
    for (auto& s : open) co_await s.response_head();
    ::shutdown(pair.server_fd, SHUT_RDWR);  // the server's host goes away: the client reads EOF on TCP
    for (auto& s : open) {
      std::string got;
      auto end = co_await read_to_end(s, got);
      EXPECT_EQ(end, asio::error::connection_reset) << end.message();
      std::array<asio::const_buffer, 1> one{asio::buffer("x", 1)};
      auto w = co_await s.write(one);
      EXPECT_TRUE(w.ec) << "a write on a lost connection must fail";
    }
    EXPECT_FALSE(pair.client->usable());
  }));
}

// The server's connection is a memory stream whose peer can stop taking bytes: the test carries
// the bytes between the two sessions and then stops the client's side from reading, as a hung
// or hostile peer's TCP would.
TEST(NetH2Session, APeerThatStopsReadingTheConnectionLosesItAfterTheWriteTimeout) {
  asio::io_context io;
  auto client_end = in_memory::make_memory_stream(io);
  auto server_end = in_memory::make_memory_stream(io);
  h2_options server_options;
  server_options.server = true;
  server_options.write_timeout = 1s;
  auto server = h2_session::start(io.get_executor(), std::move(server_end.stream), server_options);
  auto client = h2_session::start(io.get_executor(), std::move(client_end.stream), h2_options{});
  bool carrying = true;
  asio::co_spawn(
      io,
      [&]() -> task<> {
        std::size_t to_server = 0, to_client = 0;
        asio::steady_timer tick(io);
        while (carrying) {
          const auto& from_client = client_end.peer.received();
          server_end.peer.send(std::string_view(from_client).substr(to_server));
          to_server = from_client.size();
          const auto& from_server = server_end.peer.received();
          client_end.peer.send(std::string_view(from_server).substr(to_client));
          to_client = from_server.size();
          tick.expires_after(1ms);
          co_await tick.async_wait(asio::use_awaitable);
        }
      },
      asio::detached);
  std::chrono::steady_clock::duration took{};
  error_code server_read_end;
  ASSERT_TRUE(run_within(
      io,
      [&]() -> task<> {
        co_await client->ready();
        auto s = client->open(websocket_head("/stuck"));
        auto on_server = co_await accept_and_answer(*server);
        co_await s.response_head();
        server_end.peer.stop_reading();  // the client's TCP takes nothing from now on
        auto started = std::chrono::steady_clock::now();
        co_await write_all(on_server, pattern(1024, 5));  // queued: the stream's window is open
        std::string got;
        server_read_end = co_await read_to_end(on_server, got);
        took = std::chrono::steady_clock::now() - started;
      },
      20s));
  carrying = false;
  EXPECT_EQ(server_read_end, asio::error::connection_reset) << server_read_end.message();
  EXPECT_GE(took, 1s);
  EXPECT_TRUE(server_end.peer.stream_closed()) << "the server must close the connection it cannot write to";
  EXPECT_FALSE(server->usable());
  client->shut_down();
  io.run_for(200ms);
}

}  // namespace
}  // namespace hc::net
