// net/connect_within: connect_tcp raced against a timer (see connect_within.hpp).
#include "net/connect_within.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace hc::net {

task<std::pair<error_code, tcp::socket>> connect_within(const std::string& host, std::uint16_t port,
                                                        std::chrono::steady_clock::duration limit,
                                                        const address_filter& allowed) {
  using namespace asio::experimental::awaitable_operators;
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex, limit);
  auto raced = co_await (connect_tcp(host, port, allowed) || timer.async_wait(use_tuple));
  if (raced.index() == 1) co_return std::pair{error_code(asio::error::timed_out), tcp::socket(ex)};
  co_return std::get<0>(std::move(raced));
}

}  // namespace hc::net
