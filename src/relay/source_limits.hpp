// relay/source_limits: per-source (remote IP) limits that keep a hostile or broken client from
// costing the relay more than a handshake: an allowance of failed authentications (token
// bucket, limits::auth_failure_burst per limits::auth_failure_window; empty = every request
// answered 429 with Retry-After) and a cap on connections still in their handshake
// (limits::max_handshakes_per_source). Loopback is not exempt. Owned by relay_context; shared by
// all sessions on all I/O threads (one mutex; each call is a map lookup).
#pragma once
#include "net/types.hpp"

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace hc::relay {

class source_limits {
 public:
  using clock = std::chrono::steady_clock;

  // Holds one of a source's handshake places; gives it back when destroyed or released.
  class handshake_slot {
   public:
    handshake_slot() = default;
    handshake_slot(handshake_slot&& o) noexcept : owner_(o.owner_), source_(std::move(o.source_)) {
      o.owner_ = nullptr;
    }
    handshake_slot& operator=(handshake_slot&&) = delete;
    ~handshake_slot() { release(); }
    void release();
    explicit operator bool() const { return owner_ != nullptr; }

   private:
    friend class source_limits;
    handshake_slot(source_limits* owner, std::string source) : owner_(owner), source_(std::move(source)) {}
    source_limits* owner_ = nullptr;  // null: no place held
    std::string source_;
  };

  // A place for a new connection from `source`, or an empty slot when it already has
  // limits::max_handshakes_per_source connections mid-handshake.
  handshake_slot begin_handshake(const net::asio::ip::address& source);
  // Counts one failed authentication against `source`.
  void record_failure(const net::asio::ip::address& source, clock::time_point now = clock::now());
  // 0 when `source` may be served; otherwise how many seconds until it may try again.
  std::chrono::seconds retry_after(const net::asio::ip::address& source,
                                   clock::time_point now = clock::now());

  // The key a source is counted under: its address, IPv4-mapped IPv6 as IPv4.
  static std::string key(const net::asio::ip::address& source);

 private:
  struct entry {
    double allowance = 0;          // failures it may still have; refills continuously
    clock::time_point refilled{};  // when `allowance` was last brought up to date
    std::size_t handshakes = 0;    // connections from it mid-handshake
  };
  entry& find(const std::string& k, clock::time_point now);  // mutex_ held
  void refill(entry& e, clock::time_point now) const;
  void prune(clock::time_point now);  // mutex_ held

  std::mutex mutex_;
  std::unordered_map<std::string, entry> sources_;
};

}  // namespace hc::relay
