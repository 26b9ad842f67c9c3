// relay/metrics: the relay's Prometheus metrics (served as text at /metrics). prometheus-cpp
// is confined to metrics.cpp; callers use these verbs. Thread-safe.
//
// Per hybrid connection (labels namespace and hybrid_connection; off with --hc-metrics=false):
// listeners and active tunnels of every hybrid connection in the catalog (handed over at each
// scrape, so a deleted one's gauges go with it), tunnels by outcome (every outcome at 0 from the
// first scrape), bytes each way as they flow, setup latency. Cardinality is bounded: the first
// --hc-metrics-limit hybrid connections get series of their own, the rest are summed under
// namespace="_other", hybrid_connection="_other". A deleted one's series go at the first scrape
// after its last tunnel ended, so it gives its place back (names created and deleted by one
// tenant cannot push the others into "_other").
// Bytes (global and per hybrid connection) are reported as they flow: every scrape adds what
// each open tunnel carried since the one before, not only when a tunnel closes.
#pragma once
#include "net/tunnel_meter.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hc::relay {

// What the relay is at a scrape, beyond its counters.
struct scrape_state {
  struct hybrid_connection_now {
    std::string ns;
    std::string name;
    std::size_t listeners = 0;  // control channels connected to this node
  };
  std::vector<hybrid_connection_now> catalog;
  bool ready = false;                                 // what /readyz says
  std::optional<std::int64_t> certificate_not_after;  // Unix seconds; none without TLS
};

class relay_metrics {
 public:
  struct hc_series;  // one hybrid connection's families (metrics.cpp)
  using flowing_tunnel = net::tunnel_meter<hc_series*>::tunnel;

  relay_metrics();
  ~relay_metrics();

  // Before the first session: per-hybrid-connection families on or off, and how many hybrid
  // connections get series of their own.
  void configure_per_hc(bool on, std::size_t limit);

  void listener_connected();
  void listener_disconnected();
  // outcome: accepted, rejected, endpoint_unreachable (a listener rejected with 502: hcm could not
  // reach its endpoint), no_listener, timeout — counted for the hybrid connection too when `ns`
  // and `hc` name it — and not_found, unauthorized, forbidden, bad_request.
  void sender_outcome(std::string_view outcome, std::string_view ns = {}, std::string_view hc = {});
  // HTTP mode: answered, no_listener, timeout, listener_lost, unauthorized, forbidden, too_large,
  // too_slow, bad_request, caller_gone
  void http_request(std::string_view outcome);
  void auth_failure(std::string_view gesture, int status);
  // A tunnel from open to close: the data path adds its bytes to the returned counters.
  std::shared_ptr<flowing_tunnel> tunnel_started(std::string_view ns, std::string_view hc);
  void tunnel_ended(const std::shared_ptr<flowing_tunnel>& tunnel);
  // Sender upgrade received -> both legs answered 101.
  void setup_latency(double seconds, std::string_view ns, std::string_view hc);
  // Cluster: whether the Redis link is up (1) or the node pairs only its own listeners (0), and
  // accepts and HTTP-mode requests forwarded between nodes ("sent" to another node's listener,
  // "received" for ours).
  void cluster_link_up(bool up);
  void cluster_accept(std::string_view direction);
  // HTTP/2 (ALPN h2): connections open now, and streams (tunnel legs, gestures, requests) served.
  void http2_connection_opened();
  void http2_connection_closed();
  void http2_stream();
  // The text at /metrics: the counters, the gauges `now` gives, and the process's own families.
  std::string serialize(const scrape_state& now);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hc::relay
