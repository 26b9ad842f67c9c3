// net/wake_signal: a thread-safe wake-up for coroutines waiting on shared state. notify() may
// come from any thread and wakes every waiter, each on its own executor (never inside notify(),
// whose caller may hold locks). A notify with nobody waiting is kept, so the next wait() returns
// at once: no wake-up is lost between a check under a lock and the wait. Waiters look at the
// state again when they wake. A wait can be cancelled like any Asio operation (the losing side
// of `a || b`): it then returns false. Used where state shared by several strands (an HTTP/2
// connection's streams) is guarded by a mutex and a reader or writer must sleep until it changes.
#pragma once
#include "net/types.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <cstdint>
#include <list>
#include <mutex>

namespace hc::net {

class wake_signal {
 public:
  // True when woken by notify(), false when the wait was cancelled.
  task<bool> wait() {
    auto ex = co_await asio::this_coro::executor;  // own statement: net/types.hpp
    auto [ec] = co_await asio::async_initiate<decltype(use_tuple), void(error_code)>(
        [this, &ex](auto handler) {
          auto slot = asio::get_associated_cancellation_slot(handler);
          std::unique_lock lock(mutex_);
          if (pending_) {
            pending_ = false;
            lock.unlock();
            resume(waiter{0, asio::any_completion_handler<void(error_code)>(std::move(handler)), ex, {}}, {});
            return;
          }
          auto id = ++last_id_;
          waiters_.push_back(
              waiter{id, asio::any_completion_handler<void(error_code)>(std::move(handler)), ex, slot});
          if (slot.is_connected()) slot.assign([this, id](asio::cancellation_type) { cancel(id); });
        },
        use_tuple);
    co_return !ec;
  }

  void notify() {
    std::list<waiter> woken;
    {
      std::lock_guard lock(mutex_);
      if (waiters_.empty()) {
        pending_ = true;
        return;
      }
      woken.swap(waiters_);
    }
    for (auto& w : woken) resume(std::move(w), {});
  }

  // Destroys the waiters without resuming them (their coroutine frames go with them): for an
  // owner that is being torn down while its executor may be gone already.
  void drop() {
    std::list<waiter> dropped;
    std::lock_guard lock(mutex_);
    dropped.swap(waiters_);
  }

 private:
  struct waiter {
    std::uint64_t id;
    asio::any_completion_handler<void(error_code)> handler;  // moved, never assigned: Boost 1.81's
    asio::any_io_executor ex;                                // move assignment of it recurses
    asio::cancellation_slot slot;
  };

  // Runs on the waiter's executor, inside the cancellation signal's emit.
  void cancel(std::uint64_t id) {
    std::list<waiter> cancelled;
    {
      std::lock_guard lock(mutex_);
      for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
        if (it->id != id) continue;
        cancelled.splice(cancelled.end(), waiters_, it);  // a list: no waiter is ever assigned
        break;
      }
    }
    for (auto& w : cancelled) resume(std::move(w), asio::error::operation_aborted);
  }

  // Later, on the waiter's executor; the cancellation handler is removed first, so it never runs
  // once this object may be gone.
  static void resume(waiter w, error_code ec) {
    asio::post(w.ex, [h = std::move(w.handler), slot = w.slot, ec]() mutable {
      if (slot.is_connected()) slot.clear();
      std::move(h)(ec);
    });
  }

  std::mutex mutex_;
  bool pending_ = false;
  std::uint64_t last_id_ = 0;
  std::list<waiter> waiters_;
};

}  // namespace hc::net
