// net/proxy_protocol: PROXY v2 parsing and reading (see proxy_protocol.hpp).
#include "net/proxy_protocol.hpp"

#include "net/deadline.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

namespace hc::net {
namespace {

constexpr std::array<std::uint8_t, 12> signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                    0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

std::uint16_t be16(const std::uint8_t* p) {
  return std::uint16_t((p[0] << 8) | p[1]);
}

}  // namespace

proxy_prefix parse_proxy_v2_prefix(std::span<const std::uint8_t, proxy_v2_prefix_size> p) {
  if (!std::equal(signature.begin(), signature.end(), p.begin())) {
    if (std::memcmp(p.data(), "PROXY ", 6) == 0)
      return {
          0,
          "it sent a PROXY protocol v1 (text) header; this relay reads version 2 (HAProxy: send-proxy-v2)"};
    if (p[0] == 0x16)
      return {
          0, "it started TLS without a PROXY protocol v2 header (HAProxy: send-proxy-v2 on the server line)"};
    return {0,
            "its first bytes are not a PROXY protocol v2 header (HAProxy: send-proxy-v2 on the server line)"};
  }
  if ((p[12] >> 4) != 2)
    return {0, "PROXY protocol version " + std::to_string(p[12] >> 4) + " (only 2 is read)"};
  if ((p[12] & 0x0F) > 1)
    return {0, "PROXY protocol v2 command " + std::to_string(p[12] & 0x0F) + " is unknown"};
  std::size_t remaining = be16(p.data() + 14);
  if (proxy_v2_prefix_size + remaining > proxy_v2_max_size)
    return {0, "a PROXY protocol v2 header of " + std::to_string(proxy_v2_prefix_size + remaining) +
                   " bytes (at most " + std::to_string(proxy_v2_max_size) + ")"};
  return {remaining, {}};
}

proxy_result parse_proxy_v2(std::span<const std::uint8_t> h) {
  if (h.size() < proxy_v2_prefix_size) return {std::nullopt, "a PROXY protocol v2 header cut short"};
  auto prefix = parse_proxy_v2_prefix(h.first<proxy_v2_prefix_size>());
  if (!prefix.error.empty()) return {std::nullopt, prefix.error};
  if (h.size() != proxy_v2_prefix_size + prefix.remaining)
    return {std::nullopt, "a PROXY protocol v2 header whose length field does not match its size"};
  bool local = (h[12] & 0x0F) == 0;
  int family = h[13] >> 4, transport = h[13] & 0x0F;
  const std::uint8_t* a = h.data() + proxy_v2_prefix_size;
  if (local || family == 0 || family == 3) return {proxy_header{}, {}};  // no client address to take
  if (transport != 1)
    return {std::nullopt,
            "a PROXY protocol v2 header for a datagram or unknown transport (the relay is TCP)"};
  if (family == 1) {
    if (prefix.remaining < 12)
      return {std::nullopt, "a PROXY protocol v2 IPv4 header too short for its addresses"};
    asio::ip::address_v4::bytes_type bytes;
    std::copy_n(a, 4, bytes.begin());
    return {proxy_header{tcp::endpoint(asio::ip::address_v4(bytes), be16(a + 8))}, {}};
  }
  if (family == 2) {
    if (prefix.remaining < 36)
      return {std::nullopt, "a PROXY protocol v2 IPv6 header too short for its addresses"};
    asio::ip::address_v6::bytes_type bytes;
    std::copy_n(a, 16, bytes.begin());
    return {proxy_header{tcp::endpoint(asio::ip::address_v6(bytes), be16(a + 32))}, {}};
  }
  return {std::nullopt, "a PROXY protocol v2 header with unknown address family " + std::to_string(family)};
}

task<proxy_result> read_proxy_v2(tcp::socket& socket, std::chrono::steady_clock::duration timeout) {
  auto ex = co_await asio::this_coro::executor;
  deadline guard(ex, timeout, [&] {
    error_code ignored;
    socket.close(ignored);
  });
  std::vector<std::uint8_t> header(proxy_v2_prefix_size);
  auto [ec, n] = co_await asio::async_read(socket, asio::buffer(header), use_tuple);
  if (ec)
    co_return proxy_result{std::nullopt,
                           guard.expired() ? "no PROXY protocol v2 header in time" : ec.message()};
  auto prefix = parse_proxy_v2_prefix(
      std::span<const std::uint8_t, proxy_v2_prefix_size>(header.data(), proxy_v2_prefix_size));
  if (!prefix.error.empty()) co_return proxy_result{std::nullopt, prefix.error};
  header.resize(proxy_v2_prefix_size + prefix.remaining);
  auto [rest_ec, rest_n] = co_await asio::async_read(
      socket, asio::buffer(header.data() + proxy_v2_prefix_size, prefix.remaining), use_tuple);
  if (rest_ec)
    co_return proxy_result{std::nullopt,
                           guard.expired() ? "no PROXY protocol v2 header in time" : rest_ec.message()};
  co_return parse_proxy_v2(header);
}

}  // namespace hc::net
