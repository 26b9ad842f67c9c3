// tests/integration/relay_routing_test: the one rule for plain HTTP requests on a namespace host
// (relay/http_routes.cpp): the relay's own pages under /$admin/ on every host; a path that names
// a hybrid connection belongs to it (runtime info only with api-version and X-PROCESS-AT, as
// Microsoft's SDKs send it; anything else is a relayed request), even when the name is "api" or
// "healthz"; the old places of the relay's pages still work where no hybrid connection claims
// them; anything else is a 404 that says where the relay's pages are.
#include "harness.hpp"

namespace hc::test {
namespace {

using RelayRouting = relay_test;

TEST_F(RelayRouting, AHybridConnectionNamedLikeARelayPageOwnsItsPathAndAdminStaysReachable) {
  run([&]() -> task<> {
    co_await create_hc(relay(), "api");
    co_await create_hc(relay(), "healthz");
    auto api = co_await https_get(relay(), "/api/v1/namespaces");
    // Relayed to hybrid connection 'api', which has no listener.
    EXPECT_EQ(api.status, 404) << "the path belongs to hybrid connection 'api': " << api.body;
    EXPECT_NE(api.body.find("There are no listeners connected"), std::string::npos) << api.body;
    auto admin_api = co_await https_get(relay(), "/$admin/api/v1/namespaces");
    EXPECT_EQ(admin_api.status, 200) << admin_api.body;
    auto health = co_await https_get(relay(), "/healthz");
    EXPECT_EQ(health.status, 404) << health.body;
    EXPECT_NE(health.body.find("There are no listeners connected"), std::string::npos) << health.body;
    auto admin_health = co_await https_get(relay(), "/$admin/healthz");
    EXPECT_EQ(admin_health.status, 200) << admin_health.body;
    EXPECT_EQ(admin_health.body, "ok\n");
  });
}

TEST_F(RelayRouting, OldPlacesOfTheRelayPagesWorkWhereNoHybridConnectionClaimsThem) {
  run([&]() -> task<> {
    auto health = co_await https_get(relay(), "/healthz");
    EXPECT_EQ(health.status, 200) << health.body;
    auto api = co_await https_get(relay(), "/api/v1/namespaces");
    EXPECT_EQ(api.status, 200) << api.body;
    auto portal = co_await https_get(relay(), "/");
    EXPECT_EQ(portal.status, 200);
    EXPECT_NE(portal.body.find("/$admin/portal/app.js"), std::string::npos)
        << "the page loads its script from /$admin/";
    auto script = co_await https_get(relay(), "/$admin/portal/app.js");
    EXPECT_EQ(script.status, 200);
    EXPECT_NE(script.body.find("/$admin/api/v1"), std::string::npos)
        << "the portal calls the API under /$admin/";
    auto metrics = co_await https_get(relay(), "/$admin/metrics");
    EXPECT_EQ(metrics.status, 200);
    auto nothing = co_await https_get(relay(), "/no-such-thing/x");
    EXPECT_EQ(nothing.status, 404);
    EXPECT_NE(nothing.body.find("/$admin/"), std::string::npos) << nothing.body;
  });
}

TEST_F(RelayRouting, RuntimeInfoNeedsXProcessAtAndApiVersionAloneIsAppData) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "svc");
    header_list management{{"Authorization", hc.listen_token},
                           {"X-PROCESS-AT", "ServiceBus"}};  // net/types.hpp
    header_list app_headers{{"Authorization", hc.send_token}};
    auto with_header = co_await https_get(relay(), "/svc?api-version=2016-07", management);
    EXPECT_EQ(with_header.status, 200) << with_header.body;
    EXPECT_NE(with_header.body.find("HybridConnectionDescription"), std::string::npos) << with_header.body;
    auto app_data = co_await https_get(relay(), "/svc?api-version=2016-07", app_headers);
    EXPECT_EQ(app_data.status, 404) << "a sender's own api-version parameter is a relayed request: "
                                    << app_data.body;
    EXPECT_NE(app_data.body.find("There are no listeners connected"), std::string::npos) << app_data.body;
  });
}

}  // namespace
}  // namespace hc::test
