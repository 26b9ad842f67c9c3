// manager/endpoint_dial: TCP connections from hcm to an endpoint host:port: the tunnel's dial
// (first address that answers, bounded by a deadline) and `hcm test`'s probe (every address the
// name resolves to, each timed). hcm dials only the endpoint its hybrid connection names, and
// never a link-local address (cloud metadata services) unless the connection allows it.
// Coroutines on the caller's executor; the sockets they return belong to the caller.
#pragma once
#include "net/types.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace hc::manager {

// hcm gives an endpoint this long to accept a TCP connection: well inside the accept address's
// 30 s lifetime (protocol doc §5.1), so a slow endpoint can still be rejected with a reason.
inline constexpr auto endpoint_connect_timeout = std::chrono::seconds(10);

struct endpoint_connection {
  net::error_code ec;
  net::tcp::socket socket;
  std::string error;  // in words when ec is set ("connection refused", "timed out after 10 s", DNS text)
};

// 169.254.0.0/16 and fe80::/10 (also as IPv4-mapped IPv6): where cloud metadata services
// (169.254.169.254) and other host-local services answer.
bool is_link_local(const net::asio::ip::address& address) noexcept;

// Resolves host and connects to the addresses in turn (TCP_NODELAY on), within `timeout`.
// Without `allow_link_local`, link-local addresses are left out after resolving (before any
// connect); a name with no other address fails with the reason and asio::error::access_denied.
net::task<endpoint_connection> dial_endpoint(
    std::string host, std::uint16_t port, bool allow_link_local,
    std::chrono::steady_clock::duration timeout = endpoint_connect_timeout);

struct probe_result {
  std::string address;  // ip:port
  net::error_code ec;
  double seconds = 0;
};
struct probe_report {
  std::string resolve_error;  // DNS failure in words ("" when it resolved)
  double resolve_seconds = 0;
  std::vector<probe_result> addresses;
};
// `hcm test`: resolve, then connect to every address separately and time each.
net::task<probe_report> probe_endpoint(std::string host, std::uint16_t port,
                                       std::chrono::steady_clock::duration timeout);

}  // namespace hc::manager
