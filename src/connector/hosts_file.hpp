// connector/hosts_file: hosts-file mode, for programs that bypass libc's resolver (static or Go
// binaries): a block "# BEGIN hcconnect" ... "# END hcconnect" of "127.x.y.z name" lines in
// /etc/hosts (or any file). Applying replaces an existing block in place; removing deletes it;
// every other byte is kept as it was; markers that do not form one whole block are refused, never
// guessed at. The edit itself is pure (strings); apply/remove go through util::edit_file_locked
// (flock, temp file, rename: safe against concurrent editors and readers).
#pragma once
#include "connector/endpoint_config.hpp"
#include "proto/error.hpp"

#include <string>
#include <string_view>

namespace hc::connector {

inline constexpr std::string_view hosts_begin_marker = "# BEGIN hcconnect";
inline constexpr std::string_view hosts_end_marker = "# END hcconnect";

// The block for `config` (one line per distinct host), markers included, ending in '\n'.
std::string hosts_block(const endpoint_config& config);
// `original` with the block replaced (or appended when absent). An error naming the line when the
// markers are broken: a BEGIN without END, an END without BEGIN, a second BEGIN or block.
proto::result<std::string> with_hosts_block(std::string_view original, std::string_view block);
// `original` without the block (unchanged when absent); the same errors.
proto::result<std::string> without_hosts_block(std::string_view original);

// Read-modify-write of `path`; the file keeps its mode and owner. Throws std::runtime_error naming
// the file on failure (broken markers, a leftover temp file, for /etc/hosts: "run as root").
void apply_hosts_file(const std::string& path, const endpoint_config& config);
void remove_hosts_block(const std::string& path);

}  // namespace hc::connector
