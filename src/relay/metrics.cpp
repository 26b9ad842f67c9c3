// relay/metrics: prometheus-cpp families behind relay_metrics (see metrics.hpp).
#include "relay/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace hc::relay {

struct relay_metrics::impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Gauge& listeners = prometheus::BuildGauge()
                                     .Name("hcrelay_listeners")
                                     .Help("Listener control channels currently connected")
                                     .Register(*registry)
                                     .Add({});
  prometheus::Family<prometheus::Counter>& outcomes = prometheus::BuildCounter()
                                                          .Name("hcrelay_sender_connections_total")
                                                          .Help("Sender connect gestures by outcome")
                                                          .Register(*registry);
  prometheus::Family<prometheus::Counter>& http_requests =
      prometheus::BuildCounter()
          .Name("hcrelay_http_requests_total")
          .Help("HTTP-mode requests relayed to listeners, by outcome")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& auth_failures = prometheus::BuildCounter()
                                                               .Name("hcrelay_auth_failures_total")
                                                               .Help("Refused tokens by gesture and status")
                                                               .Register(*registry);
  prometheus::Gauge& tunnels = prometheus::BuildGauge()
                                   .Name("hcrelay_tunnels_active")
                                   .Help("Tunnels currently carrying bytes")
                                   .Register(*registry)
                                   .Add({});
  prometheus::Family<prometheus::Counter>& bytes = prometheus::BuildCounter()
                                                       .Name("hcrelay_tunnel_bytes_total")
                                                       .Help("Payload bytes relayed, by direction")
                                                       .Register(*registry);
  prometheus::Counter& bytes_up = bytes.Add({{"direction", "app_to_agent"}});
  prometheus::Counter& bytes_down = bytes.Add({{"direction", "agent_to_app"}});
  prometheus::Histogram& setup =
      prometheus::BuildHistogram()
          .Name("hcrelay_tunnel_setup_seconds")
          .Help("Sender upgrade received to both legs upgraded")
          .Register(*registry)
          .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
                                                           0.1, 0.5, 1, 5});
  prometheus::Gauge& cluster_link = prometheus::BuildGauge()
                                        .Name("hcrelay_cluster_link_up")
                                        .Help(
                                            "1 while the cluster's Redis answers; 0 while this node "
                                            "pairs senders with its own listeners only")
                                        .Register(*registry)
                                        .Add({});
  prometheus::Family<prometheus::Counter>& cluster_accepts =
      prometheus::BuildCounter()
          .Name("hcrelay_cluster_accepts_total")
          .Help(
              "Accepts and HTTP-mode requests forwarded between cluster nodes: sent to another node's "
              "listener, "
              "received for ours")
          .Register(*registry);
  prometheus::Gauge& http2_connections =
      prometheus::BuildGauge()
          .Name("hcrelay_http2_connections")
          .Help("HTTP/2 connections open (agents carry tunnel legs as their streams)")
          .Register(*registry)
          .Add({});
  prometheus::Counter& http2_streams =
      prometheus::BuildCounter()
          .Name("hcrelay_http2_streams_total")
          .Help("HTTP/2 streams served: tunnel legs, control channels, management calls and requests")
          .Register(*registry)
          .Add({});
};

relay_metrics::relay_metrics() : impl_(std::make_unique<impl>()) {}
relay_metrics::~relay_metrics() = default;

void relay_metrics::listener_connected() {
  impl_->listeners.Increment();
}
void relay_metrics::listener_disconnected() {
  impl_->listeners.Decrement();
}
void relay_metrics::sender_outcome(std::string_view outcome) {
  impl_->outcomes.Add({{"outcome", std::string(outcome)}}).Increment();
}

void relay_metrics::http_request(std::string_view outcome) {
  impl_->http_requests.Add({{"outcome", std::string(outcome)}}).Increment();
}
void relay_metrics::auth_failure(std::string_view gesture, int status) {
  impl_->auth_failures.Add({{"gesture", std::string(gesture)}, {"status", std::to_string(status)}})
      .Increment();
}
void relay_metrics::tunnel_started() {
  impl_->tunnels.Increment();
}
void relay_metrics::tunnel_ended(std::uint64_t up, std::uint64_t down) {
  impl_->tunnels.Decrement();
  impl_->bytes_up.Increment(double(up));
  impl_->bytes_down.Increment(double(down));
}
void relay_metrics::setup_latency(double seconds) {
  impl_->setup.Observe(seconds);
}

void relay_metrics::cluster_link_up(bool up) {
  impl_->cluster_link.Set(up ? 1 : 0);
}
void relay_metrics::cluster_accept(std::string_view direction) {
  impl_->cluster_accepts.Add({{"direction", std::string(direction)}}).Increment();
}

std::string relay_metrics::serialize() const {
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

void relay_metrics::http2_connection_opened() {
  impl_->http2_connections.Increment();
}
void relay_metrics::http2_connection_closed() {
  impl_->http2_connections.Decrement();
}
void relay_metrics::http2_stream() {
  impl_->http2_streams.Increment();
}

}  // namespace hc::relay
