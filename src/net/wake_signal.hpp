// net/wake_signal: a thread-safe wake-up for coroutines waiting on shared state. notify() may
// come from any thread and wakes every waiter, each on its own executor (never inside notify(),
// whose caller may hold locks). A notify with nobody waiting is kept, so the next wait() returns
// at once: no wake-up is lost between a check under a lock and the wait. Waiters look at the
// state again when they wake. Used where state shared by several strands (an HTTP/2 connection's
// streams) is guarded by a mutex and a reader or writer must sleep until it changes.
#pragma once
#include "net/types.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <mutex>
#include <vector>

namespace hc::net {

class wake_signal {
 public:
  task<> wait() {
    auto ex = co_await asio::this_coro::executor;  // own statement: net/types.hpp
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [this, &ex](auto handler) {
          std::unique_lock lock(mutex_);
          if (!pending_) {
            waiters_.push_back(waiter{asio::any_completion_handler<void()>(std::move(handler)), ex});
            return;
          }
          pending_ = false;
          lock.unlock();
          resume(waiter{asio::any_completion_handler<void()>(std::move(handler)), ex});
        },
        asio::use_awaitable);
  }

  void notify() {
    std::vector<waiter> woken;
    {
      std::lock_guard lock(mutex_);
      if (waiters_.empty()) {
        pending_ = true;
        return;
      }
      woken.swap(waiters_);
    }
    for (auto& w : woken) resume(std::move(w));
  }

  // Destroys the waiters without resuming them (their coroutine frames go with them): for an
  // owner that is being torn down while its executor may be gone already.
  void drop() {
    std::vector<waiter> dropped;
    std::lock_guard lock(mutex_);
    dropped.swap(waiters_);
  }

 private:
  struct waiter {
    asio::any_completion_handler<void()> handler;  // moved, never assigned: Boost 1.81's move
    asio::any_io_executor ex;                      // assignment of it recurses
  };

  static void resume(waiter w) {
    asio::post(w.ex, [h = std::move(w.handler)]() mutable { std::move(h)(); });
  }

  std::mutex mutex_;
  bool pending_ = false;
  std::vector<waiter> waiters_;
};

}  // namespace hc::net
