// net/tunnel_counters: the byte counts a tunnel's data path adds to as it runs, readable from
// other threads (metrics, status) while it does.
#pragma once
#include <atomic>
#include <cstdint>

namespace hc::net {

struct tunnel_counters {
  std::atomic<std::uint64_t> app_to_agent{0};
  std::atomic<std::uint64_t> agent_to_app{0};
};

}  // namespace hc::net
