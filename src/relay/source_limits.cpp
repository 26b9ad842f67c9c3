// relay/source_limits: token bucket of failed authentications and handshake places per remote
// address (see source_limits.hpp).
#include "relay/source_limits.hpp"

#include "net/limits.hpp"

#include <cmath>

namespace hc::relay {
std::string source_limits::key(const net::asio::ip::address& source) {
  if (source.is_v4()) return source.to_string();
  auto v6 = source.to_v6();
  if (v6.is_v4_mapped()) return net::asio::ip::make_address_v4(net::asio::ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return net::asio::ip::address_v6(bytes).to_string() + "/64";
}

void source_limits::refill(entry& e, clock::time_point now) const {
  if (now <= e.refilled) return;
  double gained = std::chrono::duration<double>(now - e.refilled).count() * refill_per_second_;
  e.allowance = std::min(net::limits::auth_failure_burst, e.allowance + gained);
  e.refilled = now;
}

void source_limits::prune(clock::time_point now) {
  // Amortised: when most sources are busy, the next scan waits until the map has doubled.
  if (sources_.size() < prune_at_) return;
  for (auto it = sources_.begin(); it != sources_.end();) {
    refill(it->second, now);
    const auto& e = it->second;
    bool idle = e.handshakes == 0 && e.connections == 0 && e.allowance >= net::limits::auth_failure_burst;
    it = idle ? sources_.erase(it) : std::next(it);
  }
  prune_at_ = std::max(net::limits::max_tracked_sources, sources_.size() * 2);
}

source_limits::entry& source_limits::find(const std::string& k, clock::time_point now) {
  auto it = sources_.find(k);
  if (it != sources_.end()) return it->second;
  prune(now);
  return sources_.emplace(k, entry{net::limits::auth_failure_burst, now, 0, 0, 0}).first->second;
}

source_limits::slot source_limits::take_place(const net::asio::ip::address& source, slot::kind k) {
  auto name = key(source);
  std::lock_guard lock(mutex_);
  auto& e = find(name, clock::now());
  auto& count = place_count(e, k);
  std::size_t cap = k == slot::kind::handshake ? net::limits::max_handshakes_per_source
                    : k == slot::kind::http    ? net::limits::max_http_connections_per_source
                                               : max_per_source_;
  if (count >= cap || (k == slot::kind::connection && open_total_ >= max_total_)) return {};
  ++count;
  if (k == slot::kind::connection) ++open_total_;
  return slot(this, std::move(name), k);
}

std::size_t& source_limits::place_count(entry& e, slot::kind k) {
  return k == slot::kind::handshake ? e.handshakes : k == slot::kind::http ? e.http : e.connections;
}

source_limits::slot source_limits::open_connection(const net::asio::ip::address& source) {
  return take_place(source, slot::kind::connection);
}

source_limits::slot source_limits::open_http(const net::asio::ip::address& source) {
  return take_place(source, slot::kind::http);
}

source_limits::slot source_limits::begin_handshake(const net::asio::ip::address& source) {
  return take_place(source, slot::kind::handshake);
}

std::size_t source_limits::open_connections() const {
  std::lock_guard lock(mutex_);
  return open_total_;
}

void source_limits::slot::release() {
  if (!owner_) return;
  std::lock_guard lock(owner_->mutex_);
  if (auto it = owner_->sources_.find(source_); it != owner_->sources_.end()) {
    auto& count = place_count(it->second, kind_);
    if (count > 0) --count;
  }
  if (kind_ == kind::connection) --owner_->open_total_;
  owner_ = nullptr;
}

void source_limits::record_failure(const net::asio::ip::address& source, clock::time_point now) {
  auto k = key(source);
  std::lock_guard lock(mutex_);
  auto& e = find(k, now);
  refill(e, now);
  e.allowance = std::max(0.0, e.allowance - 1);
}

std::chrono::seconds source_limits::retry_after(const net::asio::ip::address& source, clock::time_point now) {
  auto k = key(source);
  std::lock_guard lock(mutex_);
  auto it = sources_.find(k);
  if (it == sources_.end()) return std::chrono::seconds(0);
  refill(it->second, now);
  if (it->second.allowance >= 1) return std::chrono::seconds(0);
  return std::chrono::seconds(
      std::max<long>(1, long(std::ceil((1 - it->second.allowance) / refill_per_second_))));
}

}  // namespace hc::relay
