// connector/hosts_file: hosts-file mode, for programs that bypass libc's resolver (static or Go
// binaries): a block "# BEGIN hcconnect" ... "# END hcconnect" of "127.x.y.z name" lines in
// /etc/hosts (or any file). Applying replaces an existing block in place; removing deletes it;
// every other byte is kept as it was. The edit itself is pure (strings); only apply/remove
// touch the file. Not thread-safe against other writers of the same file.
#pragma once
#include "connector/endpoint_config.hpp"

#include <string>
#include <string_view>

namespace hc::connector {

inline constexpr std::string_view hosts_begin_marker = "# BEGIN hcconnect";
inline constexpr std::string_view hosts_end_marker = "# END hcconnect";

// The block for `config` (one line per distinct host), markers included, ending in '\n'.
std::string hosts_block(const endpoint_config& config);
// `original` with the block replaced (or appended when absent).
std::string with_hosts_block(std::string_view original, std::string_view block);
// `original` without the block (unchanged when absent).
std::string without_hosts_block(std::string_view original);

// Read-modify-write of `path`; the file keeps its mode. Throws std::runtime_error naming the
// file on failure (for /etc/hosts: "run as root").
void apply_hosts_file(const std::string& path, const endpoint_config& config);
void remove_hosts_block(const std::string& path);

}  // namespace hc::connector
