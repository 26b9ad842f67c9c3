// relay/recent_keys: one-shot rendezvous keys (accepts, HTTP-mode requests) used or withdrawn
// lately: the last `max` of them, each for `keep`, so that a peer dialing late is told apart from
// one guessing keys. Not thread-safe: the owning table's mutex guards it.
#pragma once
#include <chrono>
#include <cstddef>
#include <deque>
#include <string>
#include <unordered_set>
#include <utility>

namespace hc::relay {

class recent_keys {
 public:
  using clock = std::chrono::steady_clock;
  recent_keys(std::size_t max, clock::duration keep) : max_(max), keep_(keep) {}

  void add(const std::string& key, clock::time_point now = clock::now()) {
    forget_old(now);
    if (!keys_.insert(key).second) return;
    order_.emplace_back(now, key);
    if (order_.size() > max_) {
      keys_.erase(order_.front().second);
      order_.pop_front();
    }
  }
  bool contains(const std::string& key) const { return keys_.contains(key); }

 private:
  void forget_old(clock::time_point now) {
    while (!order_.empty() && now - order_.front().first > keep_) {
      keys_.erase(order_.front().second);
      order_.pop_front();
    }
  }

  std::size_t max_;
  clock::duration keep_;
  std::deque<std::pair<clock::time_point, std::string>> order_;
  std::unordered_set<std::string> keys_;
};

}  // namespace hc::relay
