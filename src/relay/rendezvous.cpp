// relay/rendezvous: one-shot handoff between a sender session and the listener's accept
// connection (see rendezvous.hpp).
#include "relay/rendezvous.hpp"

#include <boost/asio/post.hpp>

namespace hc::relay {

void pending_rendezvous::deliver(rendezvous_outcome outcome) {
  {
    std::lock_guard lock(mutex_);
    outcome_ = std::move(outcome);
  }
  // The sender's timer may only be touched on the sender's executor; keep `this` alive.
  net::asio::post(sender_executor_, [self = shared_from_this()] { self->wake_.cancel(); });
}

net::task<std::optional<rendezvous_outcome>> pending_rendezvous::wait(std::chrono::steady_clock::time_point until,
                                                                      rendezvous_table& table, const std::string& key) {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (outcome_) co_return std::move(outcome_);
    }
    if (std::chrono::steady_clock::now() >= until) {
      // Withdraw the key; if an accept session already claimed it, its outcome is on the way.
      if (table.take(key)) co_return std::nullopt;
      until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    }
    wake_.expires_at(until);
    co_await wake_.async_wait(net::use_tuple);
  }
}

void rendezvous_table::add(const std::string& key, std::shared_ptr<pending_rendezvous> p) {
  std::lock_guard lock(mutex_);
  pending_[key] = std::move(p);
}

std::shared_ptr<pending_rendezvous> rendezvous_table::take(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = pending_.find(key);
  if (it == pending_.end()) return nullptr;
  auto p = std::move(it->second);
  pending_.erase(it);
  return p;
}

std::size_t rendezvous_table::size() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

}  // namespace hc::relay
