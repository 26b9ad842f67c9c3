// net/deadline: a watchdog that runs an action (usually: close a socket) if a phase does not end
// in time. Lives on the coroutine frame of the phase it guards; its handler runs on the
// coroutine's executor (the session strand), so it never races the guarded operation.
#pragma once
#include "net/types.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>

namespace hc::net {

class deadline {
 public:
  // `on_expiry` must stay valid while the deadline is armed (it usually captures a stream owned
  // by the same frame).
  deadline(const asio::any_io_executor& ex, std::chrono::steady_clock::duration d,
           std::function<void()> on_expiry)
      : timer_(ex), on_expiry_(std::move(on_expiry)) {
    timer_.expires_after(d);
    timer_.async_wait(asio::bind_executor(ex, [this, state = state_](error_code ec) {
      if (ec || state->disarmed) return;  // `this` may be gone once disarmed
      state->expired = true;
      on_expiry_();
    }));
  }
  ~deadline() { disarm(); }
  deadline(const deadline&) = delete;
  deadline& operator=(const deadline&) = delete;

  void disarm() {
    state_->disarmed = true;  // a handler already queued must not act after this
    timer_.cancel();
  }
  // True when the action ran: the guarded phase failed because it took too long.
  bool expired() const { return state_->expired; }

 private:
  struct state {
    bool disarmed = false;
    bool expired = false;
  };
  asio::steady_timer timer_;
  std::function<void()> on_expiry_;
  std::shared_ptr<state> state_ = std::make_shared<state>();
};

}  // namespace hc::net
