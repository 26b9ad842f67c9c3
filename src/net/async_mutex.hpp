// net/async_mutex: a strand-confined mutual exclusion for coroutines, used to keep WebSocket
// frames whole when two pumps (or a pump and a ping reply) write to the same connection.
// Not thread-safe: every lock() and unlock() must run on the one strand that owns the object.
#pragma once
#include "net/types.hpp"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <vector>

namespace hc::net {

class async_mutex {
 public:
  task<> lock() {
    while (locked_) {
      auto ex = co_await asio::this_coro::executor;  // own statement: net/types.hpp
      asio::steady_timer wake(ex, std::chrono::steady_clock::time_point::max());
      waiters_.push_back(&wake);
      // Removes this waiter if the coroutine is destroyed while it waits.
      struct unregister {
        std::vector<asio::steady_timer*>& list;
        asio::steady_timer* me;
        ~unregister() { std::erase(list, me); }
      } guard{waiters_, &wake};
      co_await wake.async_wait(use_tuple);
    }
    locked_ = true;
  }
  void unlock() {
    locked_ = false;
    if (!waiters_.empty()) waiters_.front()->cancel();
  }

 private:
  bool locked_ = false;  // true while one writer owns the connection's send side
  // A vector: nothing allocated while nobody waits (a deque allocates its first block at once,
  // ~600 bytes for each of the relay's and the agents' thousands of open connections).
  std::vector<asio::steady_timer*> waiters_;
};

}  // namespace hc::net
