// tests/integration/proxy_servers: Debian's squid (HTTP CONNECT, Basic authentication against an
// htpasswd file) and dante (SOCKS5, username authentication) on free loopback ports, one per test.
// Both resolve `proxied_host` to 127.0.0.1 from a private hosts file (squid's hosts_file; dante in
// its own mount namespace with /etc/hosts, /etc/passwd and /etc/shadow bound over), a name
// nothing else on this host resolves: a program reaches a relay under that name only through
// the proxy. Needs root (squid drops to its `proxy` user; dante's mount namespace).
#pragma once
#include "harness.hpp"

#include <optional>
#include <string>

namespace hc::test {

inline constexpr const char* proxied_host = "relay.proxied.test";

struct proxy_user {
  std::string name;
  std::string password;
};

class squid_process {
 public:
  // Without a user every CONNECT is allowed; with one, only that user's.
  squid_process(const fs::path& dir, std::optional<proxy_user> user);
  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // One line per request: "... TCP_TUNNEL/200 ... CONNECT host:port user ...".
  std::string access_log() const { return read_text_file(dir_ / "access.log"); }

 private:
  fs::path dir_;
  std::uint16_t port_;
  std::optional<child_process> process_;
};

class dante_process {
 public:
  dante_process(const fs::path& dir, const proxy_user& user);
  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return read_text_file(dir_ / "danted.log"); }

 private:
  fs::path dir_;
  std::uint16_t port_;
  std::optional<child_process> process_;
};

}  // namespace hc::test
