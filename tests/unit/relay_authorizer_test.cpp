// Unit tests for relay/model/authorizer at its boundaries, with the clock injected: a token's expiry
// (se = now-1, now, now+1), the rule it names (entity, namespace, unknown), both keys of a rule,
// a key of another rule, the scope of the token, and each right per gesture (Listen, Send,
// Manage); and where a request's token is taken from.
#include "relay/model/authorizer.hpp"

#include <gtest/gtest.h>

namespace hc::relay {
namespace {

constexpr std::int64_t now = 1'900'000'000;
const std::string host = "ns.example";

store::rule_record rule(std::string name, proto::rights rights, std::string entity = {}) {
  auto r = store::rule_record{"ns", std::move(entity), std::move(name), unsigned(rights), "", ""};
  r.primary_key = "primary-of-" + r.name;
  r.secondary_key = "secondary-of-" + r.name;
  return r;
}

struct fixture {
  namespace_entry ns;
  hybrid_connection hc;
  fixture() {
    ns.record.name = "ns";
    ns.record.host = host;
    ns.rules.push_back(make_auth_rule(rule(
        "RootManageSharedAccessKey", proto::rights::manage | proto::rights::listen | proto::rights::send)));
    hc.record.name = "orders";
    hc.rules.push_back(make_auth_rule(rule("defaultListener", proto::rights::listen, "orders")));
    hc.rules.push_back(make_auth_rule(rule("defaultSender", proto::rights::send, "orders")));
  }
  proto::result<authorization> check(proto::rights need, const std::string& token,
                                     std::string_view path = "orders", std::int64_t at = now) const {
    return authorize(ns, path.empty() ? nullptr : &hc, path, need, token, at);
  }
};

std::string token(std::string_view rule_name, std::string_view key, std::int64_t expiry,
                  std::string_view resource = "sb://ns.example/orders") {
  return proto::make_sas_token(resource, rule_name, key, expiry);
}

TEST(RelayAuthorizer, ExpiryIsExclusiveOfTheSecondItNames) {
  fixture f;
  EXPECT_FALSE(
      f.check(proto::rights::listen, token("defaultListener", "primary-of-defaultListener", now - 1)));
  auto at_now = f.check(proto::rights::listen, token("defaultListener", "primary-of-defaultListener", now));
  ASSERT_FALSE(at_now) << "se == now has expired";
  EXPECT_EQ(at_now.error().status, 401);
  EXPECT_NE(at_now.error().message.find("expired"), std::string::npos) << at_now.error().message;
  auto next = f.check(proto::rights::listen, token("defaultListener", "primary-of-defaultListener", now + 1));
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->expiry, now + 1);
  EXPECT_EQ(next->rule, "defaultListener");
}

TEST(RelayAuthorizer, EitherKeyOfTheNamedRuleButNoOtherKey) {
  fixture f;
  EXPECT_TRUE(
      f.check(proto::rights::listen, token("defaultListener", "primary-of-defaultListener", now + 60)));
  EXPECT_TRUE(
      f.check(proto::rights::listen, token("defaultListener", "secondary-of-defaultListener", now + 60)));
  auto other_key =
      f.check(proto::rights::listen, token("defaultListener", "primary-of-defaultSender", now + 60));
  ASSERT_FALSE(other_key);
  EXPECT_EQ(other_key.error().status, 401);
  auto unknown = f.check(proto::rights::listen, token("noSuchRule", "primary-of-defaultListener", now + 60));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().status, 401);
  EXPECT_NE(unknown.error().message.find("noSuchRule"), std::string::npos);
}

TEST(RelayAuthorizer, EachRightPerGesture) {
  fixture f;
  auto listen = token("defaultListener", "primary-of-defaultListener", now + 60);
  auto send = token("defaultSender", "primary-of-defaultSender", now + 60);
  auto root = token("RootManageSharedAccessKey", "primary-of-RootManageSharedAccessKey", now + 60,
                    "sb://ns.example/");
  EXPECT_TRUE(f.check(proto::rights::listen, listen));
  EXPECT_EQ(f.check(proto::rights::send, listen).error().status, 403);
  EXPECT_EQ(f.check(proto::rights::manage, listen).error().status, 403);
  EXPECT_TRUE(f.check(proto::rights::send, send));
  EXPECT_EQ(f.check(proto::rights::listen, send).error().status, 403);
  for (auto need : {proto::rights::listen, proto::rights::send, proto::rights::manage})
    EXPECT_TRUE(f.check(need, root)) << "the namespace rule has every right";
  EXPECT_TRUE(f.check(proto::rights::manage, root, ""));
  EXPECT_EQ(f.check(proto::rights::manage, send, "").error().status, 401)
      << "an entity rule is not a namespace rule";
}

TEST(RelayAuthorizer, TheTokenCoversOnlyItsScope) {
  fixture f;
  auto elsewhere = token("defaultListener", "primary-of-defaultListener", now + 60, "sb://ns.example/other");
  EXPECT_EQ(f.check(proto::rights::listen, elsewhere).error().status, 403);
  auto other_host =
      token("defaultListener", "primary-of-defaultListener", now + 60, "sb://other.example/orders");
  EXPECT_EQ(f.check(proto::rights::listen, other_host).error().status, 403);
  EXPECT_EQ(f.check(proto::rights::listen, "").error().status, 401);
}

TEST(RelayAuthorizer, TheTokenIsTakenFromQueryThenServiceBusAuthorizationThenAuthorization) {
  net::http_request r;
  EXPECT_EQ(token_source_of(r, ""), token_source::none);
  r.headers = {{"Authorization", "a"}};
  EXPECT_EQ(token_source_of(r, ""), token_source::authorization);
  EXPECT_EQ(token_from(r, ""), "a");
  r.headers.emplace_back("ServiceBusAuthorization", "s");
  EXPECT_EQ(token_source_of(r, ""), token_source::service_bus_authorization);
  EXPECT_EQ(token_from(r, ""), "s");
  EXPECT_EQ(token_source_of(r, "q"), token_source::query);
  EXPECT_EQ(token_from(r, "q"), "q");
}

}  // namespace
}  // namespace hc::relay
