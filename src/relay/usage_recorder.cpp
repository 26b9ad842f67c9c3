// relay/usage_recorder: hourly usage accounting (see usage_recorder.hpp).
#include "relay/usage_recorder.hpp"

#include <algorithm>
#include <cmath>

namespace hc::relay {
namespace {
constexpr std::int64_t hour_seconds = 3600;

std::int64_t hour_of(double unix_seconds) {
  return std::int64_t(std::floor(unix_seconds / double(hour_seconds))) * hour_seconds;
}
}  // namespace

usage_recorder::usage_recorder(clock now) : now_(std::move(now)) {}

usage_recorder::presence usage_recorder::listener(const std::string& ns, const std::string& hc) {
  std::lock_guard lock(mutex_);
  auto id = next_id_++;
  live_.emplace(id, live{ns, hc, false, now_(), nullptr});
  return presence(this, id);
}

usage_recorder::presence usage_recorder::tunnel(const std::string& ns, const std::string& hc,
                                                std::shared_ptr<const net::tunnel_counters> bytes) {
  std::lock_guard lock(mutex_);
  auto id = next_id_++;
  auto at = now_();
  row(ns, hc, hour_of(at)).tunnels += 1;
  live_.emplace(id, live{ns, hc, true, at, std::move(bytes)});
  return presence(this, id);
}

store::usage_record& usage_recorder::row(const std::string& ns, const std::string& hc, std::int64_t hour) {
  auto [it, made] = pending_.try_emplace(key{ns, hc, hour});
  if (made) {
    it->second.namespace_name = ns;
    it->second.hc_name = hc;
    it->second.hour = hour;
  }
  return it->second;
}

void usage_recorder::account(live& l, double until) {
  while (l.since < until) {  // one piece per clock hour the interval touches
    auto hour = hour_of(l.since);
    double piece_end = std::min(until, double(hour + hour_seconds));
    auto& r = row(l.ns, l.hc, hour);
    (l.is_tunnel ? r.tunnel_seconds : r.listener_seconds) += piece_end - l.since;
    l.since = piece_end;
  }
  if (!l.bytes) return;
  auto up = l.bytes->app_to_agent.load(std::memory_order_relaxed);
  auto down = l.bytes->agent_to_app.load(std::memory_order_relaxed);
  if (up == l.reported_up && down == l.reported_down) return;
  auto& r = row(l.ns, l.hc, hour_of(until));  // bytes count in the hour they are seen in
  r.bytes_app_to_agent += std::int64_t(up - l.reported_up);
  r.bytes_agent_to_app += std::int64_t(down - l.reported_down);
  l.reported_up = up;
  l.reported_down = down;
}

void usage_recorder::release(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = live_.find(id);
  if (it == live_.end()) return;
  account(it->second, now_());
  live_.erase(it);
}

std::vector<store::usage_record> usage_recorder::drain() {
  std::lock_guard lock(mutex_);
  auto at = now_();
  for (auto& [id, l] : live_) account(l, at);
  std::vector<store::usage_record> out;
  out.reserve(pending_.size());
  for (auto& [k, r] : pending_) out.push_back(std::move(r));
  pending_.clear();
  return out;
}

}  // namespace hc::relay
