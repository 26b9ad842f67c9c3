// util/version_line: the --version line of every program (see build_info.hpp).
#include "util/build_info.hpp"

namespace hc::util {

std::string version_line(std::string_view program) {
  return std::string(program) + " " + std::string(version()) + " (commit " + std::string(commit()) + ")";
}

}  // namespace hc::util
