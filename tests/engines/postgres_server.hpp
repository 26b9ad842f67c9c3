// tests/engines/postgres_server: a throwaway PostgreSQL cluster for the engine tests. initdb in
// a fresh temporary directory, the server run as the postgres user (the tests run as root;
// otherwise as themselves) on a free loopback port with trust authentication and its Unix socket
// inside that directory; stop() and start() again on the same data and port (restart tests);
// fresh databases on demand. The destructor stops the server and removes the directory; if the
// test process dies instead, the server gets SIGQUIT (PR_SET_PDEATHSIG). Every wait is bounded.
// Used from the test's main thread only.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace hc::test {

class postgres_server {
 public:
  // Whether PostgreSQL's server programs are installed (postgres_install.hpp).
  static bool installed();

  // initdb and start; throws std::runtime_error (with the end of the server's log) on failure.
  postgres_server();
  ~postgres_server();
  postgres_server(const postgres_server&) = delete;
  postgres_server& operator=(const postgres_server&) = delete;

  // Fast shutdown (sessions are cut), waiting for the server to exit. Idempotent.
  void stop();
  // Starts again on the same data directory and port; returns once it accepts connections.
  void start();

  std::uint16_t port() const { return port_; }
  // postgres://postgres[:password]@127.0.0.1:PORT/database. Trust authentication accepts any
  // password: tests use one to check that no message repeats it.
  std::string url(const std::string& database, const std::string& password = "") const;
  // A new, empty database (a cheap copy of template1); returns its name.
  std::string create_database();
  // Runs `sql` as the superuser in the postgres database; throws std::runtime_error on failure.
  void execute(const std::string& sql);

 private:
  std::filesystem::path dir_;  // removed by the destructor
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;  // the postmaster while running, else -1
  int databases_created_ = 0;
};

// A loopback port nothing listens on at the moment of the call.
std::uint16_t pick_free_loopback_port();

// One server shared by the tests of a suite: open() in SetUpTestSuite, close() in
// TearDownTestSuite. A start-up failure is kept, not thrown, so that each test can report it
// (`ASSERT_TRUE(suite.server) << suite.start_failure`).
struct suite_postgres {
  std::unique_ptr<postgres_server> server;
  std::string start_failure;  // why server is null (not installed, or it did not start)
  void open();
  void close() { server.reset(); }
};

}  // namespace hc::test
