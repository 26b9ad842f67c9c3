// manager/metrics: hcm's Prometheus families (hcm_connections{status}, hcm_tunnels_active,
// hcm_tunnels_total{outcome}, hcm_bytes_total{direction}, hcm_reconnects_total,
// hcm_tunnel_setup_seconds). Event counters are updated as things happen (any thread; prometheus-cpp
// is thread-safe); the per-connection gauges and byte totals are refreshed from the live status
// at each scrape. One instance per service, owned by service.
#pragma once
#include "manager/status.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hc::manager {

class hcm_metrics {
 public:
  hcm_metrics();
  ~hcm_metrics();

  // outcome: ok, endpoint_unreachable, rendezvous_failed.
  void tunnel_outcome(std::string_view outcome);
  void tunnel_setup(double seconds);
  void reconnect();
  // Prometheus text; `bytes_to`/`bytes_from` are lifetime totals over every connection.
  std::string serialize(const std::vector<connection_status>& now, std::uint64_t bytes_to,
                        std::uint64_t bytes_from);

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace hc::manager
