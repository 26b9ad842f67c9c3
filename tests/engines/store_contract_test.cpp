// Engine tests: the store::store contract (store/store.hpp), one suite run against every
// implementation (the fixture: store_contract.hpp): every operation, puts replacing by key,
// case-insensitive names, cascades, refusals, settings, reopening, and the usage rows (summed per
// hour, read by range, pruned, kept apart from the catalog). The revision's part of the contract
// is in store_revision_test.cpp.
#include "store_contract.hpp"

#include <atomic>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace hc::store::contract {
namespace {

// A fresh usage batch name for each write (store::add_usage counts a name once).
std::string next_batch() {
  static std::atomic<int> n{0};
  return "test-batch-" + std::to_string(++n);
}

INSTANTIATE_TEST_SUITE_P(Engines, StoreContract, ::testing::Values(engine::sqlite, engine::postgres),
                         [](const auto& info) {
                           return info.param == engine::sqlite ? "sqlite" : "postgres";
                         });

TEST_P(StoreContract, FreshDatabaseIsEmptyAtRevisionZero) {
  auto s = open();
  auto snap = s->load();
  EXPECT_TRUE(snap.namespaces.empty());
  EXPECT_TRUE(snap.hybrid_connections.empty());
  EXPECT_TRUE(snap.rules.empty());
  EXPECT_TRUE(snap.plans.empty());
  EXPECT_TRUE(snap.apps.empty());
  EXPECT_TRUE(snap.app_links.empty());
  EXPECT_EQ(snap.revision, 0);
  EXPECT_EQ(s->revision(), 0);
}

TEST_P(StoreContract, RoundTripsEveryRecordType) {
  auto s = open();
  s->put_namespace({"contoso", "contoso.example.com", when, later});
  s->put_hybrid_connection(
      {"contoso", "Orders", false, R"([{"key":"endpoint","value":"db:5432"}])", when, later});
  s->put_rule({"contoso", "", "RootManageSharedAccessKey", 7, "pk-7", "sk-7"});
  s->put_rule({"contoso", "Orders", "defaultListener", 1, "pk-1", "sk-1"});
  s->put_plan({"p1", "Premium", when, later});
  s->put_app({"web", "p1", "key-web", when, later});
  s->put_app_link({"web", "contoso", "Orders", when});

  auto snap = s->load();
  ASSERT_EQ(snap.namespaces.size(), 1u);
  const auto& n = snap.namespaces[0];
  EXPECT_EQ(n.name, "contoso");
  EXPECT_EQ(n.host, "contoso.example.com");
  EXPECT_EQ(n.created_at, when);
  EXPECT_EQ(n.updated_at, later);
  ASSERT_EQ(snap.hybrid_connections.size(), 1u);
  const auto& h = snap.hybrid_connections[0];
  EXPECT_EQ(h.namespace_name, "contoso");
  EXPECT_EQ(h.name, "Orders");
  EXPECT_FALSE(h.requires_client_authorization);
  EXPECT_EQ(h.user_metadata, R"([{"key":"endpoint","value":"db:5432"}])");
  EXPECT_EQ(h.created_at, when);
  EXPECT_EQ(h.updated_at, later);
  // Ordered by (namespace, entity, name): the namespace rule ("") first.
  EXPECT_EQ(snap.rules,
            (std::vector<rule_record>{{"contoso", "", "RootManageSharedAccessKey", 7, "pk-7", "sk-7"},
                                      {"contoso", "Orders", "defaultListener", 1, "pk-1", "sk-1"}}));
  ASSERT_EQ(snap.plans.size(), 1u);
  EXPECT_EQ(snap.plans[0].name, "p1");
  EXPECT_EQ(snap.plans[0].sku, "Premium");
  EXPECT_EQ(snap.plans[0].created_at, when);
  EXPECT_EQ(snap.plans[0].updated_at, later);
  ASSERT_EQ(snap.apps.size(), 1u);
  const auto& a = snap.apps[0];
  EXPECT_EQ(a.name, "web");
  EXPECT_EQ(a.plan, "p1");
  EXPECT_EQ(a.send_key, "key-web");
  EXPECT_EQ(a.created_at, when);
  EXPECT_EQ(a.updated_at, later);
  ASSERT_EQ(snap.app_links.size(), 1u);
  const auto& l = snap.app_links[0];
  EXPECT_EQ(l.app, "web");
  EXPECT_EQ(l.namespace_name, "contoso");
  EXPECT_EQ(l.hc_name, "Orders");
  EXPECT_EQ(l.created_at, when);
}

TEST_P(StoreContract, PutReplacesByKey) {
  auto s = seeded();
  s->put_namespace({"contoso", "new.example.com", later, later});
  s->put_hybrid_connection({"contoso", "db", false, "v2", later, later});
  s->put_rule({"contoso", "db", "defaultListener", 3, "rotated", "sk-2"});
  s->put_plan({"p1", "Standard", "2030-01-01T00:00:00Z", later});
  s->put_app({"web", "p1", "key-2", "2030-01-01T00:00:00Z", later});
  s->put_app_link({"web", "contoso", "db", later});

  auto snap = s->load();
  ASSERT_EQ(snap.namespaces.size(), 1u);
  EXPECT_EQ(snap.namespaces[0].host, "new.example.com");
  EXPECT_EQ(snap.namespaces[0].updated_at, later);
  // Replacing a namespace or a hybrid connection must not cascade to their children.
  ASSERT_EQ(snap.hybrid_connections.size(), 2u);
  EXPECT_EQ(snap.rules.size(), 2u);
  ASSERT_EQ(snap.app_links.size(), 1u);
  EXPECT_EQ(snap.app_links[0].created_at, when);  // a link is put once; putting it again keeps it
  const auto& db = snap.hybrid_connections[1];    // ordered by name: cache, db
  EXPECT_EQ(db.name, "db");
  EXPECT_FALSE(db.requires_client_authorization);
  EXPECT_EQ(db.user_metadata, "v2");
  EXPECT_EQ(snap.rules[1], (rule_record{"contoso", "db", "defaultListener", 3, "rotated", "sk-2"}));
  // Plans and apps keep their created_at.
  ASSERT_EQ(snap.plans.size(), 1u);
  EXPECT_EQ(snap.plans[0].sku, "Standard");
  EXPECT_EQ(snap.plans[0].created_at, when);
  EXPECT_EQ(snap.plans[0].updated_at, later);
  ASSERT_EQ(snap.apps.size(), 1u);
  EXPECT_EQ(snap.apps[0].send_key, "key-2");
  EXPECT_EQ(snap.apps[0].created_at, when);
  EXPECT_EQ(snap.apps[0].updated_at, later);
}

TEST_P(StoreContract, HostIsStoredLowerCaseAndUniqueCaseInsensitively) {
  auto s = open();
  s->put_namespace({"a", "Relay.Example.COM", when, when});
  EXPECT_EQ(s->load().namespaces.at(0).host, "relay.example.com");
  expect_store_error([&] { s->put_namespace({"b", "RELAY.example.com", when, when}); }, "put namespace b");
  s->put_namespace({"a", "relay.EXAMPLE.com", when, later});  // its own host, in another case
  auto snap = s->load();
  ASSERT_EQ(snap.namespaces.size(), 1u);
  EXPECT_EQ(snap.namespaces[0].updated_at, later);
}

TEST_P(StoreContract, HybridConnectionNamesAreCaseInsensitive) {
  auto s = seeded();
  s->put_hybrid_connection({"contoso", "DB", true, "second", when, when});
  s->put_rule({"contoso", "Db", "defaultListener", 3, "pk", "sk"});
  s->put_app_link({"web", "contoso", "dB", when});

  auto snap = s->load();
  ASSERT_EQ(snap.hybrid_connections.size(), 2u);
  EXPECT_EQ(snap.hybrid_connections[1].name, "DB");  // the latest put's case
  EXPECT_EQ(snap.hybrid_connections[1].user_metadata, "second");
  ASSERT_EQ(snap.rules.size(), 2u);
  EXPECT_EQ(snap.rules[1].entity, "Db");
  EXPECT_EQ(snap.rules[1].rights, 3u);
  EXPECT_EQ(snap.app_links.size(), 1u);

  s->delete_hybrid_connection("contoso", "db");
  snap = s->load();
  ASSERT_EQ(snap.hybrid_connections.size(), 1u);
  EXPECT_EQ(snap.rules.size(), 1u);  // the namespace rule
  EXPECT_TRUE(snap.app_links.empty());
}

TEST_P(StoreContract, PlanAndAppNamesAreCaseInsensitive) {
  auto s = open();
  s->put_plan({"Basic-Plan", "Basic", when, when});
  s->put_plan({"BASIC-PLAN", "Standard", when, later});
  s->put_app({"Web", "basic-plan", "k1", when, when});  // the plan, named in another case
  s->put_app({"WEB", "Basic-Plan", "k2", when, later});

  auto snap = s->load();
  ASSERT_EQ(snap.plans.size(), 1u);
  EXPECT_EQ(snap.plans[0].name, "Basic-Plan");  // a plan keeps the name it was created with
  EXPECT_EQ(snap.plans[0].sku, "Standard");
  ASSERT_EQ(snap.apps.size(), 1u);
  EXPECT_EQ(snap.apps[0].name, "Web");
  EXPECT_EQ(snap.apps[0].send_key, "k2");

  expect_store_error([&] { s->delete_plan("basic-plan"); }, "delete plan basic-plan");
  s->delete_app("wEB");
  s->delete_plan("basic-PLAN");
  snap = s->load();
  EXPECT_TRUE(snap.apps.empty());
  EXPECT_TRUE(snap.plans.empty());
}

TEST_P(StoreContract, DeletingHybridConnectionDeletesOnlyItsRulesAndLinks) {
  auto s = seeded();
  s->put_rule({"contoso", "cache", "defaultListener", 1, "pk-cache", "sk-cache"});
  s->put_app_link({"web", "contoso", "cache", when});

  s->delete_hybrid_connection("contoso", "db");

  auto snap = s->load();
  ASSERT_EQ(snap.hybrid_connections.size(), 1u);
  EXPECT_EQ(snap.hybrid_connections[0].name, "cache");
  ASSERT_EQ(snap.rules.size(), 2u);
  EXPECT_EQ(snap.rules[0].entity, "");
  EXPECT_EQ(snap.rules[1].entity, "cache");
  ASSERT_EQ(snap.app_links.size(), 1u);
  EXPECT_EQ(snap.app_links[0].hc_name, "cache");
  EXPECT_EQ(snap.apps.size(), 1u);
}

TEST_P(StoreContract, DeletingNamespaceDeletesEverythingInIt) {
  auto s = seeded();
  s->put_namespace({"fabrikam", "fabrikam.example.com", when, when});
  s->put_hybrid_connection({"fabrikam", "db", true, "", when, when});
  s->put_rule({"fabrikam", "", "root", 7, "pk", "sk"});
  s->put_rule({"fabrikam", "db", "listen", 1, "pk", "sk"});
  s->put_app_link({"web", "fabrikam", "db", when});

  s->delete_namespace("contoso");

  auto snap = s->load();
  ASSERT_EQ(snap.namespaces.size(), 1u);
  EXPECT_EQ(snap.namespaces[0].name, "fabrikam");
  ASSERT_EQ(snap.hybrid_connections.size(), 1u);
  EXPECT_EQ(snap.hybrid_connections[0].namespace_name, "fabrikam");
  ASSERT_EQ(snap.rules.size(), 2u);
  for (const auto& r : snap.rules) EXPECT_EQ(r.namespace_name, "fabrikam");
  ASSERT_EQ(snap.app_links.size(), 1u);
  EXPECT_EQ(snap.app_links[0].namespace_name, "fabrikam");
  EXPECT_EQ(snap.apps.size(), 1u);  // apps and plans are not in a namespace
  EXPECT_EQ(snap.plans.size(), 1u);
}

TEST_P(StoreContract, DeletingAppDeletesItsLinks) {
  auto s = seeded();
  s->put_app({"api", "p1", "key-api", when, when});
  s->put_app_link({"api", "contoso", "db", when});

  s->delete_app("web");

  auto snap = s->load();
  ASSERT_EQ(snap.apps.size(), 1u);
  EXPECT_EQ(snap.apps[0].name, "api");
  ASSERT_EQ(snap.app_links.size(), 1u);
  EXPECT_EQ(snap.app_links[0].app, "api");
  EXPECT_EQ(snap.hybrid_connections.size(), 2u);
}

TEST_P(StoreContract, PlanWithAppsCannotBeDeleted) {
  auto s = seeded();
  expect_store_error([&] { s->delete_plan("p1"); }, "delete plan p1");
  EXPECT_EQ(s->load().plans.size(), 1u);
  s->delete_app("web");
  s->delete_plan("p1");
  EXPECT_TRUE(s->load().plans.empty());
}

TEST_P(StoreContract, ReferencesToAbsentRecordsAreRefused) {
  auto s = seeded();
  expect_store_error(
      [&] {
        s->put_hybrid_connection({"nowhere", "orders", true, "", when, when});
      },
      "nowhere/orders");
  expect_store_error([&] { s->put_rule({"nowhere", "", "root", 7, "pk", "sk"}); }, "nowhere//root");
  expect_store_error([&] { s->put_app({"api", "no-plan", "k", when, when}); }, "put app api");
  expect_store_error([&] { s->put_app_link({"web", "contoso", "nope", when}); }, "web -> contoso/nope");
  expect_store_error([&] { s->put_app_link({"nobody", "contoso", "db", when}); }, "nobody -> contoso/db");
  auto snap = s->load();
  EXPECT_EQ(snap.hybrid_connections.size(), 2u);
  EXPECT_EQ(snap.rules.size(), 2u);
  EXPECT_EQ(snap.apps.size(), 1u);
  EXPECT_EQ(snap.app_links.size(), 1u);
}

TEST_P(StoreContract, DeletesRemoveOneRecordAndAbsenceIsNoError) {
  auto s = seeded();
  s->put_rule({"contoso", "", "second", 2, "pk", "sk"});
  s->put_app_link({"web", "contoso", "cache", when});
  s->delete_rule("contoso", "", "second");
  s->delete_app_link("web", "contoso", "cache");
  s->delete_rule("contoso", "", "missing");
  s->delete_app_link("web", "contoso", "missing");
  s->delete_hybrid_connection("contoso", "missing");
  s->delete_app("missing");
  s->delete_plan("missing");
  s->delete_namespace("missing");
  auto snap = s->load();
  EXPECT_EQ(snap.rules.size(), 2u);
  ASSERT_EQ(snap.app_links.size(), 1u);
  EXPECT_EQ(snap.app_links[0].hc_name, "db");
}

TEST_P(StoreContract, DeletingHybridConnectionWithoutNameIsRefused) {
  auto s = seeded();
  expect_store_error([&] { s->delete_hybrid_connection("contoso", ""); }, "empty name");
  EXPECT_EQ(s->load().rules.size(), 2u);  // the namespace rule (entity "") is still there
}

TEST_P(StoreContract, Settings) {
  auto s = open();
  EXPECT_EQ(s->get_setting("data_version"), std::nullopt);
  s->put_setting("data_version", "1");
  s->put_setting("data_version", "2");
  EXPECT_EQ(s->get_setting("data_version"), "2");
  auto schema_version = s->get_setting("schema_version");
  ASSERT_TRUE(schema_version);
  EXPECT_GT(std::stoi(*schema_version), 0);
}

TEST_P(StoreContract, ReopenKeepsDataSchemaVersionAndRevision) {
  snapshot before;
  std::optional<std::string> schema_version;
  {
    auto s = seeded();
    s->put_setting("data_version", "42");
    before = s->load();
    schema_version = s->get_setting("schema_version");
  }
  auto s = open();
  auto after = s->load();
  EXPECT_EQ(after.revision, before.revision);
  EXPECT_EQ(after.namespaces.size(), 1u);
  EXPECT_EQ(after.hybrid_connections.size(), 2u);
  EXPECT_EQ(after.rules, before.rules);
  EXPECT_EQ(after.apps.size(), 1u);
  EXPECT_EQ(after.app_links.size(), 1u);
  EXPECT_EQ(s->get_setting("data_version"), "42");
  EXPECT_EQ(s->get_setting("schema_version"), schema_version);
  // Cascades still hold on a reopened store (SQLite's foreign keys are per connection).
  s->delete_namespace("contoso");
  after = s->load();
  EXPECT_TRUE(after.hybrid_connections.empty());
  EXPECT_TRUE(after.rules.empty());
  EXPECT_TRUE(after.app_links.empty());
}

constexpr std::int64_t hour = 3600;
constexpr std::int64_t h0 = 490113 * hour;  // a clock hour's start: 2025-11-29T09:00:00Z
constexpr std::int64_t any_hour = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t above_2_32 = (std::int64_t{1} << 32) + 5;

TEST_P(StoreContract, UsageAddsUpPerHybridConnectionAndHour) {
  auto s = open();  // no catalog: usage rows reference nothing
  s->add_usage(next_batch(), {{"contoso", "db", h0 + hour, 60, 2, 1, 1, 1},
                              {"contoso", "db", h0, 0.25, 1, 1.0 / 3, above_2_32, 7},
                              {"a-first", "zz", h0 + hour, 5, 0, 0, 0, 0},
                              {"contoso", "cache", h0, 1, 1, 1, 1, 1}});
  s->add_usage(next_batch(), {{"contoso", "db", h0, 1799.75, 2, 0.1, above_2_32, 3}});

  // Ordered by hour, then namespace, then hybrid connection; amounts summed exactly.
  const std::vector<usage_record> all = {{"contoso", "cache", h0, 1, 1, 1, 1, 1},
                                         {"contoso", "db", h0, 1800, 3, 1.0 / 3 + 0.1, 2 * above_2_32, 10},
                                         {"a-first", "zz", h0 + hour, 5, 0, 0, 0, 0},
                                         {"contoso", "db", h0 + hour, 60, 2, 1, 1, 1}};
  EXPECT_EQ(s->usage(0, any_hour), all);
  // [from, to): an hour starting at `from` is in, one starting at `to` is out.
  EXPECT_EQ(s->usage(h0, h0 + hour), (std::vector<usage_record>{all[0], all[1]}));
  EXPECT_EQ(s->usage(h0 + 1, h0 + hour + 1), (std::vector<usage_record>{all[2], all[3]}));
  EXPECT_TRUE(s->usage(h0 + hour + 1, any_hour).empty());
}

TEST_P(StoreContract, UsageIsNotACatalogChange) {
  auto s = seeded();
  std::int64_t revision = s->revision();
  s->add_usage(next_batch(), {{"contoso", "db", h0, 1, 1, 1, 1, 1}});
  s->add_usage(next_batch(), {});
  s->usage(0, any_hour);
  s->prune_usage(any_hour);
  EXPECT_EQ(s->revision(), revision);
  EXPECT_EQ(s->load().revision, revision);
}

// A write retried under its own name after its COMMIT landed (the answer lost) counts once; another
// batch with the same rows counts again; the names go with prune_usage.
TEST_P(StoreContract, AUsageBatchCountsOnceUnderItsName) {
  auto s = open();
  const std::vector<usage_record> rows{{"contoso", "db", h0, 1.5, 2, 3.5, 100, 7}};
  s->add_usage("node-a-1", rows);
  s->add_usage("node-a-1", rows);
  EXPECT_EQ(s->usage(h0, h0 + hour), rows) << "a batch retried under its name was counted twice";
  s->add_usage("node-b-1", rows);
  auto twice = s->usage(h0, h0 + hour);
  ASSERT_EQ(twice.size(), 1u);
  EXPECT_EQ(twice[0].tunnels, 4);
  EXPECT_EQ(twice[0].bytes_app_to_agent, 200);
  s->prune_usage(std::numeric_limits<std::int64_t>::max());
  s->add_usage("node-a-1", rows);  // the name was pruned with the rows: a new batch now
  EXPECT_EQ(s->usage(h0, h0 + hour), rows);
}

TEST_P(StoreContract, EmptyUsageAddsNothing) {
  auto s = open();
  s->add_usage(next_batch(), {});
  EXPECT_TRUE(s->usage(0, any_hour).empty());
}

TEST_P(StoreContract, PruneDeletesOnlyUsageBeforeTheBound) {
  auto s = open();
  s->add_usage(next_batch(), {{"contoso", "db", h0 - hour, 1, 1, 1, 1, 1},
                              {"contoso", "db", h0, 2, 2, 2, 2, 2},
                              {"fabrikam", "api", h0 - hour, 3, 3, 3, 3, 3},
                              {"fabrikam", "api", h0 + hour, 4, 4, 4, 4, 4}});
  EXPECT_EQ(s->prune_usage(h0), 2u);
  EXPECT_EQ(s->usage(0, any_hour),
            (std::vector<usage_record>{{"contoso", "db", h0, 2, 2, 2, 2, 2},
                                       {"fabrikam", "api", h0 + hour, 4, 4, 4, 4, 4}}));
  EXPECT_EQ(s->prune_usage(h0), 0u);
}

TEST_P(StoreContract, UsageSurvivesReopening) {
  { open()->add_usage(next_batch(), {{"contoso", "db", h0, 0.5, 1, 2.5, above_2_32, 1}}); }
  auto s = open();
  EXPECT_EQ(s->usage(h0, h0 + hour),
            (std::vector<usage_record>{{"contoso", "db", h0, 0.5, 1, 2.5, above_2_32, 1}}));
  s->add_usage(next_batch(), {{"contoso", "db", h0, 0.5, 1, 2.5, 1, 1}});
  EXPECT_EQ(s->usage(h0, h0 + hour),
            (std::vector<usage_record>{{"contoso", "db", h0, 1, 2, 5, above_2_32 + 1, 2}}));
}

TEST_P(StoreContract, DeletingFromTheCatalogKeepsUsage) {
  auto s = seeded();
  const std::vector<usage_record> rows = {{"contoso", "cache", h0, 1, 1, 1, 1, 1},
                                          {"contoso", "db", h0, 2, 2, 2, 2, 2}};
  s->add_usage(next_batch(), rows);
  s->delete_hybrid_connection("contoso", "db");
  EXPECT_EQ(s->usage(0, any_hour), rows);
  s->delete_namespace("contoso");
  EXPECT_EQ(s->usage(0, any_hour), rows);
}

}  // namespace
}  // namespace hc::store::contract
