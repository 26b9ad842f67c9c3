// connector/connector_metrics: hcconnect's Prometheus metrics, served as text at /metrics.
// prometheus-cpp is confined to connector_metrics.cpp; callers use these verbs. Thread-safe.
#pragma once
#include "net/tunnel_meter.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace hc::connector {

class connector_metrics {
 public:
  connector_metrics();
  ~connector_metrics();

  // outcome: tunnelled (the relay joined us to a listener), rejected (the relay or the listener
  // answered with an error status), failed (no answer: relay unreachable, TLS, timeout).
  void connection(std::string_view outcome);
  // A tunnel from open to close: the data path adds its bytes to the returned counters, which
  // every scrape reports as they flow.
  using flowing_tunnel = net::tunnel_meter<bool>::tunnel;
  std::shared_ptr<flowing_tunnel> tunnel_started(double setup_seconds);
  void tunnel_ended(const std::shared_ptr<flowing_tunnel>& tunnel);
  void set_endpoints(std::size_t listening);
  // App Service mode: endpoints the relay names that wait for `hcconnect app-accept`.
  void set_changes_waiting(std::size_t waiting);

  std::string serialize();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hc::connector
