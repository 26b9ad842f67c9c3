// util/state_dir: the state directory's default (see state_dir.hpp).
#include "util/state_dir.hpp"

#include <cstdlib>
#include <filesystem>

namespace hc::util {

std::string resolve_state_dir(const std::string& flag, const char* env_name, const std::string& config_dir,
                              const std::string& packaged_config, const std::string& packaged_state) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv(env_name); env && *env) return env;
  auto normal = [](const std::string& dir) {  // "/etc/hcm/" and "/etc//hcm" are /etc/hcm
    auto path = std::filesystem::path(dir).lexically_normal();
    return path.has_filename() ? path : path.parent_path();
  };
  return normal(config_dir) == normal(packaged_config) ? packaged_state : config_dir;
}

}  // namespace hc::util
