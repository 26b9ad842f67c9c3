// connector/connector_metrics: hcconnect's Prometheus metrics, served as text at /metrics.
// prometheus-cpp is confined to connector_metrics.cpp; callers use these verbs. Thread-safe.
#pragma once
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
  void tunnel_started(double setup_seconds);
  void tunnel_ended(std::uint64_t app_to_agent_bytes, std::uint64_t agent_to_app_bytes);
  void set_endpoints(std::size_t listening);
  // App Service mode: endpoints the relay names that wait for `hcconnect app-accept`.
  void set_changes_waiting(std::size_t waiting);

  std::string serialize() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hc::connector
