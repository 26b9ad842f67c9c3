// relay/usage_recorder: what each hybrid connection uses, in clock hours (UTC), for the store's
// usage rows (store::usage_record): connected listeners' time, tunnels opened, their open time and
// bytes each way. Listeners and tunnels hold a presence while they live; drain() hands over what
// accumulated since the last drain — open intervals split exactly at hour boundaries, bytes of
// open tunnels as they flowed — and the relay adds it to the store every minute and at shutdown
// (relay/usage_writer). Thread-safe (one mutex); the clock is injected so that tests can cross an
// hour boundary.
#pragma once
#include "net/tunnel_counters.hpp"
#include "store/store.hpp"
#include "util/scoped_id.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace hc::relay {

class usage_recorder {
 public:
  using clock = std::function<double()>;  // Unix seconds, fractional
  explicit usage_recorder(clock now);

  // Counts its listener's or tunnel's time (and a tunnel's bytes) from its making until it is
  // destroyed. Movable; an empty one counts nothing.
  using presence = util::scoped_id<usage_recorder>;

  presence listener(const std::string& ns, const std::string& hc);
  // `bytes` are the tunnel's counters (the data path adds to them); kept alive by the presence.
  presence tunnel(const std::string& ns, const std::string& hc,
                  std::shared_ptr<const net::tunnel_counters> bytes);

  // What was used since the last drain, one record per (namespace, hybrid connection, hour).
  std::vector<store::usage_record> drain();

 private:
  struct live {
    std::string ns, hc;
    bool is_tunnel = false;
    double since = 0;  // accounted up to here
    std::shared_ptr<const net::tunnel_counters> bytes;
    std::uint64_t reported_up = 0, reported_down = 0;
  };
  using key = std::tuple<std::string, std::string, std::int64_t>;  // namespace, hybrid connection, hour

  store::usage_record& row(const std::string& ns, const std::string& hc, std::int64_t hour);
  void account(live& l, double until);  // its time up to `until` and its bytes so far
  friend presence;
  void release(std::uint64_t id);  // a listener or tunnel ended

  clock now_;
  std::mutex mutex_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, live> live_;
  std::map<key, store::usage_record> pending_;
};

}  // namespace hc::relay
