// net/clock: the wall clock as SAS tokens count it (seconds since the Unix epoch). The one place
// programs read it; pure code in proto/ takes the time as a parameter instead.
#pragma once
#include <chrono>
#include <cstdint>

namespace hc::net {

inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace hc::net
