// util/file_watch: notices that a configuration file changed (hcconnect's endpoints.json, hcm's
// connections.json) by comparing its modification time, size and inode between polls, so it works
// on any filesystem, through bind mounts and across atomic renames. The caller owns the polling
// timer (a 1 s steady_timer in its own coroutine). One owner; not thread-safe.
#pragma once
#include <cstdint>
#include <string>

namespace hc::util {

struct file_stamp {
  bool exists = false;
  std::int64_t mtime_ns = 0;  // st_mtim in nanoseconds since the epoch
  std::uint64_t size = 0;
  std::uint64_t inode = 0;  // changes when the file is replaced by rename
  bool operator==(const file_stamp&) const = default;
};

file_stamp stamp_of(const std::string& path);

class file_watch {
 public:
  explicit file_watch(std::string path) : path_(std::move(path)), last_(stamp_of(path_)) {}
  // True (once) when the file's stamp differs from the one seen by the previous call or the
  // constructor.
  bool changed() {
    auto now = stamp_of(path_);
    if (now == last_) return false;
    last_ = now;
    return true;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  file_stamp last_;
};

}  // namespace hc::util
