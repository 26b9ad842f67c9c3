// connector/connector_metrics: prometheus-cpp families behind connector_metrics (see the header).
#include "connector/connector_metrics.hpp"
#include "util/process_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace hc::connector {

struct connector_metrics::impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& outcomes = prometheus::BuildCounter()
                                                          .Name("hcconnect_connections_total")
                                                          .Help("App TCP connections by outcome")
                                                          .Register(*registry);
  prometheus::Gauge& tunnels = prometheus::BuildGauge()
                                   .Name("hcconnect_tunnels_active")
                                   .Help("Tunnels currently carrying bytes")
                                   .Register(*registry)
                                   .Add({});
  prometheus::Gauge& endpoints = prometheus::BuildGauge()
                                     .Name("hcconnect_endpoints_listening")
                                     .Help("Endpoints with a bound local listener")
                                     .Register(*registry)
                                     .Add({});
  prometheus::Gauge& waiting =
      prometheus::BuildGauge()
          .Name("hcconnect_app_endpoint_changes_pending")
          .Help("New or changed endpoints the relay names, not used until app-accept")
          .Register(*registry)
          .Add({});
  prometheus::Family<prometheus::Counter>& bytes =
      prometheus::BuildCounter()
          .Name("hcconnect_bytes_total")
          .Help("Payload bytes carried by tunnels, by direction, counted as they flow")
          .Register(*registry);
  prometheus::Counter& bytes_up = bytes.Add({{"direction", "app_to_agent"}});
  prometheus::Counter& bytes_down = bytes.Add({{"direction", "agent_to_app"}});
  prometheus::Histogram& setup =
      prometheus::BuildHistogram()
          .Name("hcconnect_tunnel_setup_seconds")
          .Help("App connection accepted to the relay's 101 (tunnel joined)")
          .Register(*registry)
          .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
                                                           0.1, 0.5, 1, 5});
  net::tunnel_meter<bool> meter;  // the tag is unused: one set of counters

  void add_bytes(std::uint64_t up, std::uint64_t down) {
    bytes_up.Increment(double(up));
    bytes_down.Increment(double(down));
  }
};

connector_metrics::connector_metrics() : impl_(std::make_unique<impl>()) {}
connector_metrics::~connector_metrics() = default;

void connector_metrics::connection(std::string_view outcome) {
  impl_->outcomes.Add({{"outcome", std::string(outcome)}}).Increment();
}
std::shared_ptr<connector_metrics::flowing_tunnel> connector_metrics::tunnel_started(double setup_seconds) {
  impl_->tunnels.Increment();
  impl_->setup.Observe(setup_seconds);
  return impl_->meter.open(true);
}
void connector_metrics::tunnel_ended(const std::shared_ptr<flowing_tunnel>& tunnel) {
  impl_->tunnels.Decrement();
  impl_->meter.close(tunnel,
                     [this](bool, std::uint64_t up, std::uint64_t down) { impl_->add_bytes(up, down); });
}
void connector_metrics::set_endpoints(std::size_t listening) {
  impl_->endpoints.Set(double(listening));
}

void connector_metrics::set_changes_waiting(std::size_t waiting) {
  impl_->waiting.Set(double(waiting));
}

std::string connector_metrics::serialize() {
  impl_->meter.report([this](bool, std::uint64_t up, std::uint64_t down) { impl_->add_bytes(up, down); });
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect()) +
         util::process_metrics_text("hcconnect");
}

}  // namespace hc::connector
