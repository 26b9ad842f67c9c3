// net/types: the vocabulary every async file in hcrelay shares: the coroutine type, the
// as_tuple completion token (expected endings are values, not exceptions) and io_result.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>

namespace hc::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// A coroutine. g++ 12 (Debian 12's compiler) mishandles some expressions that contain a
// co_await (GCC PR 99576 and relatives): temporaries sharing the full expression are destroyed
// twice (a double free at run time), braced lists of string literals fail to compile ("array
// used as initializer"), and nested structured bindings of co_await results miscompile. So:
// give every co_await its own statement (`auto ex = co_await asio::this_coro::executor;`) and
// name braced temporaries (errors, header lists) before the statement that awaits. Comments
// elsewhere say "own statement: net/types.hpp" and point here.
template <class T = void>
using task = asio::awaitable<T>;

// Completion token for data-path operations: returns (error_code, ...) instead of throwing.
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct io_result {
  error_code ec;
  std::size_t bytes = 0;
};

}  // namespace hc::net
