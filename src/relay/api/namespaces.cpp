// relay/api/namespaces: the namespace family of the management API: list, show and create
// namespaces (each served at its own host name), and the hybrid connections of a namespace
// (list, show with live listeners and the apps that use it, create or update, delete).
// Authorization rules of both live in api/rules.cpp. Routes are registered in api_routes().
#include "proto/encoding.hpp"
#include "proto/endpoint.hpp"
#include "relay/api/route.hpp"
#include "relay/model/hc_operations.hpp"
#include "relay/model/namespace_operations.hpp"

#include <boost/json.hpp>

namespace hc::relay {
namespace {
namespace json = boost::json;

json::object namespace_view(const relay_context& ctx, const namespace_entry& ns) {
  std::string endpoint = "sb://" + ns.host();
  if (ctx.public_port != 443) endpoint += ":" + std::to_string(ctx.public_port);
  return {{"name", ns.record.name},
          {"host", ns.host()},
          {"endpoint", endpoint + "/"},
          {"hybridConnectionCount", ns.hybrid_connections.size()},
          {"relayNamespace", proto::iequals(ns.host(), ctx.public_host)},
          {"createdAt", ns.record.created_at},
          {"updatedAt", ns.record.updated_at}};
}

// A hybrid connection with the apps (any plan) that use it.
json::object entity_view(const relay_context& ctx, const hybrid_connection& h) {
  auto o = hybrid_connection_view(h);
  json::array apps;
  auto state = ctx.apps.current();
  for (const auto* a : state->apps_using({h.record.namespace_name, h.name()}))
    apps.push_back({{"name", a->record.name}, {"plan", a->record.plan}});
  o["apps"] = std::move(apps);
  return o;
}

// PUT body: {"requiresClientAuthorization": bool, "userMetadata": string} or "endpoint": "HOST:PORT".
proto::result<hc_settings> parse_settings(const json::object& o, const hybrid_connection* existing) {
  hc_settings s;
  if (existing) {
    s.requires_client_authorization = existing->record.requires_client_authorization;
    s.user_metadata = existing->record.user_metadata;
  }
  if (auto ok = only_fields(o, {"requiresClientAuthorization", "userMetadata", "endpoint"}); !ok)
    return ok.error();
  auto auth = bool_field(o, "requiresClientAuthorization");
  if (!auth) return auth.error();
  if (*auth) s.requires_client_authorization = **auth;
  auto metadata = string_field(o, "userMetadata");
  if (!metadata) return metadata.error();
  if (*metadata) s.user_metadata = **metadata;
  auto endpoint = string_field(o, "endpoint");
  if (!endpoint) return endpoint.error();
  if (*endpoint) {
    auto ep = proto::parse_endpoint(**endpoint);
    if (!ep) return proto::error::bad_request("endpoint: " + ep.error().message);
    s.user_metadata = proto::user_metadata_for(*ep);
  }
  return s;
}

net::task<std::string> list_namespaces(api_call& call) {
  json::array list;
  for (const auto& ns : call.ctx.entities.namespaces())
    if (call.relay_admin || ns->record.name == call.home->record.name)
      list.push_back(namespace_view(call.ctx, *ns));
  co_return json_response(200, list);
}

net::task<std::string> show_namespace(api_call& call) {
  auto ns = namespace_param(call);
  if (!ns) co_return error_response(ns.error());
  co_return json_response(200, namespace_view(call.ctx, **ns));
}

net::task<std::string> create_namespace(api_call& call) {
  auto body = body_object(call);
  if (!body) co_return error_response(body.error());
  if (auto ok = only_fields(*body, {"host"}); !ok) co_return error_response(ok.error());
  auto name = validate_resource_name("name", call.param("ns"));
  if (!name) co_return error_response(name.error());
  auto host_text = string_field(*body, "host");
  if (!host_text) co_return error_response(host_text.error());
  if (!*host_text)
    co_return error_response(proto::error::bad_request("host: required (the DNS name clients use)"));
  auto host = validate_host_name(**host_text);
  if (!host) co_return error_response(host.error());
  auto done = co_await put_namespace(call.ctx, *name, *host);
  if (!done) co_return error_response(done.error());
  auto ns = call.ctx.entities.by_name(*name);
  auto view = namespace_view(call.ctx, *ns);
  auto& ctx = call.ctx;
  auto warning = co_await ctx.on_store([&] { return ctx.serve_host ? ctx.serve_host(*host) : std::nullopt; });
  if (warning) view["warning"] = *warning;
  co_return json_response(*done == outcome::created ? 201 : 200, view);
}

net::task<std::string> list_entities(api_call& call) {
  auto ns = namespace_param(call);
  if (!ns) co_return error_response(ns.error());
  json::array list;
  for (const auto& [k, h] : (*ns)->hybrid_connections) list.push_back(entity_view(call.ctx, *h));
  co_return json_response(200, list);
}

net::task<std::string> show_entity(api_call& call) {
  auto ns = namespace_param(call);
  if (!ns) co_return error_response(ns.error());
  auto h = entity_param(call, **ns);
  if (!h) co_return error_response(h.error());
  co_return json_response(200, entity_view(call.ctx, **h));
}

net::task<std::string> put_entity(api_call& call) {
  auto ns = namespace_param(call);
  if (!ns) co_return error_response(ns.error());
  const auto& name = call.param("name");
  auto valid = validate_entity_name(name);
  if (!valid) co_return error_response(valid.error());
  auto existing = entity_param(call, **ns);
  auto body = body_object(call);
  if (!body) co_return error_response(body.error());
  auto settings = parse_settings(*body, existing ? existing->get() : nullptr);
  if (!settings) co_return error_response(settings.error());
  auto created = co_await put_hybrid_connection(call.ctx, **ns, name, *settings);
  if (!created) co_return error_response(created.error());
  auto fresh = call.ctx.entities.by_name((*ns)->record.name);
  auto view = entity_view(call.ctx, *fresh->hybrid_connections.at(proto::to_lower(name)));
  co_return json_response(*created == change::created ? 201 : 200, view);
}

net::task<std::string> delete_entity(api_call& call) {
  auto ns = namespace_param(call);
  if (!ns) co_return error_response(ns.error());
  auto deleted = co_await delete_hybrid_connection(call.ctx, **ns, call.param("name"));
  if (!deleted) co_return error_response(deleted.error());
  co_return no_content();
}

}  // namespace

std::vector<api_route> namespace_routes() {
  using enum api_access;
  return {
      {"GET", "/namespaces", namespace_manage, list_namespaces},
      {"GET", "/namespaces/{ns}", namespace_manage, show_namespace},
      {"PUT", "/namespaces/{ns}", relay_admin, create_namespace},
      {"GET", "/namespaces/{ns}/hybridConnections", namespace_manage, list_entities},
      {"GET", "/namespaces/{ns}/hybridConnections/{name}", namespace_manage, show_entity},
      {"PUT", "/namespaces/{ns}/hybridConnections/{name}", namespace_manage, put_entity},
      {"DELETE", "/namespaces/{ns}/hybridConnections/{name}", namespace_manage, delete_entity},
  };
}

}  // namespace hc::relay
