// relay/api/rules: the authorization-rule family of the management API, on a namespace
// (/namespaces/{ns}/authorizationRules...) or on a hybrid connection
// (/namespaces/{ns}/hybridConnections/{name}/authorizationRules...): list, show, create or
// change rights, delete, listKeys (keys and connection strings) and regenerateKeys (one key;
// tokens signed with the old key are refused from then on, open connections stay up).
#include "proto/encoding.hpp"
#include "proto/sas.hpp"
#include "relay/api/route.hpp"
#include "relay/model/hc_operations.hpp"
#include "relay/model/namespace_operations.hpp"

#include <boost/json.hpp>

namespace hc::relay {
namespace {
namespace json = boost::json;

rule_scope scope_of(const api_call& call) {
  auto name = call.params.find("name");
  return {call.param("ns"), name == call.params.end() ? std::string() : name->second};
}

json::array rights_array(unsigned bits) {
  json::array out;
  for (auto [r, text] : {std::pair{proto::rights::manage, "Manage"},
                         std::pair{proto::rights::listen, "Listen"}, std::pair{proto::rights::send, "Send"}})
    if (bits & unsigned(r)) out.push_back(json::string(text));
  return out;
}

json::object rule_view(const store::rule_record& r) {
  return {{"name", r.name}, {"rights", rights_array(r.rights)}};
}

json::object keys_view(const relay_context& ctx, const store::rule_record& r) {
  auto o = rule_view(r);
  o["keyName"] = r.name;
  o["primaryKey"] = r.primary_key;
  o["secondaryKey"] = r.secondary_key;
  auto ns = ctx.entities.by_name(r.namespace_name);
  if (ns) {
    o["primaryConnectionString"] = connection_string_for(ctx, *ns, r, false);
    o["secondaryConnectionString"] = connection_string_for(ctx, *ns, r, true);
  }
  return o;
}

proto::result<store::rule_record> find_rule(relay_context& ctx, const rule_scope& scope,
                                            const std::string& name) {
  auto rules = list_rules(ctx, scope);
  if (!rules) return rules.error();
  for (auto& r : *rules)
    if (r.name == name) return r;
  return proto::error::not_found("no authorization rule '" + name + "' on " +
                                 (scope.entity.empty() ? "namespace '" + scope.namespace_name + "'"
                                                       : "hybrid connection '" + scope.entity + "'"));
}

net::task<std::string> list_route(api_call& call) {
  auto rules = list_rules(call.ctx, scope_of(call));
  if (!rules) co_return error_response(rules.error());
  json::array out;
  for (const auto& r : *rules) out.push_back(rule_view(r));
  co_return json_response(200, out);
}

net::task<std::string> show_route(api_call& call) {
  auto r = find_rule(call.ctx, scope_of(call), call.param("rule"));
  if (!r) co_return error_response(r.error());
  co_return json_response(200, rule_view(*r));
}

net::task<std::string> create_or_update(api_call& call) {
  auto name = validate_resource_name("rule", call.param("rule"));
  if (!name) co_return error_response(name.error());
  auto body = body_object(call);
  if (!body) co_return error_response(body.error());
  if (auto ok = only_fields(*body, {"rights"}); !ok) co_return error_response(ok.error());
  auto rights = proto::rights_field(*body);
  if (!rights) co_return error_response(rights.error());
  auto scope = scope_of(call);
  auto done = co_await put_rule(call.ctx, scope, *name, *rights);
  if (!done) co_return error_response(done.error());
  auto r = find_rule(call.ctx, scope, *name);
  if (!r) co_return error_response(r.error());
  co_return json_response(*done == outcome::created ? 201 : 200, rule_view(*r));
}

net::task<std::string> delete_route(api_call& call) {
  auto scope = scope_of(call);  // named: net/types.hpp
  auto done = co_await delete_rule(call.ctx, scope, call.param("rule"));
  if (!done) co_return error_response(done.error());
  co_return no_content();
}

net::task<std::string> list_keys(api_call& call) {
  auto r = find_rule(call.ctx, scope_of(call), call.param("rule"));
  if (!r) co_return error_response(r.error());
  co_return json_response(200, keys_view(call.ctx, *r));
}

// Body {"keyType": "PrimaryKey" | "SecondaryKey"} as in ARM.
net::task<std::string> regenerate(api_call& call) {
  auto body = body_object(call);
  if (!body) co_return error_response(body.error());
  if (auto ok = only_fields(*body, {"keyType"}); !ok) co_return error_response(ok.error());
  auto type = string_field(*body, "keyType");
  if (!type) co_return error_response(type.error());
  if (!*type || (!proto::iequals(**type, "PrimaryKey") && !proto::iequals(**type, "SecondaryKey")))
    co_return error_response(proto::error::bad_request("keyType: required, PrimaryKey or SecondaryKey"));
  auto slot = proto::iequals(**type, "PrimaryKey") ? key_slot::primary : key_slot::secondary;
  auto scope = scope_of(call);
  auto r = co_await regenerate_rule_key(call.ctx, scope, call.param("rule"), slot);
  if (!r) co_return error_response(r.error());
  co_return json_response(200, keys_view(call.ctx, *r));
}

}  // namespace

std::vector<api_route> rule_routes() {
  using enum api_access;
  std::vector<api_route> out;
  // The same operations on both scopes; patterns are static strings.
  static constexpr std::string_view ns = "/namespaces/{ns}/authorizationRules";
  static constexpr std::string_view hc = "/namespaces/{ns}/hybridConnections/{name}/authorizationRules";
  static const std::string paths[] = {std::string(ns),
                                      std::string(ns) + "/{rule}",
                                      std::string(ns) + "/{rule}/listKeys",
                                      std::string(ns) + "/{rule}/regenerateKeys",
                                      std::string(hc),
                                      std::string(hc) + "/{rule}",
                                      std::string(hc) + "/{rule}/listKeys",
                                      std::string(hc) + "/{rule}/regenerateKeys"};
  for (int base : {0, 4}) {
    out.push_back({"GET", paths[base], namespace_manage, list_route});
    out.push_back({"GET", paths[base + 1], namespace_manage, show_route});
    out.push_back({"PUT", paths[base + 1], namespace_manage, create_or_update});
    out.push_back({"DELETE", paths[base + 1], namespace_manage, delete_route});
    out.push_back({"POST", paths[base + 2], namespace_manage, list_keys});
    out.push_back({"POST", paths[base + 3], namespace_manage, regenerate});
  }
  return out;
}

}  // namespace hc::relay
