// net/proxy_protocol: the PROXY protocol version 2 header (HAProxy's send-proxy-v2, AWS NLB,
// most TCP load balancers) that a trusted balancer puts before a connection's first byte, naming
// the client it accepted. Parsed here from exactly the header's bytes (nothing after it is read,
// so TLS starts where the header ends); the relay decides whom to believe (relay/server.cpp).
#pragma once
#include "net/types.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace hc::net {

inline constexpr std::size_t proxy_v2_prefix_size = 16;      // signature, version/command, family, length
inline constexpr std::size_t proxy_v2_max_size = 16 + 4096;  // addresses and TLVs beyond this are refused

struct proxy_header {
  // The client the balancer accepted (PROXY over TCP); none for LOCAL (the balancer's own
  // connection, such as a health check) or an address family without one (UNSPEC, UNIX).
  std::optional<tcp::endpoint> client;
};

struct proxy_result {
  std::optional<proxy_header> header;
  std::string error;  // why there is none, as a sentence
};

// The number of bytes that follow the 16-byte prefix, or an error naming what came instead
// (PROXY v1 text, a TLS handshake, another version, a datagram family, an oversized header).
struct proxy_prefix {
  std::size_t remaining = 0;
  std::string error;
};
proxy_prefix parse_proxy_v2_prefix(std::span<const std::uint8_t, proxy_v2_prefix_size> prefix);
// The whole header: prefix and the `remaining` bytes after it.
proxy_result parse_proxy_v2(std::span<const std::uint8_t> header);

// Reads exactly one header from `socket` within `timeout` (the socket is closed when it expires).
task<proxy_result> read_proxy_v2(tcp::socket& socket, std::chrono::steady_clock::duration timeout);

}  // namespace hc::net
