// tests/integration/raw_client: the hostile side of the relay tests: a TLS connection to the relay
// that sends whatever bytes a test gives it (malformed request heads, frames with reserved bits,
// slow drips) and reads back the raw HTTP status or waits for the relay to close. Complements
// harness.hpp (well-behaved gestures); used by relay_hostile_test.cpp. Every wait is bounded by
// an explicit deadline that closes the socket; nothing sleeps to synchronise.
// Single-threaded: all helpers run on the caller's io_context.
#pragma once
#include "harness.hpp"
#include "net/byte_stream.hpp"
#include "net/deadline.hpp"
#include "net/http.hpp"
#include "net/ws_client.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace hc::test::raw {

// TCP from the loopback address `source` (127.0.0.2 and up: a client of its own to the relay) to
// 127.0.0.1:`port` (default: the relay's), then TLS as connect() does; none when either failed.
inline task<std::optional<net::byte_stream>> connect_from(const relay_process& relay, std::string source,
                                                          std::uint16_t port = 0) {
  net::tcp::socket socket(co_await asio::this_coro::executor);
  socket.open(net::tcp::v4());
  socket.bind({asio::ip::make_address(source), 0});
  auto [ec] = co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), port ? port : relay.port()},
                                            net::use_tuple);
  if (ec) co_return std::nullopt;
  auto stream = net::byte_stream::tls(std::move(socket), *relay.tls());
  auto tls_ec = co_await stream.tls_connect(relay.host());
  if (tls_ec) co_return std::nullopt;
  co_return std::move(stream);
}

// TCP + TLS handshake to the relay (SNI and verification against localhost, the dev CA).
inline task<net::byte_stream> connect(const relay_process& relay) {
  auto connected = co_await net::connect_tcp("127.0.0.1", relay.port());
  require(!connected.first, "TCP connect to the relay failed: " + connected.first.message());
  auto stream = net::byte_stream::tls(std::move(connected.second), *relay.tls());
  auto ec = co_await stream.tls_connect(relay.host());
  require(!ec, "TLS handshake with the relay failed: " + ec.message());
  co_return stream;
}

inline task<> send(net::byte_stream& stream, std::string bytes) {
  auto w = co_await stream.write(asio::buffer(bytes));
  require(!w.ec, "writing to the relay failed: " + w.ec.message());
}

// What came back: status 0 and `error` set when the relay closed without an HTTP answer.
struct response {
  int status = 0;
  std::string reason;
  header_list headers;
  std::string body;
  std::string error;
  std::string leftover;  // bytes after the head (the first frames after a 101)
  std::string_view header(std::string_view name) const { return net::find_header(headers, name); }
};

// Reads one response head (and its body unless a 101) within `limit`.
inline task<response> read_response(net::byte_stream& stream,
                                    std::chrono::steady_clock::duration limit = 10s) {
  auto ex = co_await asio::this_coro::executor;
  net::deadline watchdog(ex, limit, [&] { stream.close(); });
  response out;
  net::http_response head;
  auto read = co_await net::read_response(stream, out.leftover, head, 1024 * 1024);
  if (!read) {
    out.error = read.bad ? read.bad->message : read.ec.message();
    if (watchdog.expired()) out.error = "no answer within the limit";
    co_return out;
  }
  out.status = head.status;
  out.reason = std::move(head.reason);
  out.headers = std::move(head.headers);
  out.body = std::move(head.body);
  co_return out;
}

// Connects, sends `bytes` and reads the answer.
inline task<response> exchange(const relay_process& relay, std::string bytes) {
  auto stream = co_await connect(relay);
  co_await send(stream, std::move(bytes));
  auto r = co_await read_response(stream);
  stream.close();
  co_return r;
}

// Reads and discards until the relay closes; true when that happened within `limit`.
inline task<bool> closed_within(net::byte_stream& stream, std::chrono::steady_clock::duration limit) {
  auto ex = co_await asio::this_coro::executor;
  net::deadline watchdog(ex, limit, [&] { stream.close(); });
  char sink[4096];
  for (;;) {
    auto r = co_await stream.read_some(asio::buffer(sink));
    if (r.ec) co_return !watchdog.expired();
  }
}

// "Host: localhost:PORT" and the WebSocket upgrade headers; `extra` lines ("Name: value\r\n")
// go after them. Pass key/version empty to leave the header out.
inline std::string upgrade(const relay_process& relay, std::string_view target, std::string_view extra = {},
                           std::string_view key = "dGhlIHNhbXBsZSBub25jZQ==",
                           std::string_view version = "13") {
  std::string out = "GET " + std::string(target) + " HTTP/1.1\r\nHost: " + relay.host() + ":" +
                    std::to_string(relay.port()) + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
  if (!key.empty()) out += "Sec-WebSocket-Key: " + std::string(key) + "\r\n";
  if (!version.empty()) out += "Sec-WebSocket-Version: " + std::string(version) + "\r\n";
  out.append(extra);
  out += "\r\n";
  return out;
}

inline std::string listen_target(std::string_view path) {
  return "/$hc/" + std::string(path) + "?sb-hc-action=listen";
}
inline std::string connect_target(std::string_view path) {
  return "/$hc/" + std::string(path) + "?sb-hc-action=connect";
}

// One frame as bytes: b0 (FIN, RSV, opcode) as given, the length in the shortest form unless
// `len64` forces the 8-byte form with `declared` as its value, and a mask when `masked`
// (key 0x11223344, payload masked with it).
inline std::string frame(std::uint8_t b0, std::string_view payload, bool masked = true,
                         std::optional<std::uint64_t> declared = std::nullopt) {
  std::string out;
  out += char(b0);
  const std::uint8_t mask_bit = masked ? 0x80 : 0;
  std::uint64_t len = declared.value_or(payload.size());
  if (declared || len > 0xFFFF) {
    out += char(mask_bit | 127);
    for (int i = 7; i >= 0; --i) out += char((len >> (8 * i)) & 0xFF);
  } else if (len >= 126) {
    out += char(mask_bit | 126);
    out += char(len >> 8);
    out += char(len & 0xFF);
  } else {
    out += char(mask_bit | len);
  }
  const std::uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};
  if (masked) out.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) out += masked ? char(payload[i] ^ key[i % 4]) : payload[i];
  return out;
}

// A Close frame payload: code + raw reason bytes (not checked: may be invalid UTF-8).
inline std::string close_payload(std::uint16_t code, std::string_view reason) {
  std::string out;
  out += char(code >> 8);
  out += char(code & 0xFF);
  out.append(reason);
  return out;
}

}  // namespace hc::test::raw
