// Unit tests for store/sqlite_store: every record type round-trips, puts replace by key, deletes
// cascade (namespace -> hybrid connections and rules; hybrid connection -> its rules), hybrid
// connection names are case-insensitive, the file is 0600 and data survives a reopen. Each test
// works on its own database in a fresh temporary directory.
#include "store/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <random>

namespace hc::store {
namespace {

namespace fs = std::filesystem;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("hc-store-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir_);
    path_ = (dir_ / "hcrelay.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static namespace_record ns(std::string name, std::string host) {
    return {std::move(name), std::move(host), "2026-11-29T09:00:00Z", "2026-11-29T09:00:00Z"};
  }
  static hybrid_connection_record hc(std::string ns_name, std::string name, bool auth = true,
                                     std::string metadata = "") {
    return {std::move(ns_name),  std::move(name),        auth,
            std::move(metadata), "2026-11-29T09:01:00Z", "2026-11-29T09:02:00Z"};
  }
  static rule_record rule(std::string ns_name, std::string entity, std::string name, unsigned rights) {
    return {std::move(ns_name),
            std::move(entity),
            std::move(name),
            rights,
            "pk-" + std::to_string(rights),
            "sk-" + std::to_string(rights)};
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(SqliteStoreTest, EmptyDatabaseLoadsEmptySnapshot) {
  auto s = open_sqlite_store(path_);
  auto snap = s->load();
  EXPECT_TRUE(snap.namespaces.empty());
  EXPECT_TRUE(snap.hybrid_connections.empty());
  EXPECT_TRUE(snap.rules.empty());
}

TEST_F(SqliteStoreTest, RoundTripsEveryRecordType) {
  auto s = open_sqlite_store(path_);
  s->put_namespace(ns("contoso", "contoso.example.com"));
  s->put_hybrid_connection(hc("contoso", "Orders", false, R"([{"key":"endpoint","value":"db:5432"}])"));
  s->put_rule(rule("contoso", "", "RootManageSharedAccessKey", 7));
  s->put_rule(rule("contoso", "Orders", "defaultListener", 1));

  auto snap = s->load();
  ASSERT_EQ(snap.namespaces.size(), 1u);
  EXPECT_EQ(snap.namespaces[0].name, "contoso");
  EXPECT_EQ(snap.namespaces[0].host, "contoso.example.com");
  EXPECT_EQ(snap.namespaces[0].created_at, "2026-11-29T09:00:00Z");
  EXPECT_EQ(snap.namespaces[0].updated_at, "2026-11-29T09:00:00Z");

  ASSERT_EQ(snap.hybrid_connections.size(), 1u);
  const auto& h = snap.hybrid_connections[0];
  EXPECT_EQ(h.namespace_name, "contoso");
  EXPECT_EQ(h.name, "Orders");
  EXPECT_FALSE(h.requires_client_authorization);
  EXPECT_EQ(h.user_metadata, R"([{"key":"endpoint","value":"db:5432"}])");
  EXPECT_EQ(h.created_at, "2026-11-29T09:01:00Z");
  EXPECT_EQ(h.updated_at, "2026-11-29T09:02:00Z");

  ASSERT_EQ(snap.rules.size(), 2u);  // ordered by (namespace, entity, name): "" first
  EXPECT_EQ(snap.rules[0].entity, "");
  EXPECT_EQ(snap.rules[0].name, "RootManageSharedAccessKey");
  EXPECT_EQ(snap.rules[0].rights, 7u);
  EXPECT_EQ(snap.rules[0].primary_key, "pk-7");
  EXPECT_EQ(snap.rules[0].secondary_key, "sk-7");
  EXPECT_EQ(snap.rules[1].namespace_name, "contoso");
  EXPECT_EQ(snap.rules[1].entity, "Orders");
  EXPECT_EQ(snap.rules[1].name, "defaultListener");
  EXPECT_EQ(snap.rules[1].rights, 1u);
}

TEST_F(SqliteStoreTest, PutReplacesByKey) {
  auto s = open_sqlite_store(path_);
  s->put_namespace(ns("contoso", "old.example.com"));
  s->put_hybrid_connection(hc("contoso", "orders", true, "v1"));
  s->put_rule(rule("contoso", "orders", "listen", 1));

  auto changed = ns("contoso", "new.example.com");
  changed.updated_at = "2026-12-01T00:00:00Z";
  s->put_namespace(changed);
  s->put_hybrid_connection(hc("contoso", "orders", false, "v2"));
  auto r = rule("contoso", "orders", "listen", 3);
  r.primary_key = "rotated";
  s->put_rule(r);

  auto snap = s->load();
  ASSERT_EQ(snap.namespaces.size(), 1u);
  EXPECT_EQ(snap.namespaces[0].host, "new.example.com");
  EXPECT_EQ(snap.namespaces[0].updated_at, "2026-12-01T00:00:00Z");
  // Replacing a namespace must not cascade to its children.
  ASSERT_EQ(snap.hybrid_connections.size(), 1u);
  EXPECT_FALSE(snap.hybrid_connections[0].requires_client_authorization);
  EXPECT_EQ(snap.hybrid_connections[0].user_metadata, "v2");
  ASSERT_EQ(snap.rules.size(), 1u);
  EXPECT_EQ(snap.rules[0].rights, 3u);
  EXPECT_EQ(snap.rules[0].primary_key, "rotated");
}

TEST_F(SqliteStoreTest, HostIsUniqueCaseInsensitively) {
  auto s = open_sqlite_store(path_);
  s->put_namespace(ns("a", "relay.example.com"));
  EXPECT_THROW(s->put_namespace(ns("b", "Relay.Example.com")), store_error);
  EXPECT_EQ(s->load().namespaces.size(), 1u);
}

TEST_F(SqliteStoreTest, HybridConnectionNamesAreCaseInsensitive) {
  auto s = open_sqlite_store(path_);
  s->put_namespace(ns("contoso", "contoso.example.com"));
  s->put_hybrid_connection(hc("contoso", "Orders", true, "first"));
  s->put_hybrid_connection(hc("contoso", "ORDERS", true, "second"));
  s->put_rule(rule("contoso", "orders", "send", 2));
  s->put_rule(rule("contoso", "ORDERS", "send", 3));

  auto snap = s->load();
  ASSERT_EQ(snap.hybrid_connections.size(), 1u);
  EXPECT_EQ(snap.hybrid_connections[0].user_metadata, "second");
  ASSERT_EQ(snap.rules.size(), 1u);
  EXPECT_EQ(snap.rules[0].rights, 3u);

  s->delete_hybrid_connection("contoso", "oRdErS");
  snap = s->load();
  EXPECT_TRUE(snap.hybrid_connections.empty());
  EXPECT_TRUE(snap.rules.empty());
}

TEST_F(SqliteStoreTest, DeletingHybridConnectionDeletesOnlyItsRules) {
  auto s = open_sqlite_store(path_);
  s->put_namespace(ns("contoso", "contoso.example.com"));
  s->put_hybrid_connection(hc("contoso", "orders"));
  s->put_hybrid_connection(hc("contoso", "billing"));
  s->put_rule(rule("contoso", "", "RootManageSharedAccessKey", 7));
  s->put_rule(rule("contoso", "orders", "listen", 1));
  s->put_rule(rule("contoso", "billing", "listen", 1));

  s->delete_hybrid_connection("contoso", "orders");

  auto snap = s->load();
  ASSERT_EQ(snap.hybrid_connections.size(), 1u);
  EXPECT_EQ(snap.hybrid_connections[0].name, "billing");
  ASSERT_EQ(snap.rules.size(), 2u);
  EXPECT_EQ(snap.rules[0].entity, "");
  EXPECT_EQ(snap.rules[1].entity, "billing");
}

TEST_F(SqliteStoreTest, DeletingNamespaceCascades) {
  auto s = open_sqlite_store(path_);
  s->put_namespace(ns("contoso", "contoso.example.com"));
  s->put_namespace(ns("fabrikam", "fabrikam.example.com"));
  for (const char* n : {"contoso", "fabrikam"}) {
    s->put_hybrid_connection(hc(n, "orders"));
    s->put_rule(rule(n, "", "root", 7));
    s->put_rule(rule(n, "orders", "listen", 1));
  }

  s->delete_namespace("contoso");

  auto snap = s->load();
  ASSERT_EQ(snap.namespaces.size(), 1u);
  EXPECT_EQ(snap.namespaces[0].name, "fabrikam");
  ASSERT_EQ(snap.hybrid_connections.size(), 1u);
  EXPECT_EQ(snap.hybrid_connections[0].namespace_name, "fabrikam");
  ASSERT_EQ(snap.rules.size(), 2u);
  for (const auto& r : snap.rules) EXPECT_EQ(r.namespace_name, "fabrikam");
}

TEST_F(SqliteStoreTest, DeleteRuleRemovesOneRule) {
  auto s = open_sqlite_store(path_);
  s->put_namespace(ns("contoso", "contoso.example.com"));
  s->put_rule(rule("contoso", "", "a", 1));
  s->put_rule(rule("contoso", "", "b", 2));
  s->delete_rule("contoso", "", "a");
  s->delete_rule("contoso", "", "missing");  // deleting what is absent is not an error
  auto snap = s->load();
  ASSERT_EQ(snap.rules.size(), 1u);
  EXPECT_EQ(snap.rules[0].name, "b");
}

TEST_F(SqliteStoreTest, HybridConnectionInUnknownNamespaceThrowsNamingIt) {
  auto s = open_sqlite_store(path_);
  try {
    s->put_hybrid_connection(hc("nowhere", "orders"));
    FAIL() << "expected store_error";
  } catch (const store_error& e) {
    EXPECT_NE(std::string(e.what()).find("nowhere/orders"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("FOREIGN KEY"), std::string::npos) << e.what();
  }
}

TEST_F(SqliteStoreTest, Settings) {
  auto s = open_sqlite_store(path_);
  EXPECT_EQ(s->get_setting("data_version"), std::nullopt);
  s->put_setting("data_version", "1");
  s->put_setting("data_version", "2");
  EXPECT_EQ(s->get_setting("data_version"), "2");
  EXPECT_EQ(s->get_setting("schema_version"), "2");  // version 2 added App Service plans and apps
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

TEST_F(SqliteStoreTest, ReopenKeepsData) {
  {
    auto s = open_sqlite_store(path_);
    s->put_namespace(ns("contoso", "contoso.example.com"));
    s->put_hybrid_connection(hc("contoso", "orders"));
    s->put_rule(rule("contoso", "orders", "listen", 1));
    s->put_setting("data_version", "42");
  }
  auto s = open_sqlite_store(path_);
  auto snap = s->load();
  EXPECT_EQ(snap.namespaces.size(), 1u);
  EXPECT_EQ(snap.hybrid_connections.size(), 1u);
  EXPECT_EQ(snap.rules.size(), 1u);
  EXPECT_EQ(s->get_setting("data_version"), "42");
  // Foreign keys are per connection: a reopened store must still cascade.
  s->delete_namespace("contoso");
  snap = s->load();
  EXPECT_TRUE(snap.hybrid_connections.empty());
  EXPECT_TRUE(snap.rules.empty());
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

}  // namespace
}  // namespace hc::store
