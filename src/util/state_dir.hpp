// util/state_dir: where an agent keeps what changes while it runs (status, caches, ids, its
// pid and socket), apart from what the operator configures. Packaged installs split them as the
// filesystem hierarchy does (/etc/hcm and /var/lib/hcm); a directory given by hand keeps both.
#pragma once
#include <string>

namespace hc::util {

// `flag` when given, else $`env_name`, else `packaged_state` when config_dir is the packaged
// `packaged_config`, else config_dir itself.
std::string resolve_state_dir(const std::string& flag, const char* env_name, const std::string& config_dir,
                              const std::string& packaged_config, const std::string& packaged_state);

// True when the two name one directory as written ("/etc/hcm/" and "/etc//hcm" are /etc/hcm).
bool same_directory(const std::string& a, const std::string& b);

}  // namespace hc::util
