// Engine tests for what only the PostgreSQL store has (the shared contract is
// store_contract_test.cpp): nodes migrating an empty database at the same moment, an older
// schema migrated, nodes adding to the same usage rows at the same moment (and announcing no
// catalog change), a server that goes away and comes back under a live store object, a session the
// server cuts, unreachable and silent servers, and messages that name host:port/db but never the
// password or the URL.
#include "postgres_server.hpp"
#include "store/store.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace hc::store {
namespace {

// A fresh usage batch name for each write (store::add_usage counts a name once).
std::string next_batch() {
  static std::atomic<int> n{0};
  return "test-batch-" + std::to_string(++n);
}

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;
constexpr const char* when = "2026-11-29T09:00:00Z";
constexpr const char* password = "pw-Never-Print-Me";
constexpr std::int64_t hour = 3600;
constexpr std::int64_t h0 = 490113 * hour;  // a clock hour's start: 2025-11-29T09:00:00Z

struct connection_closer {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using connection = std::unique_ptr<PGconn, connection_closer>;

class PostgresStore : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { postgres_.open(); }
  static void TearDownTestSuite() { postgres_.close(); }

  void SetUp() override {
    ASSERT_TRUE(postgres_.server) << postgres_.start_failure;
    server().start();  // a test that stopped it may have failed before starting it again
    database_ = server().create_database();
  }

  test::postgres_server& server() { return *postgres_.server; }
  // This test's database, with a password in the URL (trust authentication ignores it).
  std::string url() { return server().url(database_, password); }
  std::string where() { return "127.0.0.1:" + std::to_string(server().port()) + "/" + database_; }

  // A plain libpq session on this test's database, as another program would have.
  connection connect() {
    connection c(PQconnectdb(url().c_str()));
    EXPECT_EQ(PQstatus(c.get()), CONNECTION_OK) << PQerrorMessage(c.get());
    return c;
  }

  // Runs `sql` in this test's database (e.g. to leave it as an older release would have).
  void execute(PGconn* c, const std::string& sql) {
    PGresult* r = PQexec(c, sql.c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << sql << ": " << PQerrorMessage(c);
    PQclear(r);
  }

  // `call` throws store_error within `limit`, naming the server and neither the password nor the URL.
  void expect_unreachable(const std::function<void()>& call, const std::string& server_name,
                          clock::duration limit = 8s) {
    auto start = clock::now();
    try {
      call();
      ADD_FAILURE() << "expected store_error";
    } catch (const store_error& e) {
      std::string message = e.what();
      EXPECT_NE(message.find("cannot reach PostgreSQL at " + server_name), std::string::npos) << message;
      EXPECT_EQ(message.find(password), std::string::npos) << message;
      EXPECT_EQ(message.find("postgres://"), std::string::npos) << message;
    }
    EXPECT_LT(clock::now() - start, limit);
  }

  static inline test::suite_postgres postgres_;
  std::string database_;
};

TEST_F(PostgresStore, NodesOpeningAnEmptyDatabaseTogetherAllMigrate) {
  constexpr int nodes = 4;
  std::vector<std::unique_ptr<store>> stores(nodes);
  std::vector<std::string> failures(nodes);
  std::vector<std::thread> threads;
  for (int i = 0; i < nodes; ++i)
    threads.emplace_back([&, i] {
      try {
        stores[i] = open_postgres_store(url());
      } catch (const std::exception& e) {
        failures[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < nodes; ++i) ASSERT_TRUE(stores[i]) << "node " << i << ": " << failures[i];

  stores[0]->put_namespace({"contoso", "contoso.example.com", when, when});
  for (const auto& s : stores) {
    EXPECT_EQ(s->get_setting("schema_version"), "3");
    EXPECT_EQ(s->load().namespaces.size(), 1u);
  }
}

TEST_F(PostgresStore, VersionOneDatabaseGainsUsageKeepingItsData) {
  open_postgres_store(url())->put_namespace({"contoso", "contoso.example.com", when, when});
  execute(connect().get(),
          "DROP TABLE usage_batches; DROP TABLE usage_hourly; UPDATE settings SET value = '1' WHERE key = "
          "'schema_version'");
  auto s = open_postgres_store(url());
  EXPECT_EQ(s->get_setting("schema_version"), "3");
  EXPECT_EQ(s->load().namespaces.size(), 1u);
  s->add_usage(next_batch(), {{"contoso", "db", h0, 1, 1, 1, 1, 1}});
  EXPECT_EQ(s->usage(h0, h0 + hour), (std::vector<usage_record>{{"contoso", "db", h0, 1, 1, 1, 1, 1}}));
}

// Two nodes, each adding to the same two rows in opposite orders: no amount is lost to a race and
// no transaction is lost to a deadlock.
TEST_F(PostgresStore, NodesAddingToTheSameUsageRowsTogetherLoseNothing) {
  constexpr int adds = 200;
  constexpr std::int64_t bytes = (std::int64_t{1} << 33) + 1;
  const usage_record db{"contoso", "db", h0, 0.5, 1, 0.25, bytes, 1};
  const usage_record cache{"contoso", "cache", h0, 1.5, 2, 0.75, 1, bytes};
  const std::vector<std::vector<usage_record>> batches = {{db, cache}, {cache, db}};
  std::vector<std::unique_ptr<store>> nodes;
  for (std::size_t i = 0; i < batches.size(); ++i) nodes.push_back(open_postgres_store(url()));
  std::vector<std::string> failures(nodes.size());
  std::latch start(static_cast<std::ptrdiff_t>(nodes.size()));
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < nodes.size(); ++i)
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      try {
        for (int n = 0; n < adds; ++n) nodes[i]->add_usage(next_batch(), batches[i]);
      } catch (const std::exception& e) {
        failures[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < nodes.size(); ++i) EXPECT_EQ(failures[i], "") << "node " << i;

  constexpr int total = 2 * adds;
  EXPECT_EQ(nodes[0]->usage(h0, h0 + hour),
            (std::vector<usage_record>{
                {"contoso", "cache", h0, 1.5 * total, 2 * total, 0.75 * total, total, bytes * total},
                {"contoso", "db", h0, 0.5 * total, total, 0.25 * total, bytes * total, total}}));
}

// Notifications arrive in commit order: if adding usage sent one, it would come before the one
// of the catalog write that follows it.
TEST_F(PostgresStore, AddingUsageAnnouncesNoCatalogChange) {
  auto s = open_postgres_store(url());
  connection listener = connect();
  execute(listener.get(), "LISTEN hcrelay_catalog");
  s->add_usage(next_batch(), {{"contoso", "db", h0, 1, 1, 1, 1, 1}});
  s->put_setting("data_version", "1");

  pollfd ready{PQsocket(listener.get()), POLLIN, 0};
  PGnotify* first = nullptr;
  while (!first && ::poll(&ready, 1, 5000) == 1 && PQconsumeInput(listener.get()) == 1)
    first = PQnotifies(listener.get());
  ASSERT_NE(first, nullptr) << "no notification within 5 s";
  EXPECT_EQ(std::string(first->extra), std::to_string(s->revision()));
  PQfreemem(first);
}

TEST_F(PostgresStore, ServerGoneFailsCallsNamingItAndServerBackServesTheSameStore) {
  auto s = open_postgres_store(url());
  s->put_namespace({"contoso", "contoso.example.com", when, when});
  std::int64_t revision = s->revision();

  server().stop();
  expect_unreachable([&] { s->revision(); }, where());
  expect_unreachable([&] { s->load(); }, where());
  expect_unreachable([&] { s->put_namespace({"fabrikam", "fabrikam.example.com", when, when}); }, where());
  expect_unreachable([&] { s->get_setting("schema_version"); }, where());
  expect_unreachable([&] { open_postgres_store(url()); }, where());

  server().start();
  EXPECT_EQ(s->revision(), revision);
  s->put_namespace({"fabrikam", "fabrikam.example.com", when, when});
  auto snap = s->load();
  EXPECT_EQ(snap.namespaces.size(), 2u);
  EXPECT_GT(snap.revision, revision);
}

TEST_F(PostgresStore, RestartBetweenTwoCallsIsInvisible) {
  auto s = open_postgres_store(url());
  s->put_namespace({"contoso", "contoso.example.com", when, when});
  server().stop();
  server().start();
  // The session died with the old server; the call finds out, reconnects once and goes on.
  s->put_namespace({"fabrikam", "fabrikam.example.com", when, when});
  EXPECT_EQ(s->load().namespaces.size(), 2u);
}

TEST_F(PostgresStore, SessionCutByTheServerIsReplacedWithinTheCall) {
  auto s = open_postgres_store(url());
  std::int64_t revision = s->revision();
  server().execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + database_ +
                   "'");
  s->put_namespace({"contoso", "contoso.example.com", when, when});
  EXPECT_GT(s->revision(), revision);
}

TEST_F(PostgresStore, UnreachablePortFailsOpenQuickly) {
  auto port = test::pick_free_loopback_port();
  expect_unreachable(
      [&] {
        open_postgres_store("postgres://postgres:" + std::string(password) +
                            "@127.0.0.1:" + std::to_string(port) + "/catalog");
      },
      "127.0.0.1:" + std::to_string(port) + "/catalog", 5s);
}

TEST_F(PostgresStore, SilentServerFailsOpenAfterTheConnectTimeout) {
  // A socket that completes TCP handshakes (the kernel does) but never says anything.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  auto port = std::to_string(ntohs(addr.sin_port));
  expect_unreachable(
      [&] {
        open_postgres_store("postgres://postgres:" + std::string(password) + "@127.0.0.1:" + port +
                            "/catalog");
      },
      "127.0.0.1:" + port + "/catalog", 10s);
  ::close(fd);
}

TEST_F(PostgresStore, MalformedUrlIsRefusedWithoutRepeatingIt) {
  try {
    open_postgres_store("postgres://postgres:" + std::string(password) + "@[::1:5432/catalog");
    FAIL() << "expected store_error";
  } catch (const store_error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("not a libpq connection URI"), std::string::npos) << message;
    EXPECT_EQ(message.find(password), std::string::npos) << message;
  }
}

TEST_F(PostgresStore, NewerSchemaVersionIsRefused) {
  open_postgres_store(url())->put_setting("schema_version", "999");
  try {
    open_postgres_store(url());
    FAIL() << "expected store_error";
  } catch (const store_error& e) {
    EXPECT_NE(std::string(e.what()).find("newer than this build"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hc::store
