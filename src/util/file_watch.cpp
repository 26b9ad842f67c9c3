// util/file_watch: stat-based change detection (see file_watch.hpp).
#include "util/file_watch.hpp"

#include <sys/stat.h>

namespace hc::util {

file_stamp stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {true, std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          std::uint64_t(st.st_size), std::uint64_t(st.st_ino)};
}

}  // namespace hc::util
