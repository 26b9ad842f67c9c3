// Engine tests: the revision's part of the store::store contract (store/store.hpp), run against
// every implementation (the fixture: store_contract.hpp): raised by every write and by no read,
// left by a failed write, carried by the snapshot, and seen by a second store object on the same
// database, which is how relay nodes learn of each other's changes.
#include "store_contract.hpp"

#include <cstdint>
#include <utility>
#include <vector>

namespace hc::store::contract {
namespace {

TEST_P(StoreContract, EveryWriteRaisesTheRevisionAndNoReadDoes) {
  auto s = open();
  const std::vector<std::pair<std::string, std::function<void()>>> writes = {
      {"put_namespace",
       [&] {
         s->put_namespace({"contoso", "contoso.example.com", when, when});
       }},
      {"put_hybrid_connection",
       [&] {
         s->put_hybrid_connection({"contoso", "db", true, "", when, when});
       }},
      {"put_rule",
       [&] {
         s->put_rule({"contoso", "db", "listen", 1, "pk", "sk"});
       }},
      {"put_plan",
       [&] {
         s->put_plan({"p1", "Basic", when, when});
       }},
      {"put_app",
       [&] {
         s->put_app({"web", "p1", "k", when, when});
       }},
      {"put_app_link",
       [&] {
         s->put_app_link({"web", "contoso", "db", when});
       }},
      {"put_setting", [&] { s->put_setting("data_version", "1"); }},
      {"delete_app_link", [&] { s->delete_app_link("web", "contoso", "db"); }},
      {"delete_rule", [&] { s->delete_rule("contoso", "db", "listen"); }},
      {"delete_app", [&] { s->delete_app("web"); }},
      {"delete_plan", [&] { s->delete_plan("p1"); }},
      {"delete_hybrid_connection", [&] { s->delete_hybrid_connection("contoso", "db"); }},
      {"delete_namespace", [&] { s->delete_namespace("contoso"); }},
  };
  std::int64_t revision = s->revision();
  for (const auto& [name, write] : writes) {
    write();
    std::int64_t raised = s->revision();
    EXPECT_GT(raised, revision) << name;
    revision = raised;
    s->load();
    s->get_setting("data_version");
    EXPECT_EQ(s->revision(), revision) << "a read after " << name;
  }
}

TEST_P(StoreContract, FailedWriteLeavesTheRevision) {
  auto s = seeded();
  std::int64_t revision = s->revision();
  EXPECT_THROW(s->delete_plan("p1"), store_error);
  EXPECT_THROW(s->put_hybrid_connection({"nowhere", "db", true, "", when, when}), store_error);
  EXPECT_EQ(s->revision(), revision);
}

TEST_P(StoreContract, SnapshotCarriesTheRevisionOfItsRows) {
  auto s = seeded();
  auto snap = s->load();
  EXPECT_EQ(snap.revision, s->revision());
  EXPECT_GT(snap.revision, 0);
  s->put_namespace({"fabrikam", "fabrikam.example.com", when, when});
  auto next = s->load();
  EXPECT_GT(next.revision, snap.revision);
  EXPECT_EQ(next.namespaces.size(), 2u);
}

TEST_P(StoreContract, SecondStoreSeesTheFirstOnesWritesAndRevision) {
  auto first = open();
  auto second = open();
  std::int64_t seen = second->revision();

  first->put_namespace({"contoso", "contoso.example.com", when, when});
  EXPECT_GT(second->revision(), seen);
  auto snap = second->load();
  ASSERT_EQ(snap.namespaces.size(), 1u);
  EXPECT_EQ(snap.revision, first->revision());

  second->put_hybrid_connection({"contoso", "db", true, "", when, when});
  EXPECT_EQ(first->revision(), second->revision());
  EXPECT_EQ(first->load().hybrid_connections.size(), 1u);
}

}  // namespace
}  // namespace hc::store::contract
