// util/locked_edit: read-modify-write of a shared system file (such as /etc/hosts) that other
// processes read at any moment and other editors may change at the same time: an exclusive
// flock on the file for the whole edit, then a temp file beside it (O_CREAT|O_EXCL|O_NOFOLLOW:
// never a path someone else prepared), written, fsynced, given the original's mode and owner,
// and renamed over it. Readers see the old bytes or the new ones, never a partial file. Knows
// nothing of what the edit is (connector/hosts_file owns the hosts block). Blocking; any thread.
#pragma once
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace hc::util {

// Returns the new content, or nullopt to leave the file as it is. May throw to abandon the edit.
using file_edit = std::function<std::optional<std::string>(std::string_view current)>;

// Edits `path` (a symlink is resolved: the file it names is edited). Waits up to `lock_wait` for
// another editor's lock. Throws std::runtime_error with a sentence naming the file and the fix.
// Where the file cannot be replaced (a bind-mounted /etc/hosts in a container answers EBUSY to
// rename), the new bytes are written over the old in place, still under the lock and never
// truncating first.
void edit_file_locked(const std::string& path, const file_edit& edit,
                      std::chrono::milliseconds lock_wait = std::chrono::seconds(10));

// The temp file edit_file_locked writes beside `path` (after resolving symlinks).
std::string locked_edit_temp_path(const std::string& resolved_path);

}  // namespace hc::util
