// connector/hosts_file: the marked block in a hosts file (see hosts_file.hpp).
#include "connector/hosts_file.hpp"

#include "util/private_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>

namespace hc::connector {

namespace {

struct block_span {
  std::size_t begin = std::string_view::npos;  // first byte of the BEGIN line
  std::size_t end = 0;                         // one past the END line's '\n' (or the text's end)
};

// Finds the first BEGIN line and the END line after it; both must be whole lines.
block_span find_block(std::string_view text) {
  block_span span;
  std::size_t at = 0;
  while (at < text.size()) {
    auto nl = text.find('\n', at);
    auto line_end = nl == std::string_view::npos ? text.size() : nl;
    auto line = text.substr(at, line_end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto next = nl == std::string_view::npos ? text.size() : nl + 1;
    if (span.begin == std::string_view::npos && line == hosts_begin_marker) {
      span.begin = at;
    } else if (span.begin != std::string_view::npos && line == hosts_end_marker) {
      span.end = next;
      return span;
    }
    at = next;
  }
  return {};  // no complete block: leave the file alone
}

// Writes in place when the file cannot be replaced by rename (a bind-mounted /etc/hosts in a
// container answers EBUSY), keeping the file's mode either way.
void write_keeping_mode(const std::string& path, const std::string& content) {
  struct stat st {};
  mode_t mode = ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
  std::string tmp = path + ".hcconnect.tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  bool renamed = false;
  if (fd >= 0) {
    ::fchmod(fd, mode);
    bool ok = ::write(fd, content.data(), content.size()) == ssize_t(content.size()) && ::fsync(fd) == 0;
    ::close(fd);
    renamed = ok && ::rename(tmp.c_str(), path.c_str()) == 0;
    if (!renamed) ::unlink(tmp.c_str());
  }
  if (renamed) return;
  fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0)
    throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno) +
                             " (run as root for /etc/hosts)");
  bool ok = ::write(fd, content.data(), content.size()) == ssize_t(content.size());
  int err = errno;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + path + ": " + std::strerror(err));
}

}  // namespace

std::string hosts_block(const endpoint_config& config) {
  std::string out = std::string(hosts_begin_marker) + "\n";
  std::set<std::string> seen;
  for (const auto& e : config.entries) {
    if (!seen.insert(e.endpoint_host).second) continue;
    out += e.loopback_address + " " + e.endpoint_host + "\n";
  }
  out += std::string(hosts_end_marker) + "\n";
  return out;
}

std::string with_hosts_block(std::string_view original, std::string_view block) {
  auto span = find_block(original);
  if (span.begin != std::string_view::npos) {
    std::string out(original.substr(0, span.begin));
    out += block;
    out += original.substr(span.end);
    return out;
  }
  std::string out(original);
  if (!out.empty() && out.back() != '\n') out += '\n';
  out += block;
  return out;
}

std::string without_hosts_block(std::string_view original) {
  auto span = find_block(original);
  if (span.begin == std::string_view::npos) return std::string(original);
  return std::string(original.substr(0, span.begin)) + std::string(original.substr(span.end));
}

void apply_hosts_file(const std::string& path, const endpoint_config& config) {
  auto original = util::read_file(path);
  if (!original) throw std::runtime_error(path + " does not exist");
  auto updated = with_hosts_block(*original, hosts_block(config));
  if (updated != *original) write_keeping_mode(path, updated);
}

void remove_hosts_block(const std::string& path) {
  auto original = util::read_file(path);
  if (!original) throw std::runtime_error(path + " does not exist");
  auto updated = without_hosts_block(*original);
  if (updated != *original) write_keeping_mode(path, updated);
}

}  // namespace hc::connector
