// util/private_file: 0600 atomic writes and whole-file reads (see private_file.hpp).
#include "util/private_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace hc::util {

void ensure_private_dir(const std::string& dir) {
  auto p = std::filesystem::path(dir).lexically_normal();
  if (!p.has_filename() && p.has_parent_path()) p = p.parent_path();  // "/srv/hcm/" is /srv/hcm
  if (std::filesystem::is_directory(p)) return;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  if (::mkdir(p.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error("cannot create directory " + dir + ": " + std::strerror(errno));
}

void write_private_file(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  // A fresh temp file, never one found there: in a directory another user owns (the packaged
  // /etc/hcm), that user could have left a symbolic link for root to follow, truncate and hand over.
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
  struct stat dir {};
  auto parent = std::filesystem::path(path).parent_path();
  if (::geteuid() == 0 && ::stat(parent.empty() ? "." : parent.c_str(), &dir) == 0 && dir.st_uid != 0 &&
      ::fchown(fd, dir.st_uid, dir.st_gid) != 0) {
    int err = errno;
    ::close(fd);
    throw std::runtime_error("cannot give " + tmp + " to the owner of its directory: " + std::strerror(err));
  }
  std::size_t at = 0;
  while (at < content.size()) {
    auto n = ::write(fd, content.data() + at, content.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(err));
    }
    at += std::size_t(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error("cannot replace " + path + ": " + std::strerror(errno));
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path)) return std::nullopt;
    throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

namespace {

// A secret file's content without its final line break; throws naming the option when empty.
std::string trimmed_secret(std::string content, const std::string& path, const std::string& option) {
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) content.pop_back();
  if (content.empty()) throw std::runtime_error(option + " " + path + " is empty");
  return content;
}

}  // namespace

std::string read_secret_file(const std::string& path, const std::string& option) {
  auto content = read_file(path);
  if (!content) throw std::runtime_error(option + " " + path + " does not exist");
  return trimmed_secret(std::move(*content), path, option);
}

std::string read_owner_only_secret_file(const std::string& path, const std::string& option) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(option + " " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error(option + " " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    throw std::runtime_error(option + " " + path + " can be read by other users (mode " + mode +
                             "): make it readable by its owner only (chmod 600 " + path + ")");
  }
  std::string content;
  char buf[4096];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw std::runtime_error(option + " " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    content.append(buf, std::size_t(n));
  }
  ::close(fd);
  return trimmed_secret(std::move(content), path, option);
}

}  // namespace hc::util
