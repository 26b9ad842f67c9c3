// util/core_dumps: no core files from processes that hold keys (see core_dumps.hpp).
#include "util/core_dumps.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

namespace hc::util {
namespace {

std::optional<rlimit> original_core_limit;  // as the process started; main thread only

}  // namespace

void disable_core_dumps() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_CORE, &limit) == 0) {
    original_core_limit = limit;
    limit.rlim_cur = 0;  // the hard limit stays, so that children can be given theirs back
    if (::setrlimit(RLIMIT_CORE, &limit) != 0)
      std::fprintf(stderr, "warning: cannot turn core files off (RLIMIT_CORE): %s\n", std::strerror(errno));
  }
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    std::fprintf(stderr, "warning: cannot turn core dumps off (PR_SET_DUMPABLE): %s\n", std::strerror(errno));
}

void restore_core_limit_for_children() {
  if (!original_core_limit) return;
  rlimit limit{};
  if (::getrlimit(RLIMIT_CORE, &limit) != 0) return;
  limit.rlim_cur = std::min(original_core_limit->rlim_cur, limit.rlim_max);
  ::setrlimit(RLIMIT_CORE, &limit);
}

}  // namespace hc::util
