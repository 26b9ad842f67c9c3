// Unit tests for the App Service plan limits (relay/model/app_operations) at every SKU's boundary:
// the last slot taken and the one past it refused (Free 0, Basic 5, Standard 25, Premium and
// Isolated 200), a hybrid connection already counted in the plan never refused, an app moved into a
// plan it fits exactly (its links overlapping the plan's use counted once) and one past it, and a
// SKU change down to exactly the use and one below. The API tests cover the same rules end to end.
#include "relay/model/app_operations.hpp"

#include <gtest/gtest.h>

namespace hc::relay {
namespace {

hc_ref hc(int i) {
  return {"ns", "hc" + std::to_string(i)};
}

// Plan `plan` of `sku` holding app `app` linked to hc(first) .. hc(first + count - 1).
void add(app_state& state, const std::string& plan, std::string_view sku, const std::string& app, int first,
         int count) {
  state.plans[plan] = store::plan_record{plan, std::string(sku), "", ""};
  app_entry a;
  a.record = store::app_record{app, plan, "key", "", ""};
  for (int i = first; i < first + count; ++i) a.links.push_back(hc(i));
  state.apps[app] = a;
}

struct sku_case {
  std::string_view sku;
  int limit;
};
const sku_case every_sku[] = {
    {"Free", 0}, {"Basic", 5}, {"Standard", 25}, {"Premium", 200}, {"Isolated", 200}};

TEST(RelayPlanLimits, TheLastSlotOfEverySkuIsGivenAndTheNextRefused) {
  for (auto [sku, limit] : every_sku) {
    SCOPED_TRACE(std::string(sku));
    app_state state;
    add(state, "p", sku, "web", 0, std::max(limit - 1, 0));
    if (limit > 0) {
      EXPECT_TRUE(check_plan_room(state, state.apps["web"], hc(limit - 1))) << "the last slot";
      state.apps["web"].links.push_back(hc(limit - 1));
    }
    auto past = check_plan_room(state, state.apps["web"], hc(limit));
    ASSERT_FALSE(past);
    EXPECT_EQ(past.error().status, 409);
    if (limit > 0) {
      EXPECT_NE(past.error().message.find("allows " + std::to_string(limit)), std::string::npos)
          << past.error().message;
      EXPECT_NE(past.error().message.find("already uses " + std::to_string(limit)), std::string::npos)
          << past.error().message;
      // Another app of the plan adding one the plan already counts takes no new slot.
      add(state, "p", sku, "api", 0, 0);
      EXPECT_TRUE(check_plan_room(state, state.apps["api"], hc(0)));
    } else {
      EXPECT_NE(past.error().message.find("cannot use hybrid connections"), std::string::npos);
    }
  }
}

TEST(RelayPlanLimits, AnAppMovesIntoAPlanItFitsExactlyAndNotOneMore) {
  for (auto [sku, limit] : every_sku) {
    if (limit == 0) continue;
    SCOPED_TRACE(std::string(sku));
    app_state state;
    // The target holds hc0 .. hc(used-1); the app brings hc(used-1) (shared: counted once) to
    // hc(limit-1).
    int used = limit / 2;
    add(state, "target", sku, "resident", 0, used);
    add(state, "source", "Isolated", "mover", used - 1, limit - used + 1);
    EXPECT_TRUE(check_plan_move(state, state.apps["mover"], state.plans["target"])) << "fits exactly";
    state.apps["mover"].links.push_back(hc(limit + 1));
    auto over = check_plan_move(state, state.apps["mover"], state.plans["target"]);
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().status, 409);
    EXPECT_NE(over.error().message.find("use " + std::to_string(limit + 1)), std::string::npos)
        << over.error().message;
  }
}

TEST(RelayPlanLimits, ASkuChangeDownToExactlyTheUseIsAllowedAndBelowItRefused) {
  app_state state;
  add(state, "p", "Premium", "web", 0, 25);
  EXPECT_TRUE(check_plan_sku(state, state.plans["p"], sku::standard)) << "25 of 25";
  auto below = check_plan_sku(state, state.plans["p"], sku::basic);
  ASSERT_FALSE(below);
  EXPECT_NE(below.error().message.find("uses 25"), std::string::npos) << below.error().message;
  EXPECT_NE(below.error().message.find("Basic allows 5: disconnect 20"), std::string::npos)
      << below.error().message;
  state.apps["web"].links.resize(5);
  EXPECT_TRUE(check_plan_sku(state, state.plans["p"], sku::basic)) << "5 of 5";
  EXPECT_FALSE(check_plan_sku(state, state.plans["p"], sku::free));
}

}  // namespace
}  // namespace hc::relay
