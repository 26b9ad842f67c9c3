// tests/engines/postgres_server: spawning initdb and postgres as the postgres user, bounded waits
// for readiness and exit, and the superuser SQL the tests need (postgres_server.hpp).
#include "postgres_server.hpp"

#include "postgres_install.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grp.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace hc::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto initdb_timeout = 120s;  // a slow, shared machine; usually a few seconds
constexpr auto start_timeout = 60s;    // crash recovery after a kill included
constexpr auto stop_timeout = 30s;
constexpr auto poll_interval = 20ms;

// Who the server runs as: postgres when we are root (it refuses to run as root), else ourselves.
struct run_as {
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
  bool switch_user = false;
};

run_as server_user() {
  run_as who;
  if (who.uid != 0) return who;
  const passwd* pw = ::getpwnam("postgres");
  if (!pw) throw std::runtime_error("running as root, but there is no postgres user to run the server as");
  return {pw->pw_uid, pw->pw_gid, true};
}

// Starts `argv` as the server user with stdout and stderr appended to `log` and SIGQUIT
// (PostgreSQL's immediate shutdown) when this thread dies. Only async-signal-safe calls after fork.
pid_t spawn(const std::vector<std::string>& argv, const fs::path& dir, const fs::path& log) {
  run_as who = server_user();
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) throw std::runtime_error("open " + log.string() + " failed");
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    int in = ::open("/dev/null", O_RDONLY);
    bool ok = in >= 0 && ::dup2(in, 0) == 0 && ::dup2(out, 1) == 1 && ::dup2(out, 2) == 2 &&
              (!who.switch_user ||
               (::setgroups(0, nullptr) == 0 && ::setgid(who.gid) == 0 && ::setuid(who.uid) == 0)) &&
              ::prctl(PR_SET_PDEATHSIG, SIGQUIT) == 0 && ::getppid() == parent && ::chdir(dir.c_str()) == 0;
    if (ok) ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out);
  if (pid < 0) throw std::runtime_error("fork failed");
  return pid;
}

// Waits up to `timeout` for `pid` to exit and reaps it; its wait status, or nothing on timeout.
std::optional<int> wait_exit(pid_t pid, std::chrono::steady_clock::duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return status;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(poll_interval);
  }
}

// Stops `pid` with `signal`, then SIGKILL if it is still there after `grace`.
void stop_process(pid_t pid, int signal, std::chrono::steady_clock::duration grace) {
  ::kill(pid, signal);
  if (wait_exit(pid, grace)) return;
  ::kill(pid, SIGKILL);
  wait_exit(pid, 5s);
}

// The last few KiB of a log, for an exception's message.
std::string tail_of(const fs::path& log) {
  std::ifstream in(log);
  std::string text(std::istreambuf_iterator<char>(in), {});
  return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
}

std::string admin_conninfo(std::uint16_t port) {
  return "host=127.0.0.1 port=" + std::to_string(port) + " dbname=postgres user=postgres connect_timeout=5";
}

}  // namespace

std::uint16_t pick_free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok) throw std::runtime_error("no free loopback port");
  return ntohs(addr.sin_port);
}

bool postgres_server::installed() {
  return !postgres_bin_dir().empty();
}

postgres_server::postgres_server() {
  std::string pattern = (fs::temp_directory_path() / "hc-postgres-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp " + pattern + " failed");
  dir_ = pattern;
  try {
    run_as who = server_user();
    fs::create_directory(dir_ / "socket");
    for (const auto& p : {dir_, dir_ / "socket"})
      if (::chown(p.c_str(), who.uid, who.gid) != 0)
        throw std::runtime_error("chown " + p.string() + " failed");
    pid_t init = spawn({(postgres_bin_dir() / "initdb").string(), "-D", (dir_ / "data").string(), "-A",
                        "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"},
                       dir_, dir_ / "initdb.log");
    auto status = wait_exit(init, initdb_timeout);
    if (!status) stop_process(init, SIGKILL, 5s);
    if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
      throw std::runtime_error("initdb failed: " + tail_of(dir_ / "initdb.log"));
    port_ = pick_free_loopback_port();
    start();
  } catch (...) {
    stop();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
    throw;
  }
}

postgres_server::~postgres_server() {
  stop();
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

void postgres_server::start() {
  if (pid_ > 0) return;
  pid_ = spawn({(postgres_bin_dir() / "postgres").string(), "-D", (dir_ / "data").string(), "-p",
                std::to_string(port_), "-k", (dir_ / "socket").string(), "-c", "listen_addresses=127.0.0.1",
                "-c", "fsync=off", "-c", "full_page_writes=off"},
               dir_, dir_ / "postgres.log");
  auto deadline = std::chrono::steady_clock::now() + start_timeout;
  const std::string conninfo = admin_conninfo(port_);
  while (PQping(conninfo.c_str()) != PQPING_OK) {
    if (wait_exit(pid_, 0s)) {
      pid_ = -1;
      throw std::runtime_error("postgres exited while starting: " + tail_of(dir_ / "postgres.log"));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      stop();
      throw std::runtime_error("postgres did not accept connections within 60 s: " +
                               tail_of(dir_ / "postgres.log"));
    }
    std::this_thread::sleep_for(poll_interval);
  }
}

void postgres_server::stop() {
  if (pid_ <= 0) return;
  stop_process(pid_, SIGINT, stop_timeout);  // SIGINT: fast shutdown, sessions are cut
  pid_ = -1;
}

std::string postgres_server::url(const std::string& database, const std::string& password) const {
  return "postgres://postgres" + (password.empty() ? "" : ":" + password) +
         "@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string postgres_server::create_database() {
  std::string name = "store_test_" + std::to_string(++databases_created_);
  execute("CREATE DATABASE " + name);  // a name made here, not input: no quoting needed
  return name;
}

void postgres_server::execute(const std::string& sql) {
  PGconn* conn = PQconnectdb(admin_conninfo(port_).c_str());
  PGresult* r = PQstatus(conn) == CONNECTION_OK ? PQexec(conn, sql.c_str()) : nullptr;
  auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  std::string error = PQerrorMessage(conn);
  PQclear(r);
  PQfinish(conn);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    throw std::runtime_error("postgres_server: " + sql + ": " + error);
}

void suite_postgres::open() {
  if (!postgres_server::installed()) {
    start_failure = postgres_missing;
    return;
  }
  try {
    server = std::make_unique<postgres_server>();
  } catch (const std::exception& e) {
    start_failure = e.what();
  }
}

}  // namespace hc::test
