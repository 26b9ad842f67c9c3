// tests/engines/store_contract: the fixture of the store::store contract suite (StoreContract),
// whose tests are in store_contract_test.cpp (records, case, cascades, refusals, settings,
// reopening) and store_revision_test.cpp (change detection). Each test gets a fresh database:
// SQLite, a file in a fresh temporary directory; PostgreSQL, a new database in the suite's one
// throwaway server (postgres_server.hpp). Not in an anonymous namespace: both files must name
// the same fixture class.
#pragma once
#include "postgres_server.hpp"
#include "store/store.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace hc::store::contract {

namespace fs = std::filesystem;
inline constexpr const char* when = "2026-11-29T09:00:00Z";
inline constexpr const char* later = "2026-12-01T00:00:00Z";

enum class engine { sqlite, postgres };

class StoreContract : public ::testing::TestWithParam<engine> {
 protected:
  static void SetUpTestSuite() { postgres_.open(); }
  static void TearDownTestSuite() { postgres_.close(); }

  void SetUp() override {
    if (GetParam() == engine::sqlite) {
      std::string pattern = (fs::temp_directory_path() / "hc-store-contract-XXXXXX").string();
      ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << pattern;
      dir_ = pattern;
      return;
    }
    ASSERT_TRUE(postgres_.server) << postgres_.start_failure;
    database_ = postgres_.server->create_database();
  }

  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // A new store object on this test's database: another connection, as another node would have.
  std::unique_ptr<store> open() {
    if (GetParam() == engine::sqlite) return open_sqlite_store((dir_ / "relay.db").string());
    return open_postgres_store(postgres_.server->url(database_));
  }

  // Namespace contoso (hybrid connections db and cache, a namespace rule and a rule on db), plan
  // p1 and app web in it, linked to db.
  std::unique_ptr<store> seeded() {
    auto s = open();
    s->put_namespace({"contoso", "contoso.example.com", when, when});
    s->put_hybrid_connection({"contoso", "db", true, "", when, when});
    s->put_hybrid_connection({"contoso", "cache", true, "", when, when});
    s->put_rule({"contoso", "", "RootManageSharedAccessKey", 7, "pk-root", "sk-root"});
    s->put_rule({"contoso", "db", "defaultListener", 1, "pk-db", "sk-db"});
    s->put_plan({"p1", "Basic", when, when});
    s->put_app({"web", "p1", "key-web", when, when});
    s->put_app_link({"web", "contoso", "db", when});
    return s;
  }

  static inline test::suite_postgres postgres_;
  fs::path dir_;          // SQLite: the database's directory
  std::string database_;  // PostgreSQL: this test's database
};

// Throws store_error whose message contains `fragment`.
inline void expect_store_error(const std::function<void()>& call, const std::string& fragment) {
  try {
    call();
    ADD_FAILURE() << "expected store_error mentioning " << fragment;
  } catch (const store_error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace hc::store::contract
