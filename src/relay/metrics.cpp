// relay/metrics: prometheus-cpp families behind relay_metrics (see metrics.hpp).
#include "relay/metrics.hpp"

#include "util/process_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <set>

namespace hc::relay {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

constexpr std::array sender_outcomes{"accepted",     "rejected",  "endpoint_unreachable",
                                     "no_listener",  "timeout",   "not_found",
                                     "unauthorized", "forbidden", "bad_request"};
constexpr std::size_t per_hc_outcomes = 5;  // the first five: what a hybrid connection's tunnels end as
constexpr std::array http_outcomes{"answered",  "no_listener", "timeout",  "listener_lost", "unauthorized",
                                   "forbidden", "too_large",   "too_slow", "bad_request",   "caller_gone"};
const Histogram::BucketBoundaries setup_buckets{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025,
                                                0.05,   0.1,   0.5,   1,     5};
constexpr const char* other = "_other";  // the hybrid connections past the limit

std::size_t outcome_index(std::string_view outcome) {
  for (std::size_t i = 0; i < sender_outcomes.size(); ++i)
    if (outcome == sender_outcomes[i]) return i;
  return sender_outcomes.size();
}

prometheus::MetricFamily gauge_family(std::string name, std::string help) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = prometheus::MetricType::Gauge;
  return f;
}

void add_gauge(prometheus::MetricFamily& f, std::vector<prometheus::ClientMetric::Label> labels,
               double value) {
  auto& m = f.metric.emplace_back();
  m.label = std::move(labels);
  m.gauge.value = value;
}

}  // namespace

struct relay_metrics::hc_series {
  std::array<Counter*, per_hc_outcomes> outcomes{};
  Counter* bytes_up = nullptr;
  Counter* bytes_down = nullptr;
  Histogram* setup = nullptr;
  std::atomic<std::int64_t> active{0};
};

struct relay_metrics::impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  Gauge& listeners = BuildGauge()
                         .Name("hcrelay_listeners")
                         .Help("Listener control channels currently connected")
                         .Register(*registry)
                         .Add({});
  Family<Counter>& outcomes = BuildCounter()
                                  .Name("hcrelay_sender_connections_total")
                                  .Help("Sender connect gestures by outcome")
                                  .Register(*registry);
  Family<Counter>& http_requests = BuildCounter()
                                       .Name("hcrelay_http_requests_total")
                                       .Help("HTTP-mode requests relayed to listeners, by outcome")
                                       .Register(*registry);
  Family<Counter>& auth_failures = BuildCounter()
                                       .Name("hcrelay_auth_failures_total")
                                       .Help("Refused tokens by gesture and status")
                                       .Register(*registry);
  Gauge& tunnels = BuildGauge()
                       .Name("hcrelay_tunnels_active")
                       .Help("Tunnels currently carrying bytes")
                       .Register(*registry)
                       .Add({});
  Family<Counter>& bytes = BuildCounter()
                               .Name("hcrelay_tunnel_bytes_total")
                               .Help("Payload bytes relayed, by direction, counted as they flow")
                               .Register(*registry);
  Counter& bytes_up = bytes.Add({{"direction", "app_to_agent"}});
  Counter& bytes_down = bytes.Add({{"direction", "agent_to_app"}});
  Histogram& setup = BuildHistogram()
                         .Name("hcrelay_tunnel_setup_seconds")
                         .Help("Sender upgrade received to both legs upgraded")
                         .Register(*registry)
                         .Add({}, setup_buckets);
  Gauge& cluster_link =
      BuildGauge()
          .Name("hcrelay_cluster_link_up")
          .Help(
              "1 while the cluster's Redis answers; 0 while this node pairs senders with its "
              "own listeners only")
          .Register(*registry)
          .Add({});
  Family<Counter>& cluster_accepts =
      BuildCounter()
          .Name("hcrelay_cluster_accepts_total")
          .Help(
              "Accepts and HTTP-mode requests forwarded between cluster nodes: "
              "sent to another node's listener, received for ours")
          .Register(*registry);
  Gauge& http2_connections = BuildGauge()
                                 .Name("hcrelay_http2_connections")
                                 .Help("HTTP/2 connections open (agents carry tunnel legs as their streams)")
                                 .Register(*registry)
                                 .Add({});
  Counter& http2_streams =
      BuildCounter()
          .Name("hcrelay_http2_streams_total")
          .Help("HTTP/2 streams served: tunnel legs, control channels, management calls and requests")
          .Register(*registry)
          .Add({});

  // Per hybrid connection.
  Family<Counter>& hc_tunnels =
      BuildCounter()
          .Name("hcrelay_hc_tunnels_total")
          .Help(
              "Tunnels asked for, per hybrid connection, by outcome (endpoint_unreachable: the listener "
              "rejected with 502, as hcm does when its endpoint does not answer)")
          .Register(*registry);
  Family<Counter>& hc_bytes =
      BuildCounter()
          .Name("hcrelay_hc_bytes_total")
          .Help("Payload bytes relayed per hybrid connection, by direction, as they flow")
          .Register(*registry);
  Family<Histogram>& hc_setup =
      BuildHistogram()
          .Name("hcrelay_hc_tunnel_setup_seconds")
          .Help("Sender upgrade received to both legs upgraded, per hybrid connection")
          .Register(*registry);

  std::mutex series_mutex;
  bool per_hc = true;
  std::size_t per_hc_limit = 1000;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<hc_series>> series;  // under series_mutex
  std::unique_ptr<hc_series> others;                                                 // past the limit

  net::tunnel_meter<hc_series*> meter;

  std::unique_ptr<hc_series> make_series(const std::string& ns, const std::string& hc) {
    auto s = std::make_unique<hc_series>();
    const std::map<std::string, std::string> labels{{"namespace", ns}, {"hybrid_connection", hc}};
    for (std::size_t i = 0; i < per_hc_outcomes; ++i) {
      auto with_outcome = labels;
      with_outcome.emplace("outcome", sender_outcomes[i]);
      s->outcomes[i] = &hc_tunnels.Add(with_outcome);
    }
    auto up = labels, down = labels;
    up.emplace("direction", "app_to_agent");
    down.emplace("direction", "agent_to_app");
    s->bytes_up = &hc_bytes.Add(up);
    s->bytes_down = &hc_bytes.Add(down);
    s->setup = &hc_setup.Add(labels, setup_buckets);
    return s;
  }

  // The series of one hybrid connection (made on first use; past the limit, the shared one), or
  // null when per-hybrid-connection families are off. Call with series_mutex held.
  hc_series* series_of(std::string_view ns, std::string_view hc) {
    if (!per_hc || ns.empty()) return nullptr;
    auto key = std::make_pair(std::string(ns), std::string(hc));
    if (auto it = series.find(key); it != series.end()) return it->second.get();
    if (series.size() >= per_hc_limit) {
      if (!others) others = make_series(other, other);
      return others.get();
    }
    return series.emplace(key, make_series(key.first, key.second)).first->second.get();
  }

  // Frees the series of hybrid connections that left the catalog and carry no tunnel, so that
  // names a tenant created and deleted do not keep their places under the limit and push other
  // tenants into "_other". Call with series_mutex held.
  void release_departed(const std::vector<scrape_state::hybrid_connection_now>& catalog) {
    std::set<std::pair<std::string_view, std::string_view>> present;
    for (const auto& hc : catalog) present.emplace(hc.ns, hc.name);
    for (auto it = series.begin(); it != series.end();) {
      const auto& [key, s] = *it;
      if (present.contains({key.first, key.second}) || s->active.load() != 0) {
        ++it;
        continue;
      }
      for (auto* c : s->outcomes) hc_tunnels.Remove(c);
      hc_bytes.Remove(s->bytes_up);
      hc_bytes.Remove(s->bytes_down);
      hc_setup.Remove(s->setup);
      it = series.erase(it);
    }
  }

  void add_bytes(hc_series* s, std::uint64_t up, std::uint64_t down) {
    bytes_up.Increment(double(up));
    bytes_down.Increment(double(down));
    if (s) {
      s->bytes_up->Increment(double(up));
      s->bytes_down->Increment(double(down));
    }
  }
};

relay_metrics::relay_metrics() : impl_(std::make_unique<impl>()) {
  for (auto outcome : sender_outcomes) impl_->outcomes.Add({{"outcome", outcome}});
  for (auto outcome : http_outcomes) impl_->http_requests.Add({{"outcome", outcome}});
  for (auto direction : {"sent", "received"}) impl_->cluster_accepts.Add({{"direction", direction}});
  for (auto gesture : {"listen", "connect", "renewToken", "request", "management", "runtime_info"})
    for (auto status : {"401", "403"}) impl_->auth_failures.Add({{"gesture", gesture}, {"status", status}});
  impl_->auth_failures.Add({{"gesture", "rate_limited"}, {"status", "429"}});
}
relay_metrics::~relay_metrics() = default;

void relay_metrics::configure_per_hc(bool on, std::size_t limit) {
  std::lock_guard lock(impl_->series_mutex);
  impl_->per_hc = on;
  impl_->per_hc_limit = limit;
}

void relay_metrics::listener_connected() {
  impl_->listeners.Increment();
}
void relay_metrics::listener_disconnected() {
  impl_->listeners.Decrement();
}
void relay_metrics::sender_outcome(std::string_view outcome, std::string_view ns, std::string_view hc) {
  impl_->outcomes.Add({{"outcome", std::string(outcome)}}).Increment();
  auto index = outcome_index(outcome);
  if (index >= per_hc_outcomes) return;
  std::lock_guard lock(impl_->series_mutex);  // a scrape may free a departed hybrid connection's series
  if (auto* s = impl_->series_of(ns, hc)) s->outcomes[index]->Increment();
}

void relay_metrics::http_request(std::string_view outcome) {
  impl_->http_requests.Add({{"outcome", std::string(outcome)}}).Increment();
}
void relay_metrics::auth_failure(std::string_view gesture, int status) {
  impl_->auth_failures.Add({{"gesture", std::string(gesture)}, {"status", std::to_string(status)}})
      .Increment();
}

std::shared_ptr<relay_metrics::flowing_tunnel> relay_metrics::tunnel_started(std::string_view ns,
                                                                             std::string_view hc) {
  impl_->tunnels.Increment();
  hc_series* s = nullptr;
  {
    std::lock_guard lock(impl_->series_mutex);  // active > 0 keeps the series until the tunnel ends
    s = impl_->series_of(ns, hc);
    if (s) s->active.fetch_add(1);
  }
  return impl_->meter.open(s);
}
void relay_metrics::tunnel_ended(const std::shared_ptr<flowing_tunnel>& tunnel) {
  impl_->tunnels.Decrement();
  impl_->meter.close(
      tunnel, [this](hc_series* s, std::uint64_t up, std::uint64_t down) { impl_->add_bytes(s, up, down); });
  if (tunnel->tag) tunnel->tag->active.fetch_sub(1);  // last: the series may go once it is 0
}
void relay_metrics::setup_latency(double seconds, std::string_view ns, std::string_view hc) {
  impl_->setup.Observe(seconds);
  std::lock_guard lock(impl_->series_mutex);
  if (auto* s = impl_->series_of(ns, hc)) s->setup->Observe(seconds);
}

void relay_metrics::cluster_link_up(bool up) {
  impl_->cluster_link.Set(up ? 1 : 0);
}
void relay_metrics::cluster_accept(std::string_view direction) {
  impl_->cluster_accepts.Add({{"direction", std::string(direction)}}).Increment();
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

std::string relay_metrics::serialize(const scrape_state& now) {
  auto& m = *impl_;
  m.meter.report([&m](hc_series* s, std::uint64_t up, std::uint64_t down) { m.add_bytes(s, up, down); });

  auto listeners = gauge_family("hcrelay_hc_listeners",
                                "Listener control channels connected to this node, per hybrid connection");
  auto active =
      gauge_family("hcrelay_hc_tunnels_active", "Tunnels this node carries now, per hybrid connection");
  if (m.per_hc) {
    std::lock_guard lock(m.series_mutex);
    m.release_departed(now.catalog);
    double other_listeners = 0;
    bool any_other = false;
    for (const auto& hc : now.catalog) {
      auto* s = m.series_of(hc.ns, hc.name);  // every outcome of every hybrid connection exists from here on
      if (s == m.others.get()) {
        other_listeners += double(hc.listeners);
        any_other = true;
        continue;
      }
      add_gauge(listeners, {{"hybrid_connection", hc.name}, {"namespace", hc.ns}}, double(hc.listeners));
      add_gauge(active, {{"hybrid_connection", hc.name}, {"namespace", hc.ns}}, double(s->active.load()));
    }
    if (any_other) {
      add_gauge(listeners, {{"hybrid_connection", other}, {"namespace", other}}, other_listeners);
      add_gauge(active, {{"hybrid_connection", other}, {"namespace", other}},
                double(m.others->active.load()));
    }
  }
  auto readiness = gauge_family("hcrelay_ready",
                                "1 when the relay is ready (GET /readyz answers 200: store open, certificate "
                                "loaded, cluster link up when clustered), else 0");
  add_gauge(readiness, {}, now.ready ? 1 : 0);

  auto families = m.registry->Collect();
  if (m.per_hc) {
    families.push_back(std::move(listeners));
    families.push_back(std::move(active));
  } else {
    std::erase_if(families,
                  [](const prometheus::MetricFamily& f) { return f.name.starts_with("hcrelay_hc_"); });
  }
  families.push_back(std::move(readiness));
  if (now.certificate_not_after) {
    auto expiry = gauge_family("hcrelay_tls_certificate_expiry_timestamp_seconds",
                               "The serving certificate's notAfter, in Unix seconds");
    add_gauge(expiry, {}, double(*now.certificate_not_after));
    families.push_back(std::move(expiry));
  }
  return prometheus::TextSerializer().Serialize(families) + util::process_metrics_text("hcrelay");
}

}  // namespace hc::relay
