// Integration tests of the management plane against a real hcrelay: App Service plan limits
// (a Basic plan's sixth distinct hybrid connection is refused, the same one is fine in a sixth
// app, Disconnect frees the slot, a SKU change below use is refused), status following listeners,
// key regeneration (old tokens refused, new accepted, an open tunnel stays up), rights (a
// Send-only key cannot manage), the 12-rule limit, field-level validation messages, the app
// credential, and the OpenAPI document matching the server.
#include "api_support.hpp"

#include "net/clock.hpp"
#include "proto/encoding.hpp"
#include "proto/sas.hpp"

namespace hc::test {
namespace {
namespace json = boost::json;

class management_api_test : public relay_test {};

// Bodies and word lists are made by these plain functions: no braced lists of string literals
// inside coroutines (net/types.hpp).
std::string hc_body(const std::string& endpoint) {
  return json::serialize(json::object{{"endpoint", endpoint}});
}
std::string sku_body(const std::string& sku) {
  return json::serialize(json::object{{"sku", sku}});
}
std::string plan_body(const std::string& plan) {
  return json::serialize(json::object{{"plan", plan}});
}
std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    auto bar = text.find('|', at);
    out.emplace_back(text.substr(at, bar == std::string_view::npos ? std::string_view::npos : bar - at));
    if (bar == std::string_view::npos) break;
    at = bar + 1;
  }
  return out;
}

// Plan `plan` (sku) with the apps named in `app_names` ("a|b|c").
task<> make_plan(const relay_process& relay, std::string plan, std::string sku, std::string app_names) {
  auto apps = words(app_names);
  auto body = sku_body(sku);
  co_await api_ok(relay, "PUT", "/plans/" + plan, body);
  auto in_plan = plan_body(plan);
  for (const auto& a : apps) co_await api_ok(relay, "PUT", "/apps/" + a, in_plan);
}

task<> make_endpoint_hc(const relay_process& relay, std::string name) {
  auto body = hc_body(name + ".internal:5432");
  co_await api_ok(relay, "PUT", "/namespaces/localhost/hybridConnections/" + name, body);
}

TEST_F(management_api_test, basic_plan_refuses_the_sixth_distinct_hybrid_connection_but_not_a_sixth_app) {
  run([&]() -> task<> {
    co_await make_plan(relay(), "basic1", "Basic", "a1|a2|a3|a4|a5|a6");
    auto apps = words("a1|a2|a3|a4|a5|a6");
    for (int i = 1; i <= 6; ++i) co_await make_endpoint_hc(relay(), "hc" + std::to_string(i));
    for (int i = 1; i <= 5; ++i) {
      auto added =
          co_await api_call(relay(), "PUT", "/apps/a1/hybridConnections/localhost/hc" + std::to_string(i));
      EXPECT_EQ(added.status, 201) << added.body;
    }
    auto sixth = co_await api_call(relay(), "PUT", "/apps/a1/hybridConnections/localhost/hc6");
    EXPECT_EQ(sixth.status, 409);
    auto message = error_message(sixth);
    auto expected = words("'basic1'|Basic|allows 5|already uses 5");
    for (const auto& word : expected)
      EXPECT_NE(message.find(word), std::string::npos) << "missing '" << word << "' in: " << message;
    // The same hybrid connection in five more apps of the plan still counts once.
    for (std::size_t i = 1; i < apps.size(); ++i) {
      const auto& app = apps[i];
      auto again = co_await api_call(relay(), "PUT", "/apps/" + app + "/hybridConnections/localhost/hc1");
      EXPECT_EQ(again.status, 201) << app << ": " << again.body;
    }
    auto plan = co_await api_ok(relay(), "GET", "/plans/basic1");
    EXPECT_EQ(plan.at("hybridConnectionsUsed"), 5);
    EXPECT_EQ(plan.at("hybridConnectionLimit"), 5);
    for (const auto& h : plan.at("hybridConnections").as_array())
      if (h.at("name") == "hc1") {
        EXPECT_EQ(h.at("apps").as_array().size(), 6u);
      }
    // Disconnect frees the slot.
    auto gone = co_await api_call(relay(), "DELETE", "/apps/a1/hybridConnections/localhost/hc5");
    EXPECT_EQ(gone.status, 204) << gone.body;
    auto now = co_await api_call(relay(), "PUT", "/apps/a1/hybridConnections/localhost/hc6");
    EXPECT_EQ(now.status, 201) << now.body;
    // Disconnecting hc1 from one app does not free it: five others still use it.
    co_await api_ok(relay(), "DELETE", "/apps/a1/hybridConnections/localhost/hc1");
    co_await make_endpoint_hc(relay(), "hc7");
    auto still_full = co_await api_call(relay(), "PUT", "/apps/a1/hybridConnections/localhost/hc7");
    EXPECT_EQ(still_full.status, 409) << still_full.body;
  });
}

TEST_F(management_api_test, a_sku_below_current_use_is_refused_with_the_numbers) {
  run([&]() -> task<> {
    co_await make_plan(relay(), "std1", "Standard", "web");
    for (int i = 1; i <= 3; ++i) {
      co_await make_endpoint_hc(relay(), "db" + std::to_string(i));
      co_await api_ok(relay(), "PUT", "/apps/web/hybridConnections/localhost/db" + std::to_string(i));
    }
    auto down = co_await api_call(relay(), "PUT", "/plans/std1", R"({"sku":"Free"})");
    EXPECT_EQ(down.status, 409);
    auto message = error_message(down);
    EXPECT_NE(message.find("uses 3"), std::string::npos) << message;
    EXPECT_NE(message.find("Free allows 0"), std::string::npos) << message;
    auto basic = co_await api_call(relay(), "PUT", "/plans/std1", R"({"sku":"Basic"})");
    EXPECT_EQ(basic.status, 200) << basic.body;
    auto free_plan = co_await api_call(relay(), "PUT", "/plans/free1", R"({"sku":"Free"})");
    EXPECT_EQ(free_plan.status, 201);
    co_await api_ok(relay(), "PUT", "/apps/cheap", R"({"plan":"free1"})");
    auto refused = co_await api_call(relay(), "PUT", "/apps/cheap/hybridConnections/localhost/db1");
    EXPECT_EQ(refused.status, 409);
    EXPECT_NE(error_message(refused).find("Free"), std::string::npos) << refused.body;
    // A plan with apps cannot go; moving the app into a plan too small for it is refused.
    auto busy = co_await api_call(relay(), "DELETE", "/plans/std1");
    EXPECT_EQ(busy.status, 409) << busy.body;
    auto move = co_await api_call(relay(), "PUT", "/apps/web", R"({"plan":"free1"})");
    EXPECT_EQ(move.status, 409) << move.body;
  });
}

TEST_F(management_api_test, create_new_hybrid_connection_then_status_follows_a_listener) {
  run([&]() -> task<> {
    co_await make_plan(relay(), "p", "Basic", "web");
    auto created =
        co_await api_call(relay(), "POST", "/apps/web/hybridConnections",
                          R"({"name":"orders-db","endpointHost":"orders.internal","endpointPort":1433,)"
                          R"("namespace":"localhost"})");
    require_eq(created.status, 201, "create new hybrid connection: " + created.body);
    auto details = json::parse(created.body);
    EXPECT_EQ(details.at("status"), "Not connected");
    EXPECT_EQ(details.at("endpoint"), "orders.internal:1433");
    EXPECT_EQ(details.at("requiresClientAuthorization"), true);
    EXPECT_EQ(details.at("appsInPlan").as_array().size(), 1u);
    auto gateway = json_text(details, "gatewayConnectionString");
    EXPECT_NE(gateway.find("SharedAccessKeyName=defaultListener"), std::string::npos) << gateway;
    EXPECT_NE(gateway.find("EntityPath=orders-db"), std::string::npos) << gateway;

    auto key = co_await rule_key(relay(), "orders-db", "defaultListener");
    auto token = make_token(relay(), "orders-db", "defaultListener", key);
    std::string path = "/apps/web/hybridConnections/localhost/orders-db";
    {
      auto control = co_await connect_listener(relay(), "orders-db", token, "hcm-1");
      auto connected = co_await api_wait(relay(), path,
                                         [](const json::value& v) { return v.at("status") == "Connected"; });
      EXPECT_TRUE(connected);
      auto view = co_await api_ok(relay(), "GET", path);
      EXPECT_EQ(view.at("listenerCount"), 1);
      const auto& l = view.at("listeners").at(0);
      EXPECT_EQ(l.at("id"), "hcm-1");
      EXPECT_NE(json_text(l, "remoteAddress").find("127.0.0.1"), std::string::npos);
      EXPECT_FALSE(json_text(l, "connectedSince").empty());
      auto app = co_await api_ok(relay(), "GET", "/apps/web");
      EXPECT_EQ(app.at("hybridConnections").at(0).at("status"), "Connected");
      co_await send_close(control, 1000, "bye");
      auto echo = co_await read_frame(control, "listener");
      EXPECT_EQ(echo.op, opcode::close);
    }
    auto back = co_await api_wait(relay(), path,
                                  [](const json::value& v) { return v.at("status") == "Not connected"; });
    EXPECT_TRUE(back);
  });
}

TEST_F(management_api_test, regenerating_a_key_refuses_old_tokens_and_keeps_open_tunnels) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "regen");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto t = co_await open_tunnel(relay(), control, hc.name, hc.send_token);

    auto regenerated = co_await api_ok(relay(), "POST",
                                       "/namespaces/localhost/hybridConnections/regen/authorizationRules/"
                                       "defaultSender/regenerateKeys",
                                       R"({"keyType":"PrimaryKey"})");
    auto fresh_key = json_text(regenerated, "primaryKey");
    EXPECT_NE(fresh_key, hc.send_key);
    auto old =
        co_await open_sender(relay(), hc.name, make_token(relay(), hc.name, "defaultSender", hc.send_key));
    EXPECT_EQ(old.status, 401) << old.reason;
    // The secondary key was not touched and still works; the new primary works.
    auto secondary = json_text(regenerated, "secondaryKey");
    auto sender_side = [&](std::string key) -> task<int> {
      auto r = co_await open_sender(relay(), hc.name, make_token(relay(), hc.name, "defaultSender", key));
      if (r.connection) co_await send_close(*r.connection, 1000, "done");
      co_return r.status;
    };
    auto listener_side = [&]() -> task<int> {
      auto accept = co_await read_accept(control);
      auto leg = co_await dial_address(relay(), accept.address);
      if (leg.connection) co_await echo_until_close(*leg.connection);
      co_return leg.status;
    };
    auto with_new = co_await both(sender_side(fresh_key), listener_side());
    EXPECT_EQ(std::get<0>(with_new), 101);
    auto with_secondary = co_await both(sender_side(secondary), listener_side());
    EXPECT_EQ(std::get<0>(with_secondary), 101);

    // The tunnel opened before the change still carries bytes both ways.
    co_await send_frame(t.sender, opcode::binary, true, "after regeneration");
    auto at_listener = co_await read_frame(t.listener, "listener leg");
    EXPECT_EQ(at_listener.payload, "after regeneration");
    co_await send_frame(t.listener, opcode::binary, true, "still up");
    auto at_sender = co_await read_frame(t.sender, "sender leg");
    EXPECT_EQ(at_sender.payload, "still up");
  });
}

TEST_F(management_api_test, a_send_only_key_cannot_manage) {
  run([&]() -> task<> {
    auto made = co_await api_call(relay(), "PUT", "/namespaces/localhost/authorizationRules/sender",
                                  R"({"rights":["Send"]})");
    require_eq(made.status, 201, "create rule: " + made.body);
    auto keys = co_await api_ok(relay(), "POST", "/namespaces/localhost/authorizationRules/sender/listKeys");
    auto token = make_token(relay(), "", "sender", json_text(keys, "primaryKey"));
    auto paths = words("/namespaces|/plans|/namespaces/localhost/hybridConnections");
    for (const auto& path : paths) {
      auto r = co_await api_call(relay(), "GET", path, {}, token);
      EXPECT_EQ(r.status, 403) << path << ": " << r.body;
      EXPECT_NE(error_message(r).find("needs Manage"), std::string::npos) << r.body;
    }
    auto none = co_await api_call(relay(), "GET", "/plans", {}, no_token);
    EXPECT_EQ(none.status, 401) << none.body;
    auto listen_only = co_await api_call(relay(), "PUT", "/namespaces/localhost/authorizationRules/sender",
                                         R"({"rights":"Listen"})", token);
    EXPECT_EQ(listen_only.status, 403) << listen_only.body;
  });
}

TEST_F(management_api_test, a_scope_holds_at_most_twelve_rules) {
  run([&]() -> task<> {
    // The namespace starts with RootManageSharedAccessKey: eleven more fit.
    for (int i = 1; i <= 11; ++i) {
      auto r = co_await api_call(relay(), "PUT",
                                 "/namespaces/localhost/authorizationRules/rule" + std::to_string(i),
                                 R"({"rights":["Listen"]})");
      EXPECT_EQ(r.status, 201) << r.body;
    }
    auto thirteenth = co_await api_call(
        relay(), "PUT", "/namespaces/localhost/authorizationRules/one-too-many", R"({"rights":["Listen"]})");
    EXPECT_EQ(thirteenth.status, 409);
    EXPECT_NE(error_message(thirteenth).find("limit is 12"), std::string::npos) << thirteenth.body;
    // A hybrid connection starts with two (defaultListener, defaultSender).
    co_await make_endpoint_hc(relay(), "ruled");
    for (int i = 1; i <= 10; ++i) {
      auto r = co_await api_call(
          relay(), "PUT",
          "/namespaces/localhost/hybridConnections/ruled/authorizationRules/r" + std::to_string(i),
          R"({"rights":["Send"]})");
      EXPECT_EQ(r.status, 201) << r.body;
    }
    auto over = co_await api_call(relay(), "PUT",
                                  "/namespaces/localhost/hybridConnections/ruled/authorizationRules/r11",
                                  R"({"rights":["Send"]})");
    EXPECT_EQ(over.status, 409) << over.body;
    // Deleting one makes room again.
    co_await api_ok(relay(), "DELETE", "/namespaces/localhost/authorizationRules/rule1");
    auto fits = co_await api_call(relay(), "PUT", "/namespaces/localhost/authorizationRules/one-too-many",
                                  R"({"rights":["Listen"]})");
    EXPECT_EQ(fits.status, 201) << fits.body;
    auto last = co_await api_call(relay(), "DELETE",
                                  "/namespaces/localhost/authorizationRules/RootManageSharedAccessKey");
    EXPECT_EQ(last.status, 409) << "the last Manage rule must stay: " << last.body;
  });
}

struct bad_case {
  std::string method, path, body, field;
  int status;
};

// Each refused with a message naming `field`.
std::vector<bad_case> validation_cases() {
  return {
      {"POST", "/apps/web/hybridConnections", R"({"name":"x1","endpointHost":"h","namespace":"localhost"})",
       "endpointPort", 400},
      {"POST", "/apps/web/hybridConnections",
       R"({"name":"x1","endpointHost":"h","endpointPort":70000,"namespace":"localhost"})", "endpointPort",
       400},
      {"POST", "/apps/web/hybridConnections",
       R"({"name":"x1","endpointHost":"bad host","endpointPort":80,"namespace":"localhost"})", "endpointHost",
       400},
      {"POST", "/apps/web/hybridConnections", R"({"name":"x1","endpointHost":"h","endpointPort":80})",
       "namespace", 400},
      {"POST", "/apps/web/hybridConnections",
       R"({"name":"x1","endpointHost":"h","endpointPort":80,"namespace":"nowhere"})", "namespace", 400},
      {"POST", "/apps/web/hybridConnections",
       R"({"endpointHost":"h","endpointPort":80,"namespace":"localhost"})", "name", 400},
      {"POST", "/apps/web/hybridConnections", R"({"name":"x","colour":"red"})", "colour", 400},
      {"PUT", "/plans/p2", R"({"sku":"Gold"})", "sku", 400},
      {"PUT", "/plans/p2", "{}", "sku", 400},
      {"PUT", "/plans/bad%20name", R"({"sku":"Basic"})", "name", 400},
      {"PUT", "/apps/w2", "{}", "plan", 400},
      {"PUT", "/namespaces/other", R"({"host":"a:80"})", "host", 400},
      {"PUT", "/namespaces/localhost/authorizationRules/r", R"({"rights":["Fly"]})", "rights", 400},
      {"POST", "/namespaces/localhost/authorizationRules/RootManageSharedAccessKey/regenerateKeys", "{}",
       "keyType", 400},
      {"PUT", "/apps/w2", R"({"plan":"nope"})", "nope", 404},
      {"GET", "/apps/ghost", "", "ghost", 404},
      {"GET", "/plans/ghost", "", "ghost", 404},
      {"PUT", "/apps/web/hybridConnections/localhost/ghost", "", "ghost", 404},
  };
}

TEST_F(management_api_test, validation_errors_name_the_field) {
  run([&]() -> task<> {
    co_await make_plan(relay(), "p", "Basic", "web");
    auto cases = validation_cases();
    for (const auto& c : cases) {
      auto r = co_await api_call(relay(), c.method, c.path, c.body);
      EXPECT_EQ(r.status, c.status) << c.method << " " << c.path << " " << c.body << ": " << r.body;
      EXPECT_NE(error_message(r).find(c.field), std::string::npos)
          << c.method << " " << c.path << " " << c.body << ": the message should name " << c.field << ": "
          << r.body;
    }
    // An existing hybrid connection without endpoint metadata cannot be added to an app.
    co_await api_ok(relay(), "PUT", "/namespaces/localhost/hybridConnections/bare", "{}");
    auto bare = co_await api_call(relay(), "PUT", "/apps/web/hybridConnections/localhost/bare");
    EXPECT_EQ(bare.status, 400);
    EXPECT_NE(error_message(bare).find("endpoint"), std::string::npos) << bare.body;
    co_await api_ok(relay(), "PUT", "/namespaces/localhost/hybridConnections/open",
                    R"({"endpoint":"db:1","requiresClientAuthorization":false})");
    auto open = co_await api_call(relay(), "PUT", "/apps/web/hybridConnections/localhost/open");
    EXPECT_EQ(open.status, 400);
    EXPECT_NE(error_message(open).find("client authorization"), std::string::npos) << open.body;
    // Creating one that exists says how to add it instead.
    auto twice =
        co_await api_call(relay(), "POST", "/apps/web/hybridConnections",
                          R"({"name":"open","endpointHost":"h","endpointPort":80,"namespace":"localhost"})");
    EXPECT_EQ(twice.status, 409);
    EXPECT_NE(error_message(twice).find("already exists"), std::string::npos) << twice.body;
  });
}

TEST_F(management_api_test, the_app_credential_sends_only_to_the_apps_hybrid_connections) {
  run([&]() -> task<> {
    co_await make_plan(relay(), "p", "Basic", "web");
    auto mine = co_await make_hc(relay(), "mine", hc_body("mine.internal:80"));
    auto other = co_await make_hc(relay(), "other", hc_body("other.internal:80"));
    co_await api_ok(relay(), "PUT", "/apps/web/hybridConnections/localhost/mine");
    auto keys = co_await api_ok(relay(), "POST", "/apps/web/listKeys");
    EXPECT_EQ(keys.at("keyName"), "app:web");
    auto app_key = json_text(keys, "primaryKey");

    auto control = co_await connect_listener(relay(), mine.name, mine.listen_token);
    auto t =
        co_await open_tunnel(relay(), control, mine.name, make_token(relay(), "mine", "app:web", app_key));
    co_await send_frame(t.sender, opcode::text, true, "from the app");
    auto got = co_await read_frame(t.listener, "listener leg");
    EXPECT_EQ(got.payload, "from the app");

    auto refused =
        co_await open_sender(relay(), other.name, make_token(relay(), "other", "app:web", app_key));
    EXPECT_EQ(refused.status, 401) << refused.reason;
    // The app's own endpoint lists what hcconnect needs, and no keys.
    auto app_token = make_token(relay(), "", "app:web", app_key);
    auto listing = co_await api_call(relay(), "GET", "/apps/web/connections", {}, app_token);
    require_eq(listing.status, 200, "connections: " + listing.body);
    EXPECT_EQ(listing.body.find(app_key), std::string::npos);
    auto v = json::parse(listing.body);
    EXPECT_EQ(v.at("hybridConnections").as_array().size(), 1u);
    EXPECT_EQ(v.at("hybridConnections").at(0).at("endpointHost"), "mine.internal");
    auto as_admin = co_await api_call(relay(), "GET", "/apps/web/connections", {}, relay().root_token());
    EXPECT_EQ(as_admin.status, 401) << "only the app credential reads it: " << as_admin.body;
    auto manage = co_await api_call(relay(), "GET", "/apps/web", {}, app_token);
    EXPECT_EQ(manage.status, 401) << "the app credential cannot manage: " << manage.body;

    // Disconnect: new tunnels with the app credential are refused at once.
    co_await api_ok(relay(), "DELETE", "/apps/web/hybridConnections/localhost/mine");
    auto after = co_await open_sender(relay(), mine.name, make_token(relay(), "mine", "app:web", app_key));
    EXPECT_EQ(after.status, 401) << after.reason;
    // A regenerated app key replaces the old one.
    co_await api_ok(relay(), "PUT", "/apps/web/hybridConnections/localhost/mine");
    auto fresh = co_await api_ok(relay(), "POST", "/apps/web/regenerateKeys");
    auto old_key = co_await open_sender(relay(), mine.name, make_token(relay(), "mine", "app:web", app_key));
    EXPECT_EQ(old_key.status, 401) << old_key.reason;
    EXPECT_NE(json_text(fresh, "primaryKey"), app_key);
  });
}

// A documented path with its parameters filled in (objects that do not exist, so nothing changes).
std::string concrete_path(std::string_view pattern) {
  std::string out(pattern);
  for (auto [param, value] : {std::pair{"{ns}", "localhost"}, std::pair{"{name}", "no-such-hc"},
                              std::pair{"{rule}", "no-such-rule"}, std::pair{"{plan}", "no-such-plan"},
                              std::pair{"{app}", "no-such-app"}})
    if (auto at = out.find(param); at != std::string::npos) out.replace(at, std::strlen(param), value);
  return out;
}

TEST_F(management_api_test, every_documented_path_is_served) {
  run([&]() -> task<> {
    auto doc_response = co_await api_call(relay(), "GET", "/openapi.json", {}, no_token);
    require_eq(doc_response.status, 200, "openapi.json without a token");
    auto doc = json::parse(doc_response.body);
    int operations = 0;
    for (const auto& [path, item] : doc.at("paths").as_object()) {
      auto concrete = concrete_path(path);
      for (const auto& [method, op] : item.as_object()) {
        std::string m(method);
        for (auto& c : m) c = char(std::toupper(static_cast<unsigned char>(c)));
        auto r = co_await api_call(relay(), m, concrete, m == "GET" || m == "DELETE" ? "" : "{}");
        ++operations;
        EXPECT_NE(r.status, 405) << m << " " << concrete << ": " << r.body;
        EXPECT_EQ(error_message(r).find("no API resource"), std::string::npos)
            << m << " " << concrete << ": " << r.body;
        EXPECT_LT(r.status, 500) << m << " " << concrete << ": " << r.body;
      }
    }
    EXPECT_GE(operations, 30);
    auto unknown = co_await api_call(relay(), "GET", "/no/such/path");
    EXPECT_EQ(unknown.status, 404);
    EXPECT_NE(error_message(unknown).find("no API resource"), std::string::npos);
    auto wrong_method = co_await api_call(relay(), "PATCH", "/plans");
    EXPECT_EQ(wrong_method.status, 405);
  });
}

TEST_F(management_api_test, deleting_a_hybrid_connection_removes_it_from_apps_and_plans) {
  run([&]() -> task<> {
    co_await make_plan(relay(), "p", "Basic", "web|api");
    co_await make_endpoint_hc(relay(), "shared");
    co_await api_ok(relay(), "PUT", "/apps/web/hybridConnections/localhost/shared");
    co_await api_ok(relay(), "PUT", "/apps/api/hybridConnections/localhost/shared");
    auto view = co_await api_ok(relay(), "GET", "/namespaces/localhost/hybridConnections/shared");
    EXPECT_EQ(view.at("apps").as_array().size(), 2u);
    co_await delete_hc(relay(), "shared");
    auto plan = co_await api_ok(relay(), "GET", "/plans/p");
    EXPECT_EQ(plan.at("hybridConnectionsUsed"), 0);
    auto app = co_await api_ok(relay(), "GET", "/apps/web");
    EXPECT_TRUE(app.at("hybridConnections").as_array().empty());
  });
}

TEST_F(management_api_test, plans_apps_and_links_survive_a_restart) {
  run([&]() -> task<> {
    co_await make_plan(relay(), "p", "Standard", "web");
    co_await make_endpoint_hc(relay(), "kept");
    co_await api_ok(relay(), "PUT", "/apps/web/hybridConnections/localhost/kept");
  });
  relay_.reset();
  fs::remove(dir_.path() / "relay" / "root.connection-string");  // rewritten once the new relay listens
  relay_.emplace(dir_.path());
  run([&]() -> task<> {
    auto plan = co_await api_ok(relay(), "GET", "/plans/p");
    EXPECT_EQ(plan.at("sku"), "Standard");
    EXPECT_EQ(plan.at("hybridConnectionsUsed"), 1);
    auto keys = co_await api_ok(relay(), "POST", "/apps/web/listKeys");
    auto mine = co_await rule_key(relay(), "kept", "defaultListener");
    auto control =
        co_await connect_listener(relay(), "kept", make_token(relay(), "kept", "defaultListener", mine));
    auto t = co_await open_tunnel(relay(), control, "kept",
                                  make_token(relay(), "kept", "app:web", json_text(keys, "primaryKey")));
    co_await send_frame(t.sender, opcode::text, true, "after restart");
    auto got = co_await read_frame(t.listener, "listener leg");
    EXPECT_EQ(got.payload, "after restart");
  });
}

}  // namespace
}  // namespace hc::test

namespace hc::test {
namespace {

// A call to the relay at host 127.0.0.1 (which the development certificate covers), so the
// request's Host names another namespace than "localhost".
task<net::http_response> call_at_loopback(const relay_process& relay, std::string method, std::string path,
                                          std::string token, std::string body = {}) {
  net::http_call call;
  call.method = method;
  call.url = "https://127.0.0.1:" + std::to_string(relay.port()) + "/api/v1" + path;
  call.headers = {{"Authorization", token}};
  if (!body.empty()) call.headers.emplace_back("Content-Type", "application/json");
  call.body = std::move(body);
  call.tls = relay.tls();
  call.timeout = 10s;
  auto r = co_await net::call_http(std::move(call));
  require(r.response.has_value(), method + " " + path + " at 127.0.0.1 failed: " + r.error);
  co_return std::move(*r.response);
}

TEST_F(management_api_test, another_namespaces_manage_key_manages_that_namespace_only) {
  run([&]() -> task<> {
    auto created = co_await api_call(relay(), "PUT", "/namespaces/loopback", R"({"host":"127.0.0.1"})");
    require_eq(created.status, 201, "create namespace: " + created.body);
    auto clash = co_await api_call(relay(), "PUT", "/namespaces/other", R"({"host":"127.0.0.1"})");
    EXPECT_EQ(clash.status, 409) << clash.body;
    auto keys = co_await api_ok(relay(), "POST",
                                "/namespaces/loopback/authorizationRules/RootManageSharedAccessKey/listKeys");
    auto token =
        proto::make_sas_token("http://127.0.0.1/", "RootManageSharedAccessKey", json_text(keys, "primaryKey"),
                              net::unix_now() + std::chrono::seconds(1h).count());
    auto mine = co_await call_at_loopback(relay(), "GET", "/namespaces", token);
    require_eq(mine.status, 200, "list namespaces: " + mine.body);
    auto list = boost::json::parse(mine.body).as_array();
    require_eq(list.size(), std::size_t(1), "namespaces a loopback key sees");
    EXPECT_EQ(list[0].at("name"), "loopback");
    auto own = co_await call_at_loopback(relay(), "PUT", "/namespaces/loopback/hybridConnections/svc", token,
                                         R"({"endpoint":"svc.internal:80"})");
    EXPECT_EQ(own.status, 201) << own.body;
    auto other = co_await call_at_loopback(relay(), "GET", "/namespaces/localhost/hybridConnections", token);
    EXPECT_EQ(other.status, 403) << other.body;
    auto plans = co_await call_at_loopback(relay(), "GET", "/plans", token);
    EXPECT_EQ(plans.status, 403) << plans.body;
    EXPECT_NE(error_message(plans).find("relay's namespace"), std::string::npos) << plans.body;
    // The relay administrator adds it to an app: the app's connections name its host.
    co_await make_plan(relay(), "p", "Basic", "web");
    co_await api_ok(relay(), "PUT", "/apps/web/hybridConnections/loopback/svc");
    auto app_keys = co_await api_ok(relay(), "POST", "/apps/web/listKeys");
    auto listing = co_await api_call(relay(), "GET", "/apps/web/connections", {},
                                     make_token(relay(), "", "app:web", json_text(app_keys, "primaryKey")));
    require_eq(listing.status, 200, "connections: " + listing.body);
    auto v = boost::json::parse(listing.body);
    EXPECT_EQ(v.at("hybridConnections").at(0).at("namespaceHost"), "127.0.0.1");
  });
}

}  // namespace
}  // namespace hc::test
