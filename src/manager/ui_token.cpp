// manager/ui_token: making and reading CONFIG_DIR/ui-token (see ui_token.hpp).
#include "manager/ui_token.hpp"

#include "manager/config.hpp"
#include "proto/encoding.hpp"
#include "util/private_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace hc::manager {

namespace {

constexpr std::size_t token_bytes = 32;  // 256 bits; the file holds them as 64 hex digits

// Creates the file with O_EXCL and mode 0600 from the first byte; false when it already exists
// (another hcm made it first, or it was there all along).
bool create_token_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) return false;
  if (fd < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  auto text = proto::random_hex(token_bytes) + "\n";
  bool written = ::write(fd, text.data(), text.size()) == ssize_t(text.size()) && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    throw std::runtime_error("cannot write " + path + ": " + std::strerror(err));
  }
  return true;
}

}  // namespace

std::string ui_token_path(const std::string& state_dir) {
  return (std::filesystem::path(state_dir) / "ui-token").string();
}

std::optional<std::string> read_ui_token(const std::string& state_dir) {
  auto path = ui_token_path(state_dir);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::nullopt;
    throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0)
    throw std::runtime_error(
        path + " is not a regular file with mode 0600: delete it, and `hcm run` makes a new one");
  auto text = util::read_file(path).value_or("");
  auto token = std::string(proto::trim_space(text));
  if (token.size() != 2 * token_bytes || token.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw std::runtime_error(path + " does not hold 64 hex digits: delete it, and `hcm run` makes a new one");
  return token;
}

std::string load_or_create_ui_token(const std::string& state_dir) {
  util::ensure_private_dir(state_dir);
  create_token_file(ui_token_path(state_dir));
  return *read_ui_token(state_dir);
}

std::string ui_url(std::uint16_t port, const std::string& token) {
  return "http://127.0.0.1:" + std::to_string(port) + "/?token=" + token;
}

}  // namespace hc::manager
