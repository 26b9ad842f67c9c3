// relay/source_limits: per-source (remote IP) limits that keep a hostile or broken client from
// costing the relay more than a handshake: an allowance of failed authentications (token
// bucket of limits::auth_failure_burst refilling at --auth-failure-refill per second; empty = every request
// answered 429 with Retry-After), a cap on connections still in their handshake
// (limits::max_handshakes_per_source) and caps on open connections per source and in total
// (relay_settings). Loopback is not exempt. Owned by relay_context; shared by
// all sessions on all I/O threads (one mutex; each call is a map lookup).
#pragma once
#include "net/limits.hpp"
#include "net/types.hpp"

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace hc::relay {

class source_limits {
 public:
  using clock = std::chrono::steady_clock;

  // Holds one of a source's places (a handshake in flight, an open connection); gives it back
  // when destroyed or released.
  class slot {
   public:
    slot() = default;
    slot(slot&& o) noexcept : owner_(o.owner_), source_(std::move(o.source_)), kind_(o.kind_) {
      o.owner_ = nullptr;
    }
    slot& operator=(slot&& o) noexcept {
      if (this != &o) {
        release();
        owner_ = std::exchange(o.owner_, nullptr);
        source_ = std::move(o.source_);
        kind_ = o.kind_;
      }
      return *this;
    }
    ~slot() { release(); }
    void release();
    explicit operator bool() const { return owner_ != nullptr; }

   private:
    friend class source_limits;
    enum class kind { handshake, connection, http };
    slot(source_limits* owner, std::string source, kind k)
        : owner_(owner), source_(std::move(source)), kind_(k) {}
    source_limits* owner_ = nullptr;  // null: no place held
    std::string source_;
    kind kind_ = kind::handshake;
  };

  // Caps on open connections and the failed-authentication refill rate (relay_settings); call
  // before the first connection.
  void set_caps(std::size_t per_source, std::size_t total, double failures_per_second) {
    max_per_source_ = per_source;
    max_total_ = total;
    refill_per_second_ = failures_per_second;
  }

  // A place for a new connection from `source` for its whole life, or an empty slot when the
  // source or the relay is at its cap.
  slot open_connection(const net::asio::ip::address& source);
  // A place for a plain HTTP connection (management API, runtime info, portal: nothing that
  // needs many at once) from `source`, or an empty slot at limits::max_http_connections_per_source.
  slot open_http(const net::asio::ip::address& source);
  // A place for a connection from `source` that has not finished TLS and its request head, or
  // an empty slot when it already has limits::max_handshakes_per_source of them.
  slot begin_handshake(const net::asio::ip::address& source);
  // Counts one failed authentication against `source`.
  void record_failure(const net::asio::ip::address& source, clock::time_point now = clock::now());
  // 0 when `source` may be served; otherwise how many seconds until it may try again.
  std::chrono::seconds retry_after(const net::asio::ip::address& source,
                                   clock::time_point now = clock::now());
  std::size_t open_connections() const;

  // The key a source is counted under: an IPv4 address (IPv4-mapped IPv6 as IPv4), or an IPv6
  // address's /64 ("2001:db8:1:2::/64"): one host usually holds a whole /64.
  static std::string key(const net::asio::ip::address& source);

 private:
  struct entry {
    double allowance = 0;          // failures it may still have; refills continuously
    clock::time_point refilled{};  // when `allowance` was last brought up to date
    std::size_t handshakes = 0;    // connections from it mid-handshake
    std::size_t connections = 0;   // connections from it that are open
    std::size_t http = 0;          // of those, plain HTTP ones
  };
  entry& find(const std::string& k, clock::time_point now);  // mutex_ held
  slot take_place(const net::asio::ip::address& source, slot::kind k);
  static std::size_t& place_count(entry& e, slot::kind k);
  void refill(entry& e, clock::time_point now) const;
  void prune(clock::time_point now);  // mutex_ held

  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry> sources_;
  std::size_t open_total_ = 0;
  // Failures a source's allowance regains per second (relay_settings).
  double refill_per_second_ = net::limits::auth_failure_refill_per_second;
  std::size_t max_per_source_ = net::limits::max_connections_per_source;
  std::size_t max_total_ = net::limits::max_connections;
  std::size_t prune_at_ = net::limits::max_tracked_sources;  // next size at which prune() scans
};

}  // namespace hc::relay
