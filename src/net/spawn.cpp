// net/spawn: the logging completion handler for spawned coroutines (see spawn.hpp).
#include "net/spawn.hpp"

#include <spdlog/spdlog.h>

namespace hc::net {

std::function<void(std::exception_ptr)> log_failure(std::string what) {
  return [what = std::move(what)](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("{} failed with an unexpected error: {}", what, ex.what());
    }
  };
}

}  // namespace hc::net
