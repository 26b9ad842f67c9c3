// util/locked_edit: locked, atomic read-modify-write of a shared file (see locked_edit.hpp).
#include "util/locked_edit.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace hc::util {
namespace fs = std::filesystem;
namespace {

// Closes the descriptor (and so releases its flock) when the edit ends, however it ends.
struct fd_owner {
  int fd = -1;
  ~fd_owner() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

std::runtime_error failure(const std::string& what, const std::string& path, int err) {
  return std::runtime_error(what + " " + path + ": " + std::strerror(err) +
                            (err == EACCES || err == EPERM ? " (run as root for /etc/hosts)" : ""));
}

// Opens `path` and holds an exclusive flock on the file that is at `path` once the lock is ours
// (an editor before us may have renamed a new file over the one we waited on).
void lock_current_file(const std::string& path, fd_owner& file, struct stat& st,
                       std::chrono::milliseconds lock_wait) {
  auto deadline = std::chrono::steady_clock::now() + lock_wait;
  for (;;) {
    file.reset();
    file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (file.fd < 0) throw failure("cannot open", path, errno);
    while (::flock(file.fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) throw failure("cannot lock", path, errno);
      if (std::chrono::steady_clock::now() >= deadline)
        throw std::runtime_error(
            path + " stayed locked by another process (another `hcconnect hosts`?) for " +
            std::to_string(lock_wait.count()) + " ms; run the command again when it is done");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    struct stat now {};
    if (::fstat(file.fd, &st) != 0) throw failure("cannot stat", path, errno);
    if (::stat(path.c_str(), &now) == 0 && now.st_dev == st.st_dev && now.st_ino == st.st_ino) return;
  }
}

std::string read_all(int fd, const std::string& path) {
  std::string out;
  char buf[16384];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw failure("cannot read", path, errno);
    if (n == 0) return out;
    out.append(buf, std::size_t(n));
  }
}

bool write_all(int fd, std::string_view content, off_t at) {
  while (!content.empty()) {
    auto n = ::pwrite(fd, content.data(), content.size(), at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    content.remove_prefix(std::size_t(n));
    at += n;
  }
  return true;
}

// The bind-mount case: rename cannot replace a mount point, so the bytes go over the old ones.
void write_in_place(const std::string& path, const std::string& content) {
  fd_owner out{::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW)};
  if (out.fd < 0) throw failure("cannot write", path, errno);
  if (!write_all(out.fd, content, 0) || ::ftruncate(out.fd, off_t(content.size())) != 0 ||
      ::fsync(out.fd) != 0)
    throw failure("cannot write", path, errno);
}

}  // namespace

std::string locked_edit_temp_path(const std::string& resolved_path) {
  return resolved_path + ".hcconnect.tmp";
}

void edit_file_locked(const std::string& path, const file_edit& edit, std::chrono::milliseconds lock_wait) {
  std::error_code ec;
  auto resolved = fs::canonical(path, ec);
  if (ec) throw std::runtime_error(path + ": " + ec.message());
  const std::string real = resolved.string();

  fd_owner file;
  struct stat st {};
  lock_current_file(real, file, st, lock_wait);
  auto updated = edit(read_all(file.fd, real));
  if (!updated) return;

  const std::string tmp = locked_edit_temp_path(real);
  fd_owner out{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)};
  if (out.fd < 0 && errno == EEXIST)
    throw std::runtime_error(tmp +
                             " already exists (left by an interrupted edit, or put there by someone else): "
                             "look at what it is, remove it, then run the command again; " +
                             real + " is unchanged");
  if (out.fd < 0) throw failure("cannot create", tmp, errno);
  auto abandon = [&](const std::string& what, int err) {
    ::unlink(tmp.c_str());
    return failure(what, real, err);
  };
  if ((st.st_uid != ::geteuid() || st.st_gid != ::getegid()) && ::fchown(out.fd, st.st_uid, st.st_gid) != 0)
    throw abandon("cannot give the new file the owner of", errno);
  if (::fchmod(out.fd, st.st_mode & 07777) != 0) throw abandon("cannot give the new file the mode of", errno);
  if (!write_all(out.fd, *updated, 0) || ::fsync(out.fd) != 0) throw abandon("cannot write the new", errno);
  if (::rename(tmp.c_str(), real.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    if (err != EBUSY) throw failure("cannot replace", real, err);
    write_in_place(real, *updated);
    return;
  }
  fd_owner dir{::open(resolved.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dir.fd >= 0) ::fsync(dir.fd);  // the rename itself survives a crash; best effort
}

}  // namespace hc::util
