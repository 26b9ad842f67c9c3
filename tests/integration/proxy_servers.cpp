// tests/integration/proxy_servers: squid and dante for the egress tests (see proxy_servers.hpp).
#include "proxy_servers.hpp"

#include "hcm_support.hpp"

#include <sys/stat.h>

#include <fstream>

namespace hc::test {
namespace {

void write_file(const fs::path& path, const std::string& text, unsigned mode) {
  { std::ofstream(path) << text; }
  ::chmod(path.c_str(), mode);
}

std::string crypt_hash(const std::string& flavour, const std::string& password) {
  auto r = hcm::shell("openssl passwd " + flavour + " " + hcm::quote(password));
  if (r.rc != 0) throw test_failure("openssl passwd failed: " + r.output);
  return r.output.substr(0, r.output.find('\n'));
}

bool accepts_connections(std::uint16_t port) {
  asio::io_context io;
  net::tcp::socket socket(io);
  net::error_code ec;
  socket.connect({asio::ip::address_v4::loopback(), port}, ec);
  return !ec;
}

void wait_listening(child_process& p, std::uint16_t port, const std::string& what, const fs::path& log) {
  if (!wait_until([&] { return accepts_connections(port) || !p.running(); }, 20s) || !p.running())
    throw test_failure(what + " did not start; its log:\n" + last_lines(read_text_file(log)) + "\n" +
                       last_lines(p.log()));
}

}  // namespace

squid_process::squid_process(const fs::path& dir, std::optional<proxy_user> user)
    : dir_(dir), port_(hcm::free_port()) {
  fs::create_directories(dir_);
  // squid reads its files and writes its logs as the `proxy` user: the test's directory (0700
  // from mkdtemp) lets others pass through, and squid's own folder lets them write.
  ::chmod(dir_.parent_path().c_str(), 0711);
  ::chmod(dir_.c_str(), 0777);
  write_file(dir_ / "hosts", std::string("127.0.0.1 ") + proxied_host + "\n", 0644);
  std::string access = "http_access allow CONNECT\n";
  std::string auth;
  if (user) {
    write_file(dir_ / "passwd", user->name + ":" + crypt_hash("-apr1", user->password) + "\n", 0644);
    auth = "auth_param basic program /usr/lib/squid/basic_ncsa_auth " + (dir_ / "passwd").string() +
           "\nauth_param basic children 1 startup=1 idle=1\nacl authed proxy_auth REQUIRED\n";
    access = "http_access allow CONNECT authed\n";
  }
  write_file(dir_ / "squid.conf",
             "http_port 127.0.0.1:" + std::to_string(port_) + "\npid_filename none\ncache_log " +
                 (dir_ / "cache.log").string() + "\naccess_log stdio:" + (dir_ / "access.log").string() +
                 "\ncache deny all\ncache_mem 8 MB\nhosts_file " + (dir_ / "hosts").string() +
                 "\ndns_nameservers 127.0.0.1\nshutdown_lifetime 0 seconds\n" + auth +
                 "acl CONNECT method CONNECT\n" + access + "http_access deny all\n",
             0644);
  process_.emplace("/usr/sbin/squid", std::vector<std::string>{"-N", "-f", (dir_ / "squid.conf").string()},
                   dir_ / "squid.out");
  wait_listening(*process_, port_, "squid", dir_ / "cache.log");
}

dante_process::dante_process(const fs::path& dir, const proxy_user& user)
    : dir_(dir), port_(hcm::free_port()) {
  fs::create_directories(dir_);
  write_file(dir_ / "hosts", read_text_file("/etc/hosts") + "127.0.0.1 " + proxied_host + "\n", 0644);
  write_file(dir_ / "passwd",
             read_text_file("/etc/passwd") + user.name + ":x:4242:4242::/nonexistent:/usr/sbin/nologin\n",
             0644);
  write_file(dir_ / "shadow",
             read_text_file("/etc/shadow") + user.name + ":" + crypt_hash("-6", user.password) +
                 ":19000:0:99999:7:::\n",
             0640);
  write_file(
      dir_ / "danted.conf",
      "logoutput: " + (dir_ / "danted.log").string() +
          "\ninternal: 127.0.0.1 port = " + std::to_string(port_) +
          "\nexternal: 127.0.0.1\nsocksmethod: username\nclientmethod: none\nuser.privileged: root\n"
          "user.unprivileged: nobody\nclient pass {\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n}\n"
          "socks pass {\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n  command: connect\n  log: connect error\n}\n",
      0644);
  std::string binds;
  for (const char* f : {"hosts", "passwd", "shadow"})
    binds += "mount --bind " + hcm::quote((dir_ / f).string()) + " /etc/" + f + " && ";
  process_.emplace("/usr/bin/unshare",
                   std::vector<std::string>{
                       "-m", "/bin/sh", "-c",
                       binds + "exec /usr/sbin/danted -f " + hcm::quote((dir_ / "danted.conf").string())},
                   dir_ / "danted.out");
  wait_listening(*process_, port_, "danted", dir_ / "danted.log");
}

}  // namespace hc::test
