// util/state_dir: the state directory's default (see state_dir.hpp).
#include "util/state_dir.hpp"

#include <cstdlib>
#include <filesystem>

namespace hc::util {

std::string resolve_state_dir(const std::string& flag, const char* env_name, const std::string& config_dir,
                              const std::string& packaged_config, const std::string& packaged_state) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv(env_name); env && *env) return env;
  return same_directory(config_dir, packaged_config) ? packaged_state : config_dir;
}

bool same_directory(const std::string& a, const std::string& b) {
  auto normal = [](const std::string& dir) {
    auto path = std::filesystem::path(dir).lexically_normal();
    return path.has_filename() ? path : path.parent_path();
  };
  return normal(a) == normal(b);
}

}  // namespace hc::util
