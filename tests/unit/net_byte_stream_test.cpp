// tests/unit/net_byte_stream_test: how a plain byte_stream reports the end of its peer, on a
// loopback connection. A reset must read as a reset even when a write took the kernel's one
// report of it (Linux then hands the next read 0 bytes, as for a FIN): a tunnel passes a FIN on
// as a clean half-close, so reading that EOF as a FIN would end a cut stream cleanly (found by
// the sanitizer run of faults_test: an endpoint killed mid-stream reached the app as a FIN).
#include "net/byte_stream.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <array>

namespace hc::net {
namespace {

// A connected pair on loopback: ours wrapped as a plain byte_stream, the peer a raw socket.
struct loopback_pair {
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)};
  byte_stream ours{byte_stream::plain(connected_client())};
  tcp::socket peer{acceptor.accept()};

  tcp::socket connected_client() {
    tcp::socket client(io);
    client.connect(acceptor.local_endpoint());
    return client;
  }

  // The peer closes with RST; returns once our socket has taken it (bounded: 5 s).
  void peer_resets() {
    peer.set_option(asio::socket_base::linger(true, 0));
    peer.close();
    pollfd p{ours.socket().native_handle(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 5000), 1) << "the reset never reached our socket";
  }

  // Runs one operation of ours to completion on this pair's io_context.
  io_result complete(task<io_result> operation) {
    auto result = asio::co_spawn(io, std::move(operation), asio::use_future);
    io.restart();
    io.run();
    return result.get();
  }
};

task<io_result> write_bytes(byte_stream& s) {
  std::array<char, 16> bytes{};
  co_return co_await s.write(asio::buffer(bytes));
}

task<io_result> read_bytes(byte_stream& s) {
  std::array<char, 16> bytes{};
  co_return co_await s.read_some(asio::buffer(bytes));
}

TEST(NetByteStream, AResetTakenByAWriteStillEndsTheNextReadWithAnError) {
  loopback_pair pair;
  pair.peer_resets();
  auto written = pair.complete(write_bytes(pair.ours));
  EXPECT_EQ(written.ec, asio::error::connection_reset) << written.ec.message();
  auto read = pair.complete(read_bytes(pair.ours));
  EXPECT_EQ(read.ec, asio::error::connection_reset) << read.ec.message();
}

TEST(NetByteStream, AResetTakenByAWriteIsAnErrorForReadAvailableToo) {
  loopback_pair pair;
  pair.peer_resets();
  pair.complete(write_bytes(pair.ours));
  std::array<char, 16> bytes{};
  auto read = pair.ours.read_available(asio::buffer(bytes));
  EXPECT_EQ(read.ec, asio::error::connection_reset) << read.ec.message();
}

TEST(NetByteStream, APeersFinIsAnEndOfStream) {
  loopback_pair pair;
  pair.peer.shutdown(tcp::socket::shutdown_send);
  auto read = pair.complete(read_bytes(pair.ours));
  EXPECT_EQ(read.ec, asio::error::eof) << read.ec.message();
  auto written = pair.complete(write_bytes(pair.ours));  // half-closed: our direction still flows
  EXPECT_FALSE(written.ec) << written.ec.message();
}

TEST(NetByteStream, APeersFinAfterOursIsAnEndOfStream) {
  loopback_pair pair;
  pair.ours.shutdown_send();
  std::array<char, 16> bytes{};
  error_code peer_read;
  pair.peer.read_some(asio::buffer(bytes), peer_read);
  ASSERT_EQ(peer_read, asio::error::eof) << "our FIN must reach the peer first";
  pair.peer.close();  // FIN crosses ours: our socket ends CLOSED without any reset
  auto read = pair.complete(read_bytes(pair.ours));
  EXPECT_EQ(read.ec, asio::error::eof) << read.ec.message();
}

}  // namespace
}  // namespace hc::net
