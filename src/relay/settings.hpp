// relay/settings: the operator's limits and timings for one relay (hcrelay flags), read by every
// session through relay_context. Defaults are the documented ones in net/limits.hpp. Set once at
// start-up, read-only afterwards.
#pragma once
#include "net/limits.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace hc::relay {

struct relay_settings {
  // How long past its expiry a listener's token still holds before the control channel is closed
  // with 1008 (renewToken within it keeps the listener).
  std::chrono::seconds token_grace = net::limits::token_grace;
  // Keep-alive ping on every listener control channel; two unanswered ones drop the listener.
  std::chrono::milliseconds listener_keepalive = net::limits::relay_keepalive_interval;
  // On SIGTERM: how long open tunnels and channels get to finish after Close 1001.
  std::chrono::milliseconds drain_timeout = net::limits::relay_drain_timeout;
  // Open connections (any kind) per source address (IPv6: per /64) and in total.
  std::size_t max_connections_per_source = net::limits::max_connections_per_source;
  std::size_t max_connections = net::limits::max_connections;
  // Failed authentications a source's allowance (limits::auth_failure_burst) regains per second.
  double auth_failure_refill = net::limits::auth_failure_refill_per_second;
  // Plain HTTP connections (not WebSockets): idle time between requests, requests per connection.
  std::chrono::milliseconds http_idle_timeout = net::limits::http_idle_timeout;
  std::size_t max_requests_per_connection = net::limits::max_requests_per_connection;
  // HTTP mode (protocol doc §6): how long a listener has to answer a request, and to send each
  // next piece of a response body (Azure: 60 s, then 504); the largest request body relayed (413).
  std::chrono::milliseconds http_answer_timeout = std::chrono::seconds(60);
  std::uint64_t max_relayed_body_bytes = 1024ull * 1024 * 1024;
  // HTTP/2 (RFC 8441 WebSockets for our agents, any request for any client): offered by ALPN
  // unless turned off; the streams one connection may have open at once.
  bool http2 = true;
  std::uint32_t http2_max_streams = 4096;
  // /metrics per hybrid connection (relay/metrics.hpp). They name every tenant's hybrid
  // connections, so by default they are on only when /metrics is on its own address
  // (--admin-listen); --hc-metrics / --no-hc-metrics decide otherwise. How many hybrid
  // connections get series of their own (the rest share "_other").
  enum class per_hc { by_admin_address, on, off };
  per_hc hc_metrics = per_hc::by_admin_address;
  std::size_t hc_metrics_limit = 1000;
  // Usage rows (relay/usage_recorder): how often what accumulated is added to the store, and how
  // many days of hourly rows the store keeps.
  std::chrono::milliseconds usage_interval = std::chrono::seconds(60);
  unsigned usage_retention_days = 90;
};

}  // namespace hc::relay
