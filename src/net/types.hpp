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

template <class T = void>
using task = asio::awaitable<T>;

// Completion token for data-path operations: returns (error_code, ...) instead of throwing.
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct io_result {
  error_code ec;
  std::size_t bytes = 0;
};

}  // namespace hc::net
