// net/backoff: the reconnect schedule of every agent that holds a long-lived connection to a
// relay (hcm's control channels; hcconnect if it keeps one): 0, 1, 2, 5, 10, 30 s and then 30 s
// forever, as .NET and hyco-https do (protocol doc §3.5), plus up to 20 % random jitter so a
// fleet of agents does not reconnect in lock-step after a relay restart. Reset after a connection
// stayed up long enough (the caller decides; hcm uses limits::backoff_reset_after).
// A plain value owned by one coroutine; not thread-safe.
#pragma once
#include <array>
#include <chrono>
#include <cstddef>
#include <random>

namespace hc::net {

class backoff {
 public:
  // The delay before the next attempt; advances the schedule.
  std::chrono::milliseconds next() {
    static constexpr std::array<int, 6> steps_s{0, 1, 2, 5, 10, 30};
    auto base = std::chrono::milliseconds(steps_s[step_] * 1000);
    if (step_ + 1 < steps_s.size()) ++step_;
    if (base.count() == 0) return base;
    std::uniform_int_distribution<long> jitter(0, base.count() / 5);
    return base + std::chrono::milliseconds(jitter(rng_));
  }
  void reset() { step_ = 0; }
  // How many delays have been handed out since the last reset (capped at the last step).
  std::size_t step() const { return step_; }

 private:
  std::size_t step_ = 0;  // index into the schedule of the next delay
  std::minstd_rand rng_{std::random_device{}()};
};

// After a connection stayed up this long, the next failure starts the schedule again at 0 s.
inline constexpr auto backoff_reset_after = std::chrono::seconds(60);

}  // namespace hc::net
