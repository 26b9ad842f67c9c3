// util/build_info: what every program says it is (--version, logs, metrics): the project's version
// and the git commit it was built from (generated at build time by cmake/build_info.cmake).
#pragma once
#include <string>
#include <string_view>

namespace hc::util {

std::string_view version();  // "0.1.0"
std::string_view commit();   // 12 hex digits, or "unknown" for a build outside a git clone

// "{program} {version} (commit {commit})": what --version prints.
std::string version_line(std::string_view program);

}  // namespace hc::util
