// tests/engines/redis_server: a real redis-server (Debian's) for the engine tests: a free port on
// 127.0.0.1, no persistence, its own temporary directory (with its log), optionally a password.
// stop() and start() again on the same port make an outage. Every wait is bounded (a failure
// throws std::runtime_error with the server's log); the destructor stops the server and removes
// the directory, and the kernel kills the server should the test process die (PR_SET_PDEATHSIG).
// Used from the test's own thread; not thread-safe.
#pragma once
#include "cluster/redis_url.hpp"
#include "postgres_server.hpp"  // pick_free_loopback_port

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace hc::test {

class redis_server {
 public:
  // Starts the server; with a password, clients must AUTH (--requirepass).
  explicit redis_server(std::string password = {})
      : port_(pick_free_loopback_port()), password_(std::move(password)) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/hc-redis-XXXXXX";
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    dir_ = pattern;
    start();
  }
  ~redis_server() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  // Starts it on the same port; returns once it accepts connections.
  void start() {
    if (pid_ > 0) return;
    std::vector<std::string> args{"redis-server",
                                  "--port",
                                  std::to_string(port_),
                                  "--bind",
                                  "127.0.0.1",
                                  "--save",
                                  "",
                                  "--appendonly",
                                  "no",
                                  "--dir",
                                  dir_.string(),
                                  "--logfile",
                                  log_path(),
                                  "--daemonize",
                                  "no"};
    if (!password_.empty()) {
      args.push_back("--requirepass");
      args.push_back(password_);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {  // only async-signal-safe calls between fork and exec
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    wait_until_accepting();
  }

  // SIGTERM, SIGKILL after 5 s; returns once it has exited.
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    if (!reaped_within(std::chrono::seconds(5))) {
      kill(pid_, SIGKILL);
      reaped_within(std::chrono::seconds(5));
    }
    pid_ = -1;
  }

  std::uint16_t port() const { return port_; }
  // redis://[:password@]127.0.0.1:port[/db]
  std::string url(int db = 0) const {
    return "redis://" + (password_.empty() ? "" : ":" + password_ + "@") +
           "127.0.0.1:" + std::to_string(port_) + (db ? "/" + std::to_string(db) : "");
  }
  cluster::redis_endpoint endpoint(int db = 0) const { return cluster::parse_redis_url(url(db)).value(); }

 private:
  std::string log_path() const { return (dir_ / "redis.log").string(); }

  std::string log() const {
    std::ifstream in(log_path());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  void wait_until_accepting() {
    namespace asio = boost::asio;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    asio::io_context io;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("redis-server exited at start; its log:\n" + log());
      }
      asio::ip::tcp::socket probe(io);
      boost::system::error_code ec;
      probe.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
      if (!ec) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    throw std::runtime_error("redis-server did not accept connections within 10 s; its log:\n" + log());
  }

  bool reaped_within(std::chrono::steady_clock::duration limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  std::filesystem::path dir_;
  std::uint16_t port_;
  std::string password_;
  pid_t pid_ = -1;  // the running server, or -1
};

}  // namespace hc::test
