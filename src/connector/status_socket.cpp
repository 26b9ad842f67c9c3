// connector/status_socket: the daemon's "which addresses are mine" socket (see status_socket.hpp).
#include "connector/status_socket.hpp"

#include "net/spawn.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

namespace hc::connector {
namespace asio = net::asio;
using local = asio::local::stream_protocol;

namespace {

// A socket path that fits sockaddr_un (108 bytes): the path itself, or, for a deep configuration
// directory, the same file reached through an open descriptor of its directory
// (/proc/self/fd/N/hcconnect.sock), which must stay open while the path is bound or connected.
struct unix_path {
  std::string path;
  int dir_fd = -1;
  explicit unix_path(const std::string& full) : path(full) {
    if (full.size() < sizeof(sockaddr_un::sun_path)) return;
    auto p = std::filesystem::path(full);
    dir_fd = ::open(p.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) path = "/proc/self/fd/" + std::to_string(dir_fd) + "/" + p.filename().string();
  }
  ~unix_path() {
    if (dir_fd >= 0) ::close(dir_fd);
  }
  unix_path(const unix_path&) = delete;
  unix_path& operator=(const unix_path&) = delete;
  bool usable() const { return path.size() < sizeof(sockaddr_un::sun_path); }
};

// A connected client socket to `full_path`, or -1.
int connect_unix(const std::string& full_path) {
  unix_path path(full_path);
  sockaddr_un sa{};
  if (!path.usable()) return -1;
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.path.c_str(), path.path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{2, 0};  // a daemon answers at once; a hung one must not hang `run`
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

struct status_server::state {
  local::acceptor acceptor;
  std::string path;
  std::function<std::string()> answer;
  ino_t inode = 0;  // of the socket file we created; 0: serving nothing

  net::task<> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(net::use_tuple);
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) continue;
      auto text = answer();
      auto [wec, n] = co_await asio::async_write(socket, asio::buffer(text), net::use_tuple);
      (void)wec;  // the asker went away: nothing to tell anyone
      (void)n;
    }
  }
};

std::string status_socket_path(const std::string& state_dir) {
  return (std::filesystem::path(state_dir) / "hcconnect.sock").string();
}

status_server::status_server(asio::any_io_executor control, std::string path,
                             std::function<std::string()> answer)
    : state_(std::make_shared<state>(state{local::acceptor(control), std::move(path), std::move(answer)})) {
  auto& s = *state_;
  if (int fd = connect_unix(s.path); fd >= 0) {
    ::close(fd);
    spdlog::warn("{}: another hcconnect answers there already; this one does not serve its status", s.path);
    return;
  }
  ::unlink(s.path.c_str());  // a socket file left by a daemon that was killed
  unix_path bind_path(s.path);
  net::error_code ec;
  if (!bind_path.usable()) ec = asio::error::name_too_long;
  if (!ec) s.acceptor.open(local(), ec);
  if (!ec) s.acceptor.bind(local::endpoint(bind_path.path), ec);
  if (!ec) ::chmod(s.path.c_str(), 0600);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  struct stat st {};
  if (ec || ::stat(s.path.c_str(), &st) != 0) {
    spdlog::warn("{}: cannot serve the status socket ({}): `hcconnect run` will not find this daemon", s.path,
                 ec ? ec.message() : std::strerror(errno));
    return;
  }
  s.inode = st.st_ino;
  asio::co_spawn(control, s.accept_loop(), net::log_failure("status socket " + s.path));
}

status_server::~status_server() {
  net::error_code ignored;  // closing an acceptor that never opened is fine
  state_->acceptor.close(ignored);
  struct stat st {};
  if (state_->inode != 0 && ::stat(state_->path.c_str(), &st) == 0 && st.st_ino == state_->inode)
    ::unlink(state_->path.c_str());
}

std::optional<std::set<std::string>> ask_daemon(const std::string& state_dir) {
  int fd = connect_unix(status_socket_path(state_dir));
  if (fd < 0) return std::nullopt;
  ucred peer{};
  socklen_t len = sizeof peer;
  struct stat dir {};
  bool trusted = ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) == 0 &&
                 (peer.uid == ::geteuid() || peer.uid == 0 ||
                  (::stat(state_dir.c_str(), &dir) == 0 && peer.uid == dir.st_uid));
  std::string text;
  char buf[4096];
  for (ssize_t n; trusted && (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, std::size_t(n));
  ::close(fd);
  if (!trusted) return std::nullopt;
  std::set<std::string> addresses;
  for (std::size_t at = 0; at < text.size();) {
    auto nl = text.find('\n', at);
    if (nl == std::string::npos) break;  // a cut-off last line is not an address
    if (nl > at) addresses.insert(text.substr(at, nl - at));
    at = nl + 1;
  }
  return addresses;
}

}  // namespace hc::connector
