// net/warm_pool: the refill loop and hand-out of pre-opened relay connections (see
// warm_pool.hpp).
#include "net/warm_pool.hpp"

#include "net/egress_proxy.hpp"
#include "net/limits.hpp"
#include "net/spawn.hpp"
#include "net/ws_client.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace hc::net {

warm_pool::warm_pool(asio::any_io_executor ex, std::string host, std::uint16_t port, tls_context tls,
                     std::size_t size)
    : ex_(std::move(ex)),
      host_(std::move(host)),
      port_(port),
      tls_(std::move(tls)),
      size_(size),
      wake_(std::make_unique<asio::steady_timer>(ex_)) {}

warm_pool::~warm_pool() {
  for (auto& r : ready_) r.stream.close();
}

void warm_pool::start() {
  // The loop holds the pool from the moment it is spawned: a pool dropped before the loop first
  // runs must not be gone when it does.
  auto self = shared_from_this();
  asio::co_spawn(ex_, keep_filled(self), log_failure("warm connection pool"));
}

void warm_pool::stop() {
  asio::post(ex_, [self = shared_from_this()] {
    std::lock_guard lock(self->mutex_);
    self->stopped_ = true;
    self->wake_->cancel();
  });
}

std::optional<byte_stream> warm_pool::take(std::string_view host, std::uint16_t port) {
  if (host != host_ || port != port_) return std::nullopt;  // used elsewhere: not a use of the pool
  std::optional<byte_stream> out;
  {
    std::lock_guard lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    last_take_ = now;  // a use, even when none is ready: the pool fills again
    while (!ready_.empty() && now - ready_.front().opened > limits::warm_max_age) {
      ready_.front().stream.close();
      ready_.pop_front();
    }
    if (!ready_.empty()) {
      out.emplace(std::move(ready_.back().stream));
      ready_.pop_back();
    }
  }
  // Wake the loop to open a replacement (the timer belongs to the loop's executor).
  asio::post(ex_, [self = shared_from_this()] { self->wake_->cancel(); });
  return out;
}

task<> warm_pool::keep_filled(std::shared_ptr<warm_pool> self) {  // keeps the pool alive until stop()
  for (;;) {
    std::size_t have = 0;
    bool idle = false;
    std::chrono::steady_clock::time_point last_take;
    {
      std::lock_guard lock(mutex_);
      if (stopped_) co_return;
      auto now = std::chrono::steady_clock::now();
      while (!ready_.empty() && now - ready_.front().opened > limits::warm_max_age) {
        ready_.front().stream.close();
        ready_.pop_front();
      }
      idle = now - last_take_ > limits::warm_idle_after;
      if (idle) {  // unused: hold nothing until the next take
        for (auto& r : ready_) r.stream.close();
        ready_.clear();
      }
      have = ready_.size();
      last_take = last_take_;
    }
    if (idle) {  // a take() wakes the loop; it also looks again now and then (a missed wake-up)
      wake_->expires_after(limits::warm_idle_after);
      co_await wake_->async_wait(use_tuple);
      continue;
    }
    // A connection was just taken by a tunnel that is being set up now. While another one is
    // still ready, its replacement waits a moment, so that the handshake (on this process and on
    // the relay) does not delay that tunnel's first messages.
    if (have > 0 && have < size_ &&
        std::chrono::steady_clock::now() - last_take < limits::warm_refill_delay) {
      wake_->expires_at(last_take + limits::warm_refill_delay);
      co_await wake_->async_wait(use_tuple);
      continue;
    }
    if (have < size_) {
      auto connected = co_await connect_egress(host_, port_, tls_ != nullptr, limits::handshake_timeout);
      std::string why = std::move(connected.error);
      std::optional<byte_stream> stream;
      if (why.empty()) {
        stream.emplace(tls_ ? byte_stream::tls(std::move(connected.socket), *tls_)
                            : byte_stream::plain(std::move(connected.socket)));
        if (tls_) {
          auto ec = co_await stream->tls_connect(host_);
          if (ec) why = "TLS handshake failed: " + ec.message();
        }
      }
      if (why.empty()) {
        std::lock_guard lock(mutex_);
        ready_.push_back({std::chrono::steady_clock::now(), std::move(*stream)});
        continue;
      }
      spdlog::debug("warm connection to {}:{} failed: {}", host_, port_, why);
      wake_->expires_after(limits::warm_retry_delay);  // the relay is away: do not spin
    } else {
      wake_->expires_after(limits::warm_max_age / 2);
    }
    co_await wake_->async_wait(use_tuple);
  }
}

}  // namespace hc::net
