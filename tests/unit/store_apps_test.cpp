// Unit tests for the App Service part of store/sqlite_store (schema version 2): plans, apps and
// app links round-trip; a link goes with its app and with its hybrid connection (and its
// namespace); re-putting a linked hybrid connection keeps the link; a plan with apps cannot be
// deleted; a version-1 database migrates and keeps its data. Each test has its own database.
#include "store/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <random>

namespace hc::store {
namespace {

namespace fs = std::filesystem;
constexpr const char* when = "2026-11-29T09:00:00Z";

class SqliteAppsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("hc-store-apps-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir_);
    path_ = (dir_ / "relay.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Namespace "contoso" with hybrid connections db and cache, plan "p1" and app "web" using db.
  std::unique_ptr<store> seeded() {
    auto s = open_sqlite_store(path_);
    s->put_namespace({"contoso", "contoso.example.com", when, when});
    s->put_hybrid_connection({"contoso", "db", true, "", when, when});
    s->put_hybrid_connection({"contoso", "cache", true, "", when, when});
    s->put_plan({"p1", "Basic", when, when});
    s->put_app({"web", "p1", "key-1", when, when});
    s->put_app_link({"web", "contoso", "db", when});
    return s;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(SqliteAppsTest, PlansAppsAndLinksRoundTrip) {
  auto s = seeded();
  auto snap = s->load();
  ASSERT_EQ(snap.plans.size(), 1u);
  EXPECT_EQ(snap.plans[0].name, "p1");
  EXPECT_EQ(snap.plans[0].sku, "Basic");
  ASSERT_EQ(snap.apps.size(), 1u);
  EXPECT_EQ(snap.apps[0].plan, "p1");
  EXPECT_EQ(snap.apps[0].send_key, "key-1");
  ASSERT_EQ(snap.app_links.size(), 1u);
  EXPECT_EQ(snap.app_links[0].app, "web");
  EXPECT_EQ(snap.app_links[0].hc_name, "db");
}

TEST_F(SqliteAppsTest, PutPlanUpdatesSkuAndKeepsCreatedAt) {
  auto s = seeded();
  s->put_plan({"p1", "Standard", "2030-01-01T00:00:00Z", "2026-12-01T00:00:00Z"});
  auto snap = s->load();
  ASSERT_EQ(snap.plans.size(), 1u);
  EXPECT_EQ(snap.plans[0].sku, "Standard");
  EXPECT_EQ(snap.plans[0].created_at, when);
  EXPECT_EQ(snap.plans[0].updated_at, "2026-12-01T00:00:00Z");
}

TEST_F(SqliteAppsTest, LinkGoesWithItsHybridConnection) {
  auto s = seeded();
  s->delete_hybrid_connection("contoso", "db");
  EXPECT_TRUE(s->load().app_links.empty());
}

TEST_F(SqliteAppsTest, LinkGoesWithItsNamespace) {
  auto s = seeded();
  s->delete_namespace("contoso");
  auto snap = s->load();
  EXPECT_TRUE(snap.app_links.empty());
  EXPECT_EQ(snap.apps.size(), 1u);
}

TEST_F(SqliteAppsTest, LinkGoesWithItsApp) {
  auto s = seeded();
  s->delete_app("web");
  auto snap = s->load();
  EXPECT_TRUE(snap.app_links.empty());
  EXPECT_TRUE(snap.apps.empty());
  EXPECT_EQ(snap.hybrid_connections.size(), 2u);
}

TEST_F(SqliteAppsTest, UpdatingALinkedHybridConnectionKeepsTheLink) {
  auto s = seeded();
  s->put_hybrid_connection({"contoso", "db", false, "[]", when, "2026-12-01T00:00:00Z"});
  EXPECT_EQ(s->load().app_links.size(), 1u);
}

TEST_F(SqliteAppsTest, DisconnectDeletesOnlyThatLink) {
  auto s = seeded();
  s->put_app_link({"web", "contoso", "cache", when});
  s->delete_app_link("web", "contoso", "db");
  auto snap = s->load();
  ASSERT_EQ(snap.app_links.size(), 1u);
  EXPECT_EQ(snap.app_links[0].hc_name, "cache");
}

TEST_F(SqliteAppsTest, LinkToUnknownHybridConnectionIsRefused) {
  auto s = seeded();
  EXPECT_THROW(s->put_app_link({"web", "contoso", "nope", when}), store_error);
}

TEST_F(SqliteAppsTest, PlanWithAppsCannotBeDeleted) {
  auto s = seeded();
  EXPECT_THROW(s->delete_plan("p1"), store_error);
  s->delete_app("web");
  s->delete_plan("p1");
  EXPECT_TRUE(s->load().plans.empty());
}

TEST_F(SqliteAppsTest, VersionOneDatabaseMigratesKeepingItsData) {
  {
    auto s = open_sqlite_store(path_);
    s->put_namespace({"contoso", "contoso.example.com", when, when});
  }
  {
    // Pretend the file was written by a release that knew only schema version 1.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "DROP TABLE app_links; DROP TABLE apps; DROP TABLE plans; "
                           "UPDATE settings SET value = '1' WHERE key = 'schema_version'",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = open_sqlite_store(path_);
  EXPECT_EQ(s->get_setting("schema_version"), "2");
  s->put_plan({"p1", "Free", when, when});
  auto snap = s->load();
  EXPECT_EQ(snap.namespaces.size(), 1u);
  EXPECT_EQ(snap.plans.size(), 1u);
}

}  // namespace
}  // namespace hc::store
