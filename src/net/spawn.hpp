// net/spawn: how coroutines are started. log_failure is the completion handler of every
// co_spawn'd session or loop; run_sync is for command-line verbs that have nothing else to do: it
// runs one coroutine to completion on a private io_context and returns its value (or rethrows).
#pragma once
#include "net/types.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <functional>
#include <optional>
#include <string>

namespace hc::net {

// The completion handler for a co_spawn'd session or loop: the one place its unexpected
// failure (an exception; expected endings are values) is caught and logged with `what`.
std::function<void(std::exception_ptr)> log_failure(std::string what);

template <class T>
T run_sync(task<T> work) {
  asio::io_context io;
  std::optional<T> value;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(work), [&](std::exception_ptr e, T v) {
    failure = e;
    if (!e) value.emplace(std::move(v));
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*value);
}

inline void run_sync(task<void> work) {
  asio::io_context io;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(work), [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace hc::net
