// net/run_sync: for command-line verbs that have nothing else to do: run one coroutine to
// completion on a private io_context and return its value (or rethrow its exception).
#pragma once
#include "net/types.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <optional>

namespace hc::net {

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
