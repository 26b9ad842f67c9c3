// tests/integration/hcconnect_app_support: the App Service mode fixture the hcconnect_app tests
// share: a relay with plan "p" and app "web", hybrid connections created in the app, changed and
// disconnected through the management API, hcconnect's arguments for that app (the key in the
// environment or an owner-only file), what the daemon logged and what its status socket answers.
// One fixture per test; everything here runs on the test's thread.
#pragma once
#include "api_support.hpp"
#include "hcconnect_support.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <cstdio>
#include <fstream>
#include <regex>

namespace hc::test {

class hcconnect_app_test : public relay_test {
 protected:
  // Plan "p" (Basic) with app "web"; returns the app's key.
  std::string make_app() {
    std::string key;
    run([&]() -> task<> {
      co_await api_ok(*relay_, "PUT", "/plans/p", R"({"sku":"Basic"})");
      co_await api_ok(*relay_, "PUT", "/apps/web", R"({"plan":"p"})");
      auto keys = co_await api_ok(*relay_, "POST", "/apps/web/listKeys");
      key = json_text(keys, "primaryKey");
    });
    return key;
  }

  std::vector<std::string> app_args(std::vector<std::string> verb) const {
    std::vector<std::string> args{"--config-dir", (dir_.path() / "hcconnect").string(),
                                  "--ca-file",    relay_->ca_file().string(),
                                  "--relay",      "https://localhost:" + std::to_string(relay_->port()),
                                  "--app",        "web"};
    args.insert(args.end(), verb.begin(), verb.end());
    return args;
  }

  // "Create new hybrid connection" in the app; returns the defaultListener connection string.
  std::string create_in_app(const std::string& name, const std::string& host, std::uint16_t port) {
    std::string listen;
    run([&]() -> task<> {
      auto body = boost::json::serialize(boost::json::object{
          {"name", name}, {"endpointHost", host}, {"endpointPort", port}, {"namespace", "localhost"}});
      auto created = co_await api_ok(*relay_, "POST", "/apps/web/hybridConnections", body);
      listen = json_text(created, "gatewayConnectionString");
    });
    return listen;
  }

  fs::path key_file(const std::string& key, fs::perms mode) {
    auto path = dir_.path() / "app.key";
    std::ofstream(path, std::ios::trunc) << key << "\n";
    fs::permissions(path, mode);
    return path;
  }
  // The daemon has asked the relay and been answered (so it holds a working key).
  static bool answered(const child_process& p) {
    return p.log().find("0 hybrid connection(s)") != std::string::npos;
  }

  // The loopback address hcconnect logged for localhost/{name} on `port`, once it did.
  static std::string logged_address(child_process& p, const std::string& name, std::uint16_t port) {
    std::regex line("endpoint localhost/" + name +
                    ": (127\\.[0-9]+\\.[0-9]+\\.[0-9]+):" + std::to_string(port));
    std::smatch m;
    std::string address;
    wait_until(
        [&] {
          auto log = p.log();
          if (!std::regex_search(log, m, line)) return false;
          address = m[1];
          return true;
        },
        10s);
    return address;
  }

  // The app's hybrid connection ns/name now names `endpoint` (HOST:PORT) on the relay.
  void change_endpoint(const std::string& name, const std::string& endpoint) {
    run([&]() -> task<> {
      auto body = boost::json::serialize(boost::json::object{{"endpoint", endpoint}});
      co_await api_ok(*relay_, "PUT", "/namespaces/localhost/hybridConnections/" + name, body);
    });
  }
  // Disconnect in the portal.
  void disconnect(const std::string& name) {
    run([&]() -> task<> {
      co_await api_ok(*relay_, "DELETE", "/apps/web/hybridConnections/localhost/" + name);
    });
  }

  // A short-lived hcconnect verb in App Service mode, the key in an owner-only file.
  program_result hcconnect_once(const std::string& key, std::vector<std::string> verb) {
    auto file = key_file(key, fs::perms::owner_read | fs::perms::owner_write);
    std::vector<std::string> args{"--app-key-file", file.string()};
    args.insert(args.end(), verb.begin(), verb.end());
    return run_program(dir_.path(), bin_path("hcconnect"), app_args(args), 30s);
  }

  // What the daemon's status socket answers: the "ADDRESS:PORT" it listens on, one a line. Reached
  // through /proc/self/fd/DIR/ because the test directory's path is longer than sun_path allows.
  std::string status_answer() const {
    int dir = ::open((dir_.path() / "hcconnect").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    auto path = "/proc/self/fd/" + std::to_string(dir) + "/hcconnect.sock";
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, std::size_t(n));
    }
    ::close(fd);
    ::close(dir);
    return out;
  }
};

// One TCP round trip: sends `text`, returns what comes back before EOF or 5 s.
inline std::string round_trip(const std::string& address, std::uint16_t port, const std::string& text) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
      ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == ssize_t(text.size())) {
    ::shutdown(fd, SHUT_WR);
    char buf[4096];
    for (;;) {
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, std::size_t(n));
    }
  }
  ::close(fd);
  return out;
}

}  // namespace hc::test
