// Unit tests for what only store/sqlite_store has: the file (created 0600, a loose one tightened,
// WAL mode, an unopenable path named), SQLite's own error text, and the schema versions: the
// current one, a newer one refused, older files migrated keeping their data (and gaining the
// revision, the usage rows). What every store must do (records, cascades, case, settings,
// revision, usage) is the contract in tests/engines/store_contract_test.cpp, run against SQLite
// too. Each test has its own database.
#include "store/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <random>
#include <vector>

namespace hc::store {
namespace {

// A fresh usage batch name for each write (store::add_usage counts a name once).
std::string next_batch() {
  static std::atomic<int> n{0};
  return "test-batch-" + std::to_string(++n);
}

namespace fs = std::filesystem;
constexpr const char* when = "2026-11-29T09:00:00Z";

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("hc-store-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir_);
    path_ = (dir_ / "hcrelay.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `sql` on the file directly, as an older release would have left it.
  void rewrite(const char* sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(SqliteStoreTest, HybridConnectionInUnknownNamespaceThrowsNamingIt) {
  auto s = open_sqlite_store(path_);
  try {
    s->put_hybrid_connection({"nowhere", "orders", true, "", when, when});
    FAIL() << "expected store_error";
  } catch (const store_error& e) {
    EXPECT_NE(std::string(e.what()).find("nowhere/orders"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("FOREIGN KEY"), std::string::npos) << e.what();
  }
}

TEST_F(SqliteStoreTest, SchemaVersionIsFour) {
  auto s = open_sqlite_store(path_);
  // 2 added App Service plans and apps, 3 the catalog revision, 4 the usage rows.
  EXPECT_EQ(s->get_setting("schema_version"), "5");
}

TEST_F(SqliteStoreTest, FileIsCreatedWithMode0600) {
  auto s = open_sqlite_store(path_);
  s->put_setting("k", "v");  // make sure the WAL exists
  for (const std::string suffix : {"", "-wal", "-shm"}) {
    struct stat st {};
    if (suffix != "" && ::stat((path_ + suffix).c_str(), &st) != 0) continue;
    ASSERT_EQ(::stat((path_ + suffix).c_str(), &st), 0) << path_ + suffix;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << path_ + suffix;
  }
}

TEST_F(SqliteStoreTest, ExistingLooseFileIsTightened) {
  { open_sqlite_store(path_); }
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  auto s = open_sqlite_store(path_);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(SqliteStoreTest, UsesWalMode) {
  { open_sqlite_store(path_); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, NewerSchemaVersionIsRefused) {
  {
    auto s = open_sqlite_store(path_);
    s->put_setting("schema_version", "999");
  }
  EXPECT_THROW(open_sqlite_store(path_), store_error);
}

TEST_F(SqliteStoreTest, UnopenablePathThrowsNamingIt) {
  std::string bad = (dir_ / "no-such-dir" / "x.db").string();
  try {
    open_sqlite_store(bad);
    FAIL() << "expected store_error";
  } catch (const store_error& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
}

TEST_F(SqliteStoreTest, VersionOneDatabaseMigratesKeepingItsData) {
  { open_sqlite_store(path_)->put_namespace({"contoso", "contoso.example.com", when, when}); }
  // Pretend the file was written by a release that knew only schema version 1.
  rewrite(
      "DROP TABLE usage_batches; DROP TABLE usage_hourly; DROP TABLE catalog_revision; DROP TABLE app_links; "
      "DROP TABLE apps; "
      "DROP TABLE plans; UPDATE settings SET value = '1' WHERE key = 'schema_version'");
  auto s = open_sqlite_store(path_);
  EXPECT_EQ(s->get_setting("schema_version"), "5");
  s->put_plan({"p1", "Free", when, when});
  auto snap = s->load();
  EXPECT_EQ(snap.namespaces.size(), 1u);
  EXPECT_EQ(snap.plans.size(), 1u);
}

TEST_F(SqliteStoreTest, VersionTwoDatabaseGainsTheRevision) {
  { open_sqlite_store(path_)->put_namespace({"contoso", "contoso.example.com", when, when}); }
  rewrite(
      "DROP TABLE usage_batches; DROP TABLE usage_hourly; DROP TABLE catalog_revision; "
      "UPDATE settings SET value = '2' WHERE key = 'schema_version'");
  auto s = open_sqlite_store(path_);
  EXPECT_EQ(s->revision(), 0);
  s->delete_namespace("contoso");
  EXPECT_EQ(s->revision(), 1);
  EXPECT_TRUE(s->load().namespaces.empty());
}

TEST_F(SqliteStoreTest, VersionThreeDatabaseGainsUsageKeepingItsData) {
  { open_sqlite_store(path_)->put_namespace({"contoso", "contoso.example.com", when, when}); }
  rewrite(
      "DROP TABLE usage_batches; DROP TABLE usage_hourly; UPDATE settings SET value = '3' WHERE key = "
      "'schema_version'");
  auto s = open_sqlite_store(path_);
  EXPECT_EQ(s->get_setting("schema_version"), "5");
  EXPECT_EQ(s->load().namespaces.size(), 1u);
  constexpr std::int64_t hour = 1764406800;  // 2025-11-29T09:00:00Z
  s->add_usage(next_batch(), {{"contoso", "db", hour, 1, 1, 1, 1, 1}});
  EXPECT_EQ(s->usage(hour, hour + 3600), (std::vector<usage_record>{{"contoso", "db", hour, 1, 1, 1, 1, 1}}));
}

}  // namespace
}  // namespace hc::store
