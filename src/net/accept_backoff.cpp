// net/accept_backoff: see accept_backoff.hpp.
#include "net/accept_backoff.hpp"

#include "net/limits.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace hc::net {

task<> back_off_after_accept_error(error_code ec, std::string_view where) {
  spdlog::warn("accept on {} failed: {}; retrying in {} ms", where, ec.message(),
               std::chrono::duration_cast<std::chrono::milliseconds>(limits::accept_retry_delay).count());
  auto ex = co_await asio::this_coro::executor;  // own statement: net/types.hpp
  asio::steady_timer pause(ex, limits::accept_retry_delay);
  co_await pause.async_wait(use_tuple);
}

}  // namespace hc::net
