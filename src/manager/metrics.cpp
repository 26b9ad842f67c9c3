// manager/metrics: prometheus-cpp families behind hcm_metrics (see metrics.hpp).
#include "manager/metrics.hpp"
#include "util/process_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <mutex>

namespace hc::manager {

struct hcm_metrics::impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Gauge>& connections = prometheus::BuildGauge()
                                                           .Name("hcm_connections")
                                                           .Help("Configured hybrid connections by status")
                                                           .Register(*registry);
  prometheus::Gauge& active = prometheus::BuildGauge()
                                  .Name("hcm_tunnels_active")
                                  .Help("Tunnels currently carrying bytes")
                                  .Register(*registry)
                                  .Add({});
  prometheus::Family<prometheus::Counter>& tunnels = prometheus::BuildCounter()
                                                         .Name("hcm_tunnels_total")
                                                         .Help("Accepted connections by outcome")
                                                         .Register(*registry);
  prometheus::Family<prometheus::Counter>& bytes = prometheus::BuildCounter()
                                                       .Name("hcm_bytes_total")
                                                       .Help("Payload bytes carried, by direction")
                                                       .Register(*registry);
  prometheus::Counter& bytes_to = bytes.Add({{"direction", "to_endpoint"}});
  prometheus::Counter& bytes_from = bytes.Add({{"direction", "from_endpoint"}});
  prometheus::Counter& reconnects = prometheus::BuildCounter()
                                        .Name("hcm_reconnects_total")
                                        .Help("Control channels lost and re-opened")
                                        .Register(*registry)
                                        .Add({});
  prometheus::Histogram& setup =
      prometheus::BuildHistogram()
          .Name("hcm_tunnel_setup_seconds")
          .Help("Accept message received to endpoint and rendezvous both open")
          .Register(*registry)
          .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
                                                           0.1, 0.5, 1, 5});
  std::mutex scrape_mutex;  // serialises the delta updates below
  std::uint64_t reported_to = 0, reported_from = 0;
};

hcm_metrics::hcm_metrics() : impl_(std::make_unique<impl>()) {
  for (auto* s : {"Connected", "Disconnected", "NotFound", "Unauthorized"})
    impl_->connections.Add({{"status", s}});
}
hcm_metrics::~hcm_metrics() = default;

void hcm_metrics::tunnel_outcome(std::string_view outcome) {
  impl_->tunnels.Add({{"outcome", std::string(outcome)}}).Increment();
}
void hcm_metrics::tunnel_setup(double seconds) {
  impl_->setup.Observe(seconds);
}
void hcm_metrics::reconnect() {
  impl_->reconnects.Increment();
}

std::string hcm_metrics::serialize(const std::vector<connection_status>& now, std::uint64_t bytes_to,
                                   std::uint64_t bytes_from) {
  std::lock_guard lock(impl_->scrape_mutex);
  std::map<std::string, int> by_status{
      {"Connected", 0}, {"Disconnected", 0}, {"NotFound", 0}, {"Unauthorized", 0}};
  double active = 0;
  for (auto& c : now) {
    ++by_status[c.status];
    active += double(c.active_tunnels);
  }
  for (auto& [s, n] : by_status) impl_->connections.Add({{"status", s}}).Set(n);
  impl_->active.Set(active);
  if (bytes_to > impl_->reported_to) impl_->bytes_to.Increment(double(bytes_to - impl_->reported_to));
  if (bytes_from > impl_->reported_from)
    impl_->bytes_from.Increment(double(bytes_from - impl_->reported_from));
  impl_->reported_to = std::max(impl_->reported_to, bytes_to);
  impl_->reported_from = std::max(impl_->reported_from, bytes_from);
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect()) +
         util::process_metrics_text("hcm");
}

}  // namespace hc::manager
