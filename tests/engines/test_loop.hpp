// tests/engines/test_loop: an io_context on a thread of its own, and the ways the test's thread
// waits on it: await_on (a coroutine's result), on_loop (a function run there), recorder (what a
// handler saw). Every wait is bounded and throws std::runtime_error when the loop does not answer.
#pragma once
#include "net/types.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace hc::test {

namespace asio = net::asio;
using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// One io_context on its own thread: a loop that blocks shows. Joins once its work is done (the
// clients closed), or stops it after 5 s.
struct io_thread {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::thread thread{[this] { io.run(); }};
  ~io_thread() {
    work.reset();
    const auto deadline = clock::now() + 5s;
    while (!io.stopped() && clock::now() < deadline) std::this_thread::sleep_for(5ms);
    io.stop();
    thread.join();
  }
};

// Runs `work` on `io` and waits for its result (throws after `limit`).
template <class T>
T await_on(io_thread& t, net::task<T> work, clock::duration limit = 10s) {
  auto result = asio::co_spawn(t.io, std::move(work), asio::use_future);
  if (result.wait_for(limit) != std::future_status::ready)
    throw std::runtime_error("the io thread did not answer");
  return result.get();
}

// What a handler saw, in order, for the test thread to wait on.
template <class T>
class recorder {
 public:
  void add(T value) {
    std::lock_guard lock(mutex_);
    seen_.push_back(std::move(value));
    changed_.notify_all();
  }
  // Waits until `done(all seen so far)`; false after `limit`.
  template <class Pred>
  bool wait_until(Pred done, clock::duration limit = 10s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return done(seen_); });
  }
  std::vector<T> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<T> seen_;
};

// Runs `f` on the loop and waits for it (for objects the loop's handlers touch).
inline void on_loop(io_thread& t, std::function<void()> f) {
  auto done = std::make_shared<std::promise<void>>();
  auto ran = done->get_future();
  asio::post(t.io, [f = std::move(f), done] {
    f();
    done->set_value();
  });
  if (ran.wait_for(5s) != std::future_status::ready) throw std::runtime_error("the io thread did not answer");
}

}  // namespace hc::test
