// relay/rendezvous: one-shot handoff between a sender session and the listener's accept
// connection (see rendezvous.hpp).
#include "relay/rendezvous.hpp"

#include "net/limits.hpp"

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

net::task<std::optional<rendezvous_outcome>> pending_rendezvous::wait(
    std::chrono::steady_clock::time_point move_on, std::chrono::steady_clock::time_point give_up,
    const std::function<bool()>& elsewhere, rendezvous_table& table, const std::string& key) {
  auto until = std::min(move_on, give_up);
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (outcome_) co_return std::move(outcome_);
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= until) {
      if (until < give_up && !elsewhere()) {
        until = give_up;  // nowhere else to go: keep waiting for this listener
        continue;
      }
      // Withdraw the key; if an accept session already claimed it, its outcome is on the way.
      if (table.withdraw(key)) co_return std::nullopt;
      until = give_up = now + std::chrono::seconds(5);
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

std::shared_ptr<pending_rendezvous> rendezvous_table::withdraw(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = pending_.find(key);
  if (it == pending_.end()) return nullptr;
  auto p = std::move(it->second);
  pending_.erase(it);
  withdrawn_.add(key);
  return p;
}

bool rendezvous_table::was_withdrawn(const std::string& key) const {
  std::lock_guard lock(mutex_);
  return withdrawn_.contains(key);
}

std::size_t rendezvous_table::size() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

void rendezvous_table::clear() {
  std::lock_guard lock(mutex_);
  pending_.clear();
}

}  // namespace hc::relay
