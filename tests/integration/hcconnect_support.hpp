// tests/integration/hcconnect_support: what the hcconnect tests add to harness.hpp: an in-test
// listener (the hcm role: control channel, accept -> dial a fixed TCP target -> splice, or
// reject with 502 when the target is down) on its own thread and io_context, a TCP echo server
// on the same thread, free-port picking for third-party servers (redis, http, postgres), and
// running hcconnect to completion. Each object is owned by one test; the listener's thread
// touches only its own io_context.
#pragma once
#include "harness.hpp"
#include "net/pump.hpp"
#include "net/relay_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>

namespace hc::test {

// A port that was free a moment ago on 127.0.0.1 (for servers that cannot bind port 0 and tell).
inline std::uint16_t pick_free_port() {
  asio::io_context io;
  net::tcp::acceptor a(io, {asio::ip::address_v4::loopback(), 0});
  return a.local_endpoint().port();
}

// True when something accepts TCP connections on address:port.
inline bool port_open(const std::string& address, std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

// True when some socket is bound to address:port (checked by binding, so no connection is made:
// a probe connection to hcconnect would open a tunnel). SO_REUSEADDR: a connection an earlier test
// left in TIME_WAIT on that address and port (the kernel hands port numbers out again) is not a
// listener; on Linux a listening socket still refuses the bind.
inline bool port_bound(const std::string& address, std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
  bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno == EADDRINUSE;
  ::close(fd);
  return bound;
}

// A plain TCP listener on address:port held by the test process: a local user squatting on the
// loopback address hcconnect would use. Nothing is ever accepted.
class squatter {
 public:
  squatter(const std::string& address, std::uint16_t port)
      : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd_, 8) != 0)
      throw test_failure("squatter: cannot listen on " + address + ":" + std::to_string(port));
  }
  ~squatter() { ::close(fd_); }
  squatter(const squatter&) = delete;
  squatter& operator=(const squatter&) = delete;

 private:
  int fd_;
};

class test_listener {
 public:
  // Listens on the hybrid connection; every accepted sender is joined to target_host:target_port
  // (target_port 0: to this listener's own TCP echo server, see echo_port()).
  test_listener(const std::string& listen_connection_string, net::tls_context tls, std::string target_host,
                std::uint16_t target_port)
      : client_(*proto::parse_connection_string(listen_connection_string), std::move(tls)),
        target_host_(std::move(target_host)),
        target_port_(target_port) {
    if (target_port_ == 0) {
      echo_.emplace(io_, net::tcp::endpoint{asio::ip::address_v4::loopback(), 0});
      target_port_ = echo_->local_endpoint().port();
      asio::co_spawn(io_, echo_accept_loop(), [](std::exception_ptr) {});
    }
    std::promise<std::string> ready;
    auto ready_future = ready.get_future();
    asio::co_spawn(io_, control_loop(std::move(ready)), [](std::exception_ptr) {});
    thread_ = std::thread([this] { io_.run(); });
    if (ready_future.wait_for(20s) != std::future_status::ready)
      throw test_failure("listener: no control channel in 20 s");
    if (auto error = ready_future.get(); !error.empty()) throw test_failure("listener: " + error);
  }
  ~test_listener() {
    io_.stop();
    thread_.join();
  }
  // The echo server's port (target_port 0 only): echoes until EOF, then half-closes.
  std::uint16_t echo_port() const { return target_port_; }
  int accepted() const { return accepted_.load(); }
  int rejected() const { return rejected_.load(); }

 private:
  task<> control_loop(std::promise<std::string> ready) {
    auto dial = co_await client_.listen();
    if (!dial) {
      ready.set_value(std::to_string(dial.status) + " " + dial.error);
      co_return;
    }
    ready.set_value({});
    auto& control = *dial.connection;
    for (;;) {
      auto [ec, h] = co_await control.read_header();
      if (ec) co_return;
      std::string payload;
      if (proto::is_control(h.op)) {
        if (co_await control.read_control_payload(payload)) co_return;
        if (h.op == opcode::ping)
          co_await control.write_frame(
              opcode::pong, true, std::span(reinterpret_cast<std::uint8_t*>(payload.data()), payload.size()));
        if (h.op == opcode::close) co_return;
        continue;
      }
      while (control.payload_remaining() > 0) {
        char buf[4096];
        auto r = co_await control.read_payload(asio::buffer(buf));
        if (r.ec) co_return;
        payload.append(buf, r.bytes);
      }
      auto command = proto::parse_relay_command(payload);
      if (!command) continue;
      if (auto* accept = std::get_if<proto::accept_message>(&*command))
        asio::co_spawn(asio::make_strand(io_), serve_accept(*accept), [](std::exception_ptr) {});
    }
  }

  task<> serve_accept(proto::accept_message accept) {
    auto [ec, socket] = co_await net::connect_tcp(target_host_, target_port_);
    if (ec) {
      rejected_.fetch_add(1);
      auto reject = accept.address + "&sb-hc-statusCode=502&sb-hc-statusDescription=" + "endpoint%20" +
                    target_host_ + "%3A" + std::to_string(target_port_) + "%20unreachable";
      auto r = co_await client_.dial_address(reject);
      co_return;
    }
    auto dial = co_await client_.dial_address(accept.address);
    if (!dial) co_return;
    accepted_.fetch_add(1);
    auto tcp = net::byte_stream::plain(std::move(socket));
    net::tunnel_counters counters;
    co_await net::splice(*dial.connection, tcp, counters, net::tunnel_side::agent_side);
    dial.connection->stream().close();
    tcp.close();
  }

  task<> echo_accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await echo_->async_accept(asio::make_strand(io_), net::use_tuple);
      if (ec) co_return;
      asio::co_spawn(socket.get_executor(), echo(std::move(socket)), [](std::exception_ptr) {});
    }
  }
  static task<> echo(net::tcp::socket socket) {
    std::vector<char> buf(64 * 1024);
    for (;;) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), net::use_tuple);
      if (ec) break;
      auto [wec, w] = co_await asio::async_write(socket, asio::buffer(buf.data(), n), net::use_tuple);
      if (wec) co_return;
    }
    net::error_code ignored;
    socket.shutdown(net::tcp::socket::shutdown_send, ignored);
  }

  asio::io_context io_;
  net::relay_client client_;
  std::string target_host_;
  std::uint16_t target_port_;
  std::optional<net::tcp::acceptor> echo_;
  std::atomic<int> accepted_{0}, rejected_{0};
  std::thread thread_;
};

}  // namespace hc::test
