// Unit tests for relay/model/catalog::reconcile and app_directory::load, the path by which a relay
// learns what the store says (at start-up and after another relay changed it): what it creates,
// keeps (listener sets, app credentials, unchanged objects), replaces and drops, and which
// namespace changes the observer hears of.
#include "relay/listener_set.hpp"
#include "relay/model/app_directory.hpp"
#include "relay/model/catalog.hpp"

#include <gtest/gtest.h>

namespace hc::relay {
namespace {

store::snapshot two_entities() {
  store::snapshot s;
  s.namespaces.push_back({"ns", "ns.example", "t0", "t0"});
  s.namespaces.push_back({"other", "other.example", "t0", "t0"});
  s.hybrid_connections.push_back({"ns", "Orders", true, "", "t0", "t0"});
  s.hybrid_connections.push_back({"ns", "billing", true, "", "t0", "t0"});
  s.rules.push_back({"ns", "", "RootManageSharedAccessKey", 7, "root-1", "root-2"});
  s.rules.push_back({"ns", "Orders", "defaultListener", 1, "listen-1", "listen-2"});
  s.rules.push_back({"ns", "billing", "defaultListener", 1, "bill-1", "bill-2"});
  return s;
}

struct observed {
  std::vector<std::pair<bool, std::string>> changes;  // (had a before, namespace name)
};

struct fixture {
  catalog entities;
  observed seen;
  fixture() {
    entities.on_change([this](const namespace_entry* before, const namespace_entry& after) {
      seen.changes.emplace_back(before != nullptr, after.record.name);
    });
  }
  std::shared_ptr<const hybrid_connection> entity(std::string_view ns, std::string_view name) const {
    auto n = entities.by_name(ns);
    if (!n) return nullptr;
    auto it = n->hybrid_connections.find(std::string(name));
    return it == n->hybrid_connections.end() ? nullptr : it->second;
  }
};

TEST(RelayCatalogReconcile, AnEmptyCatalogTakesEverythingAndReportsEachNamespaceAsNew) {
  fixture f;
  f.entities.reconcile(two_entities());
  ASSERT_NE(f.entities.by_host("NS.example"), nullptr);
  EXPECT_EQ(f.entities.by_host("ns.example")->rules.size(), 1u);
  ASSERT_NE(f.entity("ns", "orders"), nullptr) << "entities are keyed by lower-case name";
  EXPECT_EQ(f.entity("ns", "orders")->record.name, "Orders");
  EXPECT_EQ(f.entity("ns", "orders")->rules.size(), 1u);
  EXPECT_NE(f.entity("ns", "orders")->live, nullptr);
  EXPECT_NE(f.entity("ns", "orders")->live, f.entity("ns", "billing")->live);
  EXPECT_EQ(f.seen.changes, (std::vector<std::pair<bool, std::string>>{{false, "ns"}, {false, "other"}}));
}

TEST(RelayCatalogReconcile, TheSameSnapshotAgainChangesNothingAndTellsNobody) {
  fixture f;
  f.entities.reconcile(two_entities());
  auto ns = f.entities.by_name("ns");
  auto orders = f.entity("ns", "orders");
  f.seen.changes.clear();
  f.entities.reconcile(two_entities());
  EXPECT_EQ(f.entities.by_name("ns"), ns) << "the same object: sessions holding it see no change";
  EXPECT_EQ(f.entity("ns", "orders"), orders);
  EXPECT_TRUE(f.seen.changes.empty());
}

TEST(RelayCatalogReconcile, ARegeneratedKeyReplacesOnlyThatEntityAndKeepsItsListenerSet) {
  fixture f;
  f.entities.reconcile(two_entities());
  auto orders = f.entity("ns", "orders");
  auto billing = f.entity("ns", "billing");
  auto other = f.entities.by_name("other");
  f.seen.changes.clear();
  auto s = two_entities();
  s.rules[1].primary_key = "listen-regenerated";
  f.entities.reconcile(s);
  ASSERT_NE(f.entity("ns", "orders"), orders);
  EXPECT_EQ(f.entity("ns", "orders")->rules.at(0).record.primary_key, "listen-regenerated");
  EXPECT_EQ(f.entity("ns", "orders")->live, orders->live) << "its listeners stay registered (and rechecked)";
  EXPECT_EQ(f.entity("ns", "billing"), billing);
  EXPECT_EQ(f.entities.by_name("other"), other);
  EXPECT_EQ(f.seen.changes, (std::vector<std::pair<bool, std::string>>{{true, "ns"}}));
}

TEST(RelayCatalogReconcile, AHybridConnectionDeletedElsewhereIsGoneAndReported) {
  fixture f;
  f.entities.reconcile(two_entities());
  const namespace_entry* reported_before = nullptr;
  std::size_t entities_after = 99;
  auto keep = f.entities.by_name("ns");
  f.entities.on_change([&](const namespace_entry* before, const namespace_entry& after) {
    reported_before = before;
    entities_after = after.hybrid_connections.size();
  });
  auto s = two_entities();
  s.hybrid_connections.erase(s.hybrid_connections.begin());
  s.rules.erase(s.rules.begin() + 1);
  f.entities.reconcile(s);
  EXPECT_EQ(f.entity("ns", "orders"), nullptr);
  EXPECT_EQ(reported_before, keep.get()) << "the observer compares with what was there";
  EXPECT_EQ(entities_after, 1u);
}

TEST(RelayCatalogReconcile, ANamespaceGoneIsReportedEmptiedThenDropped) {
  fixture f;
  f.entities.reconcile(two_entities());
  std::size_t entities_after = 99;
  f.entities.on_change([&](const namespace_entry* before, const namespace_entry& after) {
    EXPECT_NE(before, nullptr);
    EXPECT_EQ(after.record.name, "ns");
    entities_after = after.hybrid_connections.size();
  });
  auto s = two_entities();
  s.namespaces.erase(s.namespaces.begin());
  f.entities.reconcile(s);
  EXPECT_EQ(entities_after, 0u) << "its listeners hear that every entity is gone";
  EXPECT_EQ(f.entities.by_name("ns"), nullptr);
  EXPECT_EQ(f.entities.by_host("ns.example"), nullptr);
  EXPECT_NE(f.entities.by_host("other.example"), nullptr);
}

TEST(RelayCatalogReconcile, ANewHostReplacesTheOldOne) {
  fixture f;
  f.entities.reconcile(two_entities());
  auto s = two_entities();
  s.namespaces[0].host = "moved.example";
  f.entities.reconcile(s);
  EXPECT_EQ(f.entities.by_host("ns.example"), nullptr);
  ASSERT_NE(f.entities.by_host("moved.example"), nullptr);
  EXPECT_EQ(f.entities.by_host("moved.example")->record.name, "ns");
}

store::snapshot with_app_linked(bool linked) {
  auto s = two_entities();
  s.plans.push_back({"plan", "Standard", "t0", "t0"});
  s.apps.push_back({"web", "plan", "web-send-key", "t0", "t0"});
  if (linked) s.app_links.push_back({"web", "ns", "Orders", "t0"});
  return s;
}

TEST(RelayCatalogReconcile, AppCredentialsSurviveAReconcileAndGoWithTheLastLink) {
  fixture f;
  app_directory apps;
  auto s = with_app_linked(true);
  f.entities.reconcile(s);
  apps.load(s, f.entities);
  ASSERT_EQ(f.entity("ns", "orders")->app_rules.size(), 1u);
  auto orders = f.entity("ns", "orders");
  f.entities.reconcile(s);
  apps.load(s, f.entities);
  EXPECT_EQ(f.entity("ns", "orders"), orders) << "nothing changed: the same object";
  ASSERT_EQ(f.entity("ns", "orders")->app_rules.size(), 1u);

  auto unlinked = with_app_linked(false);  // disconnected through another relay
  f.entities.reconcile(unlinked);
  EXPECT_EQ(f.entity("ns", "orders")->app_rules.size(), 1u) << "app credentials are app_directory's";
  apps.load(unlinked, f.entities);
  EXPECT_TRUE(f.entity("ns", "orders")->app_rules.empty()) << "the app may no longer send";
  EXPECT_EQ(f.entity("ns", "orders")->live, orders->live);
}

}  // namespace
}  // namespace hc::relay
