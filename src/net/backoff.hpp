// net/backoff: the reconnect schedule of every client that holds a long-lived connection. The
// agents' default (hcm's control channels; hcconnect if it keeps one) is 0, 1, 2, 5, 10, 30 s and
// then 30 s forever, as .NET and hyco-https do (protocol doc §3.5); the Redis client passes its
// own (limits::redis_reconnect_schedule). Every delay gets up to 20 % random jitter so a fleet
// does not reconnect in lock-step after a restart. Reset after a connection stayed up long enough
// (the caller decides; hcm and the Redis client use backoff_reset_after).
// A plain value owned by one coroutine; not thread-safe.
#pragma once
#include <array>
#include <chrono>
#include <cstddef>
#include <random>
#include <span>

namespace hc::net {

class backoff {
 public:
  using schedule = std::span<const std::chrono::milliseconds>;
  static constexpr std::array<std::chrono::milliseconds, 6> agent_schedule{
      std::chrono::seconds(0), std::chrono::seconds(1),  std::chrono::seconds(2),
      std::chrono::seconds(5), std::chrono::seconds(10), std::chrono::seconds(30)};

  // `steps` must outlive the backoff (a constant) and hold at least one delay.
  explicit backoff(schedule steps = agent_schedule) : steps_(steps) {}

  // The delay before the next attempt; advances the schedule (the last step repeats).
  std::chrono::milliseconds next() {
    auto base = steps_[step_];
    if (step_ + 1 < steps_.size()) ++step_;
    if (base.count() == 0) return base;
    std::uniform_int_distribution<long> jitter(0, base.count() / 5);
    return base + std::chrono::milliseconds(jitter(rng_));
  }
  void reset() { step_ = 0; }
  // How many delays have been handed out since the last reset (capped at the last step).
  std::size_t step() const { return step_; }

 private:
  schedule steps_;
  std::size_t step_ = 0;  // index into steps_ of the next delay
  std::minstd_rand rng_{std::random_device{}()};
};

// After a connection stayed up this long, the next failure starts the schedule again at its
// first step.
inline constexpr auto backoff_reset_after = std::chrono::seconds(60);

}  // namespace hc::net
