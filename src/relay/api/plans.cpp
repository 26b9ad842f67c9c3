// relay/api/plans: the App Service plan family of the management API: list, show (SKU, limit,
// distinct hybrid connections used and, per hybrid connection, the apps of the plan that use
// it), create or change SKU (refused below current use, with the numbers) and delete (refused
// while apps are in the plan). Relay-wide objects: relay administrators only (api/router.cpp).
#include "proto/encoding.hpp"
#include "relay/api/route.hpp"
#include "relay/model/app_operations.hpp"
#include "relay/model/hc_operations.hpp"

#include <boost/json.hpp>

namespace hc::relay {
namespace {
namespace json = boost::json;

json::object plan_view(const relay_context& ctx, const app_state& state, const store::plan_record& p) {
  auto usage = state.plan_usage(p.name);
  auto s = parse_sku(p.sku);
  json::array apps, hcs;
  for (const auto* a : state.apps_in_plan(p.name)) apps.push_back(json::string(a->record.name));
  for (const auto& [k, u] : usage) {
    auto o = hc_summary(ctx, u.first);
    json::array users;
    for (const auto& a : u.second) users.push_back(json::string(a));
    o["apps"] = std::move(users);
    hcs.push_back(std::move(o));
  }
  return {{"name", p.name},
          {"sku", p.sku},
          {"hybridConnectionLimit", s ? hybrid_connection_limit(*s) : 0},
          {"hybridConnectionsUsed", usage.size()},
          {"apps", std::move(apps)},
          {"hybridConnections", std::move(hcs)},
          {"createdAt", p.created_at},
          {"updatedAt", p.updated_at}};
}

net::task<std::string> list_plans(api_call& call) {
  auto state = call.ctx.apps.current();
  json::array out;
  for (const auto& [k, p] : state->plans) out.push_back(plan_view(call.ctx, *state, p));
  co_return json_response(200, out);
}

net::task<std::string> show_plan(api_call& call) {
  auto state = call.ctx.apps.current();
  const auto* p = state->plan(call.param("plan"));
  if (!p)
    co_return error_response(
        proto::error::not_found("App Service plan '" + call.param("plan") + "' does not exist"));
  co_return json_response(200, plan_view(call.ctx, *state, *p));
}

// Body {"sku": "Basic"}: required to create; changes the SKU of an existing plan.
net::task<std::string> put_plan_route(api_call& call) {
  auto name = validate_resource_name("name", call.param("plan"));
  if (!name) co_return error_response(name.error());
  auto body = body_object(call);
  if (!body) co_return error_response(body.error());
  if (auto ok = only_fields(*body, {"sku"}); !ok) co_return error_response(ok.error());
  auto text = string_field(*body, "sku");
  if (!text) co_return error_response(text.error());
  std::optional<sku> wanted;
  if (*text) {
    auto s = parse_sku(**text);
    if (!s) co_return error_response(s.error());
    wanted = *s;
  }
  auto done = co_await put_plan(call.ctx, *name, wanted);
  if (!done) co_return error_response(done.error());
  auto state = call.ctx.apps.current();
  co_return json_response(*done == outcome::created ? 201 : 200,
                          plan_view(call.ctx, *state, *state->plan(*name)));
}

net::task<std::string> delete_plan_route(api_call& call) {
  auto done = co_await delete_plan(call.ctx, call.param("plan"));
  if (!done) co_return error_response(done.error());
  co_return no_content();
}

}  // namespace

std::vector<api_route> plan_routes() {
  using enum api_access;
  return {
      {"GET", "/plans", relay_admin, list_plans},
      {"GET", "/plans/{plan}", relay_admin, show_plan},
      {"PUT", "/plans/{plan}", relay_admin, put_plan_route},
      {"DELETE", "/plans/{plan}", relay_admin, delete_plan_route},
  };
}

}  // namespace hc::relay
