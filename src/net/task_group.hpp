// net/task_group: the sessions a program ends cleanly when it stops. A session joins with the
// action that ends it gracefully (for the relay: Close 1001 on its WebSocket legs); the action
// runs on the session's own executor, and only while the session still holds its membership.
// Stopping is end_all() (every member's action, once; members that join later get theirs at
// once), then wait_empty() until every member has left or the deadline passes; the caller then
// forces what is left (stops its io_context). Thread-safe.
#pragma once
#include "net/types.hpp"
#include "util/scoped_id.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

namespace hc::net {

class task_group {
 public:
  // Held by the session (on its own executor) for as long as it runs; leaving is its destruction.
  using membership = util::scoped_id<task_group>;

  // `end_gracefully` runs on `ex`, at most once, and never after the membership is gone.
  [[nodiscard]] membership join(asio::any_io_executor ex, std::function<void()> end_gracefully);
  // Asks every member to end (and every member that joins from now on).
  void end_all();
  std::size_t size() const;
  // Resumes when no member is left (true) or at `deadline` (false).
  task<bool> wait_empty(std::chrono::steady_clock::time_point deadline);

 private:
  struct member {
    asio::any_io_executor executor;
    std::function<void()> end_gracefully;
    std::shared_ptr<bool> present;  // false once the membership is gone (read on `executor`)
  };
  friend membership;
  void release(std::uint64_t id);  // a member left
  static void request_end(const member& m);

  mutable std::mutex mutex_;
  std::map<std::uint64_t, member> members_;
  std::uint64_t next_id_ = 1;
  bool ending_ = false;
};

}  // namespace hc::net
