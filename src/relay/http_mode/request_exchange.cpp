// relay/http_mode/request_exchange: the hand-over between a caller's session and the listener's
// side of one relayed request (see request_exchange.hpp).
#include "relay/http_mode/request_exchange.hpp"

#include <boost/asio/post.hpp>

namespace hc::relay {

bool request_exchange::deliver(exchange_event e) {
  {
    std::lock_guard lock(mutex_);
    if (abandoned_) return false;
    events_.push_back(std::move(e));
  }
  // The caller's timer may only be touched on the caller's executor; keep `this` alive.
  net::asio::post(caller_, [self = shared_from_this()] { self->wake_.cancel(); });
  return true;
}

net::task<std::optional<exchange_event>> request_exchange::next(std::chrono::steady_clock::time_point until) {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (!events_.empty()) {
        auto e = std::move(events_.front());
        events_.pop_front();
        co_return e;
      }
    }
    if (std::chrono::steady_clock::now() >= until) co_return std::nullopt;
    wake_.expires_at(until);
    co_await wake_.async_wait(net::use_tuple);
  }
}

void request_exchange::abandon() {
  std::lock_guard lock(mutex_);
  abandoned_ = true;
  events_.clear();  // a rendezvous leg queued here closes with it
}

void request_table::add(const std::string& key, std::weak_ptr<request_exchange> r) {
  std::lock_guard lock(mutex_);
  pending_[key] = std::move(r);
}

std::shared_ptr<request_exchange> request_table::take(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = pending_.find(key);
  if (it == pending_.end()) return nullptr;
  auto r = it->second.lock();
  pending_.erase(it);
  used_.add(key);
  return r;
}

void request_table::remove(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (pending_.erase(key) > 0) used_.add(key);
}

bool request_table::was_used(const std::string& key) {
  std::lock_guard lock(mutex_);
  return used_.contains(key);
}

}  // namespace hc::relay
