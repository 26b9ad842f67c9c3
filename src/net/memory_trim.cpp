// net/memory_trim: see memory_trim.hpp.
#include "net/memory_trim.hpp"

#include "net/limits.hpp"
#include "net/spawn.hpp"

#include <malloc.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

namespace hc::net {
namespace {

task<> return_free_memory(asio::any_io_executor ex) {
  asio::steady_timer every(ex);
  for (;;) {
    every.expires_after(limits::memory_trim_interval);
    auto [ec] = co_await every.async_wait(use_tuple);
    if (ec) co_return;
    ::malloc_trim(0);  // a few milliseconds on a large heap
  }
}

}  // namespace

void keep_returning_free_memory(asio::any_io_executor ex) {
  asio::co_spawn(ex, return_free_memory(ex), log_failure("memory trim"));
}

}  // namespace hc::net
