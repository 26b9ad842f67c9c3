// connector/listener_owner: who holds a local TCP address (see listener_owner.hpp).
#include "connector/listener_owner.hpp"

#include "connector/status_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace hc::connector {
namespace fs = std::filesystem;
namespace {

constexpr const char* listen_state = "0A";  // TCP_LISTEN in /proc/net/tcp's "st" column

// An address as /proc/net/tcp{,6} prints it: the in-memory words of the address, each as %08X.
std::string proc_words(const void* bytes, std::size_t size) {
  std::string out;
  char word[9];
  for (std::size_t i = 0; i < size; i += 4) {
    std::uint32_t w;
    std::memcpy(&w, static_cast<const char*>(bytes) + i, 4);
    std::snprintf(word, sizeof word, "%08X", w);
    out += word;
  }
  return out;
}

// The listening socket's uid and inode from one /proc/net file, matching any of `addresses`.
std::optional<std::pair<uid_t, std::string>> find_in(const char* file, const std::set<std::string>& addresses,
                                                     std::uint16_t port) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);  // header
  char port_hex[5];
  std::snprintf(port_hex, sizeof port_hex, "%04X", port);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >>
          inode))
      continue;
    auto colon = local.find(':');
    if (state != listen_state || colon == std::string::npos || local.substr(colon + 1) != port_hex) continue;
    if (!addresses.contains(local.substr(0, colon))) continue;
    return std::pair{uid_t(std::stoul(uid)), inode};
  }
  return std::nullopt;
}

// The process holding socket `inode`, when /proc shows this user its descriptors.
std::optional<pid_t> pid_of_socket(const std::string& inode) {
  const std::string target = "socket:[" + inode + "]";
  std::error_code ec;
  for (const auto& proc : fs::directory_iterator("/proc", ec)) {
    auto name = proc.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code fd_ec;
    for (const auto& fd : fs::directory_iterator(proc.path() / "fd", fd_ec)) {
      std::error_code link_ec;
      if (fs::read_symlink(fd.path(), link_ec).string() == target) return pid_t(std::stol(name));
    }
  }
  return std::nullopt;
}

}  // namespace

bool address_in_use(const std::string& address, std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  bool in_use = false;
  if (::inet_pton(AF_INET, address.c_str(), &sa.sin_addr) == 1)
    in_use = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno == EADDRINUSE;
  ::close(fd);
  return in_use;
}

std::optional<listener_owner> find_listener_owner(const std::string& address, std::uint16_t port) {
  in_addr v4{};
  if (::inet_pton(AF_INET, address.c_str(), &v4) != 1) return std::nullopt;
  in_addr any4{};
  in6_addr any6{}, mapped{};
  mapped.s6_addr[10] = mapped.s6_addr[11] = 0xff;
  std::memcpy(&mapped.s6_addr[12], &v4, 4);
  auto found = find_in("/proc/net/tcp", {proc_words(&v4, 4), proc_words(&any4, 4)}, port);
  if (!found) found = find_in("/proc/net/tcp6", {proc_words(&mapped, 16), proc_words(&any6, 16)}, port);
  if (!found) return std::nullopt;
  listener_owner owner{found->first, pid_of_socket(found->second), {}};
  if (owner.pid) {
    std::ifstream comm("/proc/" + std::to_string(*owner.pid) + "/comm");
    std::getline(comm, owner.command);
  }
  return owner;
}

std::string listen_address(const endpoint_entry& e) {
  return e.loopback_address + ":" + std::to_string(e.endpoint_port);
}

std::string taken_by_another_process(const endpoint_entry& e, const std::string& config_dir) {
  std::string who = "another process";
  if (auto owner = find_listener_owner(e.loopback_address, e.endpoint_port)) {
    who += " (uid " + std::to_string(owner->uid);
    if (owner->pid) who += ", pid " + std::to_string(*owner->pid);
    if (!owner->command.empty()) who += " " + owner->command;
    who += ")";
  }
  std::string move_it = config_dir.empty() ? std::string()
                                           : ", or give endpoint " + e.name + " another loopbackAddress in " +
                                                 config_file_path(config_dir);
  return listen_address(e) + " is taken by " + who + ", not by hcconnect: the connections meant for " +
         e.endpoint_host + " would reach that process, passwords included. Stop it (`ss -ltnp` names it)" +
         move_it + ", then try again";
}

void refuse_foreign_listeners(const endpoint_config& config, const std::set<std::string>& served,
                              const std::string& config_dir) {
  for (const auto& e : config.entries)
    if (!served.contains(listen_address(e)) && address_in_use(e.loopback_address, e.endpoint_port))
      throw std::runtime_error(taken_by_another_process(e, config_dir));
}

bool daemon_holds_what_is_taken(const endpoint_config& config, const std::string& state_dir,
                                const std::string& hint_dir) {
  auto served = ask_daemon(state_dir);
  refuse_foreign_listeners(config, served.value_or(std::set<std::string>{}), hint_dir);
  return served.has_value();
}

}  // namespace hc::connector
