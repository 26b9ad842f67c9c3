// net/tunnel_meter: byte counts of open tunnels reported as they flow. The data path adds to an
// open tunnel's counters; report() hands a sink what each open tunnel carried since the last
// report (a scrape), so a long-lived tunnel shows its traffic while it runs, and close() reports
// the rest. `Tag` says where a tunnel's bytes are counted (a hybrid connection's series, or
// nothing). Thread-safe: one mutex, held while report() walks the open tunnels.
#pragma once
#include "net/tunnel_counters.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace hc::net {

template <class Tag>
class tunnel_meter {
 public:
  struct tunnel {
    explicit tunnel(Tag t) : tag(std::move(t)) {}
    tunnel_counters counters;
    const Tag tag;

   private:
    friend class tunnel_meter;
    std::uint64_t reported_up = 0, reported_down = 0;  // under the meter's mutex
  };

  std::shared_ptr<tunnel> open(Tag tag) {
    auto t = std::make_shared<tunnel>(std::move(tag));
    std::lock_guard lock(mutex_);
    open_.emplace(t.get(), t);
    return t;
  }

  // sink(tag, app_to_agent, agent_to_app) for each open tunnel's bytes since the last report.
  template <class Sink>
  void report(Sink&& sink) {
    std::lock_guard lock(mutex_);
    for (auto& [raw, t] : open_) flush(*t, sink);
  }

  // Reports the tunnel's last bytes and forgets it.
  template <class Sink>
  void close(const std::shared_ptr<tunnel>& t, Sink&& sink) {
    std::lock_guard lock(mutex_);
    flush(*t, sink);
    open_.erase(t.get());
  }

 private:
  template <class Sink>
  static void flush(tunnel& t, Sink& sink) {
    auto up = t.counters.app_to_agent.load(std::memory_order_relaxed);
    auto down = t.counters.agent_to_app.load(std::memory_order_relaxed);
    if (up == t.reported_up && down == t.reported_down) return;
    sink(t.tag, up - t.reported_up, down - t.reported_down);
    t.reported_up = up;
    t.reported_down = down;
  }

  std::mutex mutex_;
  std::unordered_map<tunnel*, std::shared_ptr<tunnel>> open_;
};

// Ends a metered tunnel when it goes out of scope, on every way out of the data path (an
// exception included): owner.tunnel_ended(tunnel), once.
template <class Owner, class Tunnel>
class tunnel_end_guard {
 public:
  tunnel_end_guard(Owner& owner, std::shared_ptr<Tunnel> tunnel)
      : owner_(owner), tunnel_(std::move(tunnel)) {}
  tunnel_end_guard(const tunnel_end_guard&) = delete;
  tunnel_end_guard& operator=(const tunnel_end_guard&) = delete;
  ~tunnel_end_guard() { owner_.tunnel_ended(tunnel_); }

 private:
  Owner& owner_;
  std::shared_ptr<Tunnel> tunnel_;
};

}  // namespace hc::net
