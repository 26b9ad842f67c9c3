// relay/api/apps: the app family of the management API: apps (list, show, create or move to
// another plan, delete), the app's Send credential (listKeys, regenerateKeys), its hybrid
// connections (list; add an existing one; create a new one with the portal's four fields and add
// it; details with the apps of the same plan and the gateway connection string; Disconnect), and
// GET /apps/{app}/connections, which hcconnect polls with the app credential (no keys in it), and
// the one key that credential may fetch: a used hybrid connection's gateway connection string.
#include "proto/encoding.hpp"
#include "proto/endpoint.hpp"
#include "relay/api/route.hpp"
#include "relay/model/app_operations.hpp"
#include "relay/model/hc_operations.hpp"

#include <boost/json.hpp>

namespace hc::relay {
namespace {
namespace json = boost::json;

proto::error no_app(const std::string& name) {
  return proto::error::not_found("app '" + name + "' does not exist (see GET /api/v1/apps)");
}

json::object app_view(const relay_context& ctx, const app_state& state, const app_entry& a) {
  const auto* p = state.plan(a.record.plan);
  json::array hcs;
  for (const auto& l : a.links) hcs.push_back(hc_summary(ctx, l));
  return {{"name", a.record.name},
          {"plan", a.record.plan},
          {"sku", p ? p->sku : std::string()},
          {"keyName", app_key_name(a.record.name)},
          {"hybridConnections", std::move(hcs)},
          {"createdAt", a.record.created_at},
          {"updatedAt", a.record.updated_at}};
}

std::string relay_url(const api_call& call) {
  std::string url = (call.ctx.tls ? "https://" : "http://") + call.home->host();
  if (call.ctx.public_port != (call.ctx.tls ? 443 : 80)) url += ":" + std::to_string(call.ctx.public_port);
  return url;
}

json::object key_view(const api_call& call, const app_entry& a) {
  return {{"keyName", app_key_name(a.record.name)},
          {"primaryKey", a.record.send_key},
          {"relay", relay_url(call)},
          {"hcconnect", "hcconnect --relay " + relay_url(call) + " --app " + a.record.name +
                            " --app-key KEY run-service"}};
}

net::task<std::string> list_apps(api_call& call) {
  auto state = call.ctx.apps.current();
  json::array out;
  for (const auto& [k, a] : state->apps) out.push_back(app_view(call.ctx, *state, a));
  co_return json_response(200, out);
}

net::task<std::string> show_app(api_call& call) {
  auto state = call.ctx.apps.current();
  const auto* a = state->app(call.param("app"));
  if (!a) co_return error_response(no_app(call.param("app")));
  co_return json_response(200, app_view(call.ctx, *state, *a));
}

// Body {"plan": "P"}: required to create; moves an existing app to another plan.
net::task<std::string> put_app_route(api_call& call) {
  auto name = validate_resource_name("name", call.param("app"));
  if (!name) co_return error_response(name.error());
  auto body = body_object(call);
  if (!body) co_return error_response(body.error());
  if (auto ok = only_fields(*body, {"plan"}); !ok) co_return error_response(ok.error());
  auto plan = string_field(*body, "plan");
  if (!plan) co_return error_response(plan.error());
  if (!*plan || (*plan)->empty())
    co_return error_response(
        proto::error::bad_request("plan: required, the App Service plan the app runs in"));
  auto done = co_await put_app(call.ctx, *name, **plan);
  if (!done) co_return error_response(done.error());
  auto state = call.ctx.apps.current();
  co_return json_response(*done == outcome::created ? 201 : 200,
                          app_view(call.ctx, *state, *state->app(*name)));
}

net::task<std::string> delete_app_route(api_call& call) {
  auto done = co_await delete_app(call.ctx, call.param("app"));
  if (!done) co_return error_response(done.error());
  co_return no_content();
}

net::task<std::string> list_keys(api_call& call) {
  auto state = call.ctx.apps.current();
  const auto* a = state->app(call.param("app"));
  if (!a) co_return error_response(no_app(call.param("app")));
  co_return json_response(200, key_view(call, *a));
}

net::task<std::string> regenerate_keys(api_call& call) {
  auto done = co_await regenerate_app_key(call.ctx, call.param("app"));
  if (!done) co_return error_response(done.error());
  auto state = call.ctx.apps.current();
  co_return json_response(200, key_view(call, *state->app(call.param("app"))));
}

net::task<std::string> list_links(api_call& call) {
  auto state = call.ctx.apps.current();
  const auto* a = state->app(call.param("app"));
  if (!a) co_return error_response(no_app(call.param("app")));
  json::array out;
  for (const auto& l : a->links) out.push_back(hc_summary(call.ctx, l));
  co_return json_response(200, out);
}

// What the portal's hybrid connection details show, in the app's context.
proto::result<json::object> link_details(const api_call& call, const std::string& app_name) {
  auto state = call.ctx.apps.current();
  const auto* a = state->app(app_name);
  if (!a) return no_app(app_name);
  hc_ref wanted{call.param("ns"), call.param("name")};
  if (!a->uses(wanted))
    return proto::error::not_found("app '" + a->record.name + "' does not use hybrid connection " +
                                   wanted.to_string());
  auto ns = call.ctx.entities.by_name(wanted.namespace_name);
  auto it = ns ? ns->hybrid_connections.find(proto::to_lower(wanted.name))
               : decltype(ns->hybrid_connections.end()){};
  if (!ns || it == ns->hybrid_connections.end())
    return proto::error::not_found("hybrid connection " + wanted.to_string() + " no longer exists");
  const auto& h = *it->second;
  auto o = hybrid_connection_view(h);
  o["namespaceHost"] = ns->host();
  o["app"] = a->record.name;
  o["plan"] = a->record.plan;
  json::array same_plan;
  for (const auto* other : state->apps_using({ns->record.name, h.name()}))
    if (proto::iequals(other->record.plan, a->record.plan))
      same_plan.push_back(json::string(other->record.name));
  o["appsInPlan"] = std::move(same_plan);
  for (const auto& r : h.rules)
    if (r.record.name == "defaultListener")
      o["gatewayConnectionString"] = connection_string_for(call.ctx, *ns, r.record, false);
  return o;
}

net::task<std::string> show_link(api_call& call) {
  auto details = link_details(call, call.param("app"));
  if (!details) co_return error_response(details.error());
  co_return json_response(200, *details);
}

// "Add hybrid connection": an existing one, which must require client authorization and name an
// endpoint. 201 when added, 200 when the app already used it.
net::task<std::string> add_link(api_call& call) {
  auto h = usable_hybrid_connection(call.ctx, call.param("ns"), call.param("name"));
  if (!h) co_return error_response(h.error());
  auto done = co_await link_hybrid_connection(call.ctx, call.param("app"), *h);
  if (!done) co_return error_response(done.error());
  auto details = link_details(call, call.param("app"));
  if (!details) co_return error_response(details.error());
  co_return json_response(*done == outcome::created ? 201 : 200, *details);
}

net::task<std::string> disconnect(api_call& call) {
  hc_ref link{call.param("ns"), call.param("name")};
  auto done = co_await unlink_hybrid_connection(call.ctx, call.param("app"), link);
  if (!done) co_return error_response(done.error());
  co_return no_content();
}

// "Create new hybrid connection": {name, endpointHost, endpointPort, namespace}. The new one
// requires client authorization and carries the endpoint metadata; it is added to the app.
net::task<std::string> create_link(api_call& call) {
  auto state = call.ctx.apps.current();
  const auto* a = state->app(call.param("app"));
  if (!a) co_return error_response(no_app(call.param("app")));
  auto body = body_object(call);
  if (!body) co_return error_response(body.error());
  if (auto ok = only_fields(*body, {"name", "endpointHost", "endpointPort", "namespace"}); !ok)
    co_return error_response(ok.error());
  auto name = string_field(*body, "name");
  if (!name) co_return error_response(name.error());
  if (!*name || (*name)->empty())
    co_return error_response(proto::error::bad_request("name: required, the endpoint name"));
  if (auto valid = validate_entity_name(**name); !valid)
    co_return error_response(proto::error::bad_request("name: " + valid.error().message));
  auto host = string_field(*body, "endpointHost");
  if (!host) co_return error_response(host.error());
  if (!*host || (*host)->empty())
    co_return error_response(
        proto::error::bad_request("endpointHost: required, the DNS name of the endpoint"));
  auto port = proto::port_field(*body);
  if (!port) co_return error_response(port.error());
  auto ep = proto::parse_endpoint(**host + ":" + std::to_string(*port));
  if (!ep) co_return error_response(proto::error::bad_request("endpointHost: " + ep.error().message));
  auto ns_name = string_field(*body, "namespace");
  if (!ns_name) co_return error_response(ns_name.error());
  if (!*ns_name || (*ns_name)->empty())
    co_return error_response(
        proto::error::bad_request("namespace: required, the relay namespace to create it in"));
  auto ns = call.ctx.entities.by_name(**ns_name);
  if (!ns)
    co_return error_response(
        proto::error::bad_request("namespace: no namespace '" + **ns_name + "' on this relay"));
  if (!call.relay_admin && ns->record.name != call.home->record.name)
    co_return error_response(
        proto::error::forbidden("namespace: this key cannot create in namespace '" + **ns_name + "'"));
  if (ns->hybrid_connections.contains(proto::to_lower(**name)))
    co_return error_response(proto::error::conflict(
        "name: hybrid connection '" + **name + "' already exists in namespace '" + ns->record.name +
        "'; add the existing one instead (PUT /apps/" + a->record.name + "/hybridConnections/" +
        ns->record.name + "/" + **name + ")"));
  hc_ref wanted{ns->record.name, **name};
  if (auto room = check_plan_room(*state, *a, wanted); !room) co_return error_response(room.error());
  std::string app_name = a->record.name;
  // Named arguments only around co_await: net/types.hpp.
  hc_settings settings{true, proto::user_metadata_for(*ep)};
  auto created = co_await put_hybrid_connection(call.ctx, *ns, **name, settings);
  if (!created) co_return error_response(created.error());
  auto linked = co_await link_hybrid_connection(call.ctx, app_name, wanted);
  if (!linked) {
    // Another request took the plan's last slot meanwhile: do not leave an orphan behind.
    auto fresh = call.ctx.entities.by_name(ns->record.name);
    co_await delete_hybrid_connection(call.ctx, *fresh, **name);
    co_return error_response(linked.error());
  }
  call.params["ns"] = ns->record.name;
  call.params["name"] = **name;
  auto details = link_details(call, app_name);
  if (!details) co_return error_response(details.error());
  co_return json_response(201, *details);
}

// hcconnect --app: what to listen for. Authorised by the app credential; carries no keys.
net::task<std::string> app_connections(api_call& call) {
  auto state = call.ctx.apps.current();
  const auto* a = state->app(call.param("app"));
  if (!a) co_return error_response(no_app(call.param("app")));
  json::array out;
  for (const auto& l : a->links) {
    auto ns = call.ctx.entities.by_name(l.namespace_name);
    if (!ns) continue;
    auto it = ns->hybrid_connections.find(proto::to_lower(l.name));
    if (it == ns->hybrid_connections.end()) continue;
    auto ep = proto::endpoint_from_user_metadata(it->second->record.user_metadata);
    if (!ep) continue;
    out.push_back({{"namespace", ns->record.name},
                   {"namespaceHost", ns->host()},
                   {"name", it->second->name()},
                   {"endpointHost", ep->host},
                   {"endpointPort", ep->port},
                   {"listenerCount", hc_summary(call.ctx, l).at("listenerCount")}});
  }
  co_return json_response(200, json::object{{"app", a->record.name},
                                            {"keyName", app_key_name(a->record.name)},
                                            {"hybridConnections", std::move(out)}});
}

// hcm add --pick with an app key: the gateway connection string of a hybrid connection the app
// uses (App Service shows it to whoever manages the app), of no other, and only when no other app
// uses it: a listener takes a share of every sender's connections, so the key of app A's host must
// not let it listen for app B (a namespace administrator hands out shared ones). Only a rule with
// exactly the Listen right is handed out.
net::task<std::string> app_gateway_string(api_call& call) {
  auto details = link_details(call, call.param("app"));
  if (!details) co_return error_response(details.error());
  hc_ref wanted{call.param("ns"), call.param("name")};
  auto state = call.ctx.apps.current();
  for (const auto* other : state->apps_using(wanted))
    if (!proto::iequals(other->record.name, call.param("app")))
      co_return error_response(proto::error::forbidden(
          "hybrid connection " + wanted.to_string() + " is shared with app '" + other->record.name +
          "': an app's key gets only the listener string of a hybrid connection no other app uses; ask a "
          "namespace administrator for it (hcm login --key-name RULE, or hcctl hc connection-string)"));
  auto ns = call.ctx.entities.by_name(wanted.namespace_name);
  const store::rule_record* listener = nullptr;
  if (auto it = ns ? ns->hybrid_connections.find(proto::to_lower(wanted.name))
                   : decltype(ns->hybrid_connections.end()){};
      ns && it != ns->hybrid_connections.end())
    for (const auto& r : it->second->rules)
      if (r.record.name == "defaultListener" && r.record.rights == unsigned(proto::rights::listen))
        listener = &r.record;
  if (!listener)
    co_return error_response(proto::error::not_found(
        "hybrid connection " + wanted.to_string() +
        " has no defaultListener rule with only the Listen right to hand out; a namespace administrator can "
        "give hcm its listener connection string (hcctl hc connection-string NAME --rule RULE)"));
  co_return json_response(
      200, json::object{{"namespace", details->at("namespace")},
                        {"name", details->at("name")},
                        {"keyName", listener->name},
                        {"gatewayConnectionString", connection_string_for(call.ctx, *ns, *listener, false)}});
}

}  // namespace

std::vector<api_route> app_routes() {
  using enum api_access;
  return {
      {"GET", "/apps", relay_admin, list_apps},
      {"GET", "/apps/{app}", relay_admin, show_app},
      {"PUT", "/apps/{app}", relay_admin, put_app_route},
      {"DELETE", "/apps/{app}", relay_admin, delete_app_route},
      {"POST", "/apps/{app}/listKeys", relay_admin, list_keys},
      {"POST", "/apps/{app}/regenerateKeys", relay_admin, regenerate_keys},
      {"GET", "/apps/{app}/hybridConnections", relay_admin, list_links},
      {"POST", "/apps/{app}/hybridConnections", relay_admin, create_link},
      {"GET", "/apps/{app}/hybridConnections/{ns}/{name}", relay_admin, show_link},
      {"PUT", "/apps/{app}/hybridConnections/{ns}/{name}", relay_admin, add_link},
      {"DELETE", "/apps/{app}/hybridConnections/{ns}/{name}", relay_admin, disconnect},
      {"GET", "/apps/{app}/connections", app_credential, app_connections},
      {"POST", "/apps/{app}/connections/{ns}/{name}/listKeys", app_credential, app_gateway_string},
  };
}

}  // namespace hc::relay
