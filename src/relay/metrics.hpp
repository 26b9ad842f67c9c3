// relay/metrics: the relay's Prometheus metrics (served as text at /metrics). prometheus-cpp
// is confined to metrics.cpp; callers use these verbs. Thread-safe.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace hc::relay {

class relay_metrics {
 public:
  relay_metrics();
  ~relay_metrics();

  void listener_connected();
  void listener_disconnected();
  // outcome: accepted, rejected, no_listener, timeout, not_found, unauthorized, forbidden, bad_request
  void sender_outcome(std::string_view outcome);
  // HTTP mode: answered, no_listener, timeout, listener_lost, unauthorized, forbidden, too_large,
  // too_slow, bad_request, caller_gone
  void http_request(std::string_view outcome);
  void auth_failure(std::string_view gesture, int status);
  void tunnel_started();
  void tunnel_ended(std::uint64_t app_to_agent_bytes, std::uint64_t agent_to_app_bytes);
  // Sender upgrade received -> both legs answered 101.
  void setup_latency(double seconds);
  // Cluster: whether the Redis link is up (1) or the node pairs only its own listeners (0), and
  // accepts and HTTP-mode requests forwarded between nodes ("sent" to another node's listener,
  // "received" for ours).
  void cluster_link_up(bool up);
  void cluster_accept(std::string_view direction);
  // HTTP/2 (ALPN h2): connections open now, and streams (tunnel legs, gestures, requests) served.
  void http2_connection_opened();
  void http2_connection_closed();
  void http2_stream();

  std::string serialize() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hc::relay
