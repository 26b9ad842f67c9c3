// relay/model/authorizer: SAS verification against catalog rules (see authorizer.hpp).
#include "relay/model/authorizer.hpp"

#include "proto/encoding.hpp"

namespace hc::relay {
namespace {

const auth_rule* find_rule(const std::vector<auth_rule>& rules, std::string_view name) {
  for (const auto& r : rules)
    if (r.record.name == name) return &r;
  return nullptr;
}

std::string_view need_name(proto::rights need) {
  if (need == proto::rights::listen) return "Listen";
  if (need == proto::rights::send) return "Send";
  return "Manage";
}

std::string where(const namespace_entry& ns, std::string_view entity_path) {
  return "sb://" + ns.host() + "/" + std::string(entity_path);
}

}  // namespace

proto::result<authorization> authorize(const namespace_entry& ns, const hybrid_connection* entity,
                                       std::string_view entity_path, proto::rights need,
                                       std::string_view token, std::int64_t now_unix) {
  if (token.empty())
    return proto::error::unauthorized(
        "No authorization token was provided for " + where(ns, entity_path) +
        ": send a SAS token in the ServiceBusAuthorization header or the sb-hc-token query parameter");
  auto parsed = proto::parse_sas_token(token);
  if (!parsed) return parsed.error();
  const auth_rule* rule = entity ? find_rule(entity->rules, parsed->key_name) : nullptr;
  if (!rule) rule = find_rule(ns.rules, parsed->key_name);
  if (!rule && entity) rule = find_rule(entity->app_rules, parsed->key_name);  // "app:{APP}", Send only
  if (!rule)
    return proto::error::unauthorized("The token names the authorization rule '" + parsed->key_name +
                                      "', which does not exist on " + where(ns, entity_path) +
                                      " or its namespace: check SharedAccessKeyName");
  if (!rule->primary->verifies(*parsed) && !rule->secondary->verifies(*parsed))
    return proto::error::unauthorized(
        "The token has an invalid signature: it was not signed with a current key of rule '" +
        parsed->key_name + "' (a regenerated key invalidates old tokens)");
  if (parsed->expiry <= now_unix)
    return proto::error::unauthorized("The token has expired (se=" + std::to_string(parsed->expiry) + " is " +
                                      std::to_string(now_unix - parsed->expiry) +
                                      " s in the past): make a fresh token and check this machine's clock");
  auto scope = proto::token_scope(parsed->resource);
  if (!scope) return scope.error();
  if (!proto::scope_covers(*scope, ns.host(), entity_path))
    return proto::error::forbidden("The token is for sb://" + scope->host + "/" + scope->path +
                                   ", which does not cover " + where(ns, entity_path));
  if (!proto::grants(rule->rights(), need))
    return proto::error::forbidden("Authorization rule '" + rule->record.name + "' has rights " +
                                   proto::to_string(rule->rights()) + "; this operation needs " +
                                   std::string(need_name(need)));
  return authorization{parsed->expiry, rule->record.name};
}

token_source token_source_of(const net::http_request& request, std::string_view query_token) {
  if (!query_token.empty()) return token_source::query;
  if (!request.header("ServiceBusAuthorization").empty()) return token_source::service_bus_authorization;
  if (!request.header("Authorization").empty()) return token_source::authorization;
  return token_source::none;
}

std::string token_from(const net::http_request& request, std::string_view query_token) {
  switch (token_source_of(request, query_token)) {
    case token_source::query:
      return std::string(query_token);
    case token_source::service_bus_authorization:
      return std::string(request.header("ServiceBusAuthorization"));
    case token_source::authorization:
      return std::string(request.header("Authorization"));
    case token_source::none:
      break;
  }
  return {};
}

namespace {

// Header names the relay consumes and never forwards to a listener.
bool is_relay_auth_header(std::string_view name) {
  return proto::iequals(name, "ServiceBusAuthorization") || proto::iequals(name, "Authorization");
}

}  // namespace

proto::header_list headers_without_credentials(const net::http_request& request,
                                               bool authorization_consumed) {
  proto::header_list out;
  for (const auto& [k, v] : request.headers) {
    bool is_authorization = proto::iequals(k, "Authorization");
    if (is_relay_auth_header(k) && (!is_authorization || authorization_consumed)) continue;
    out.emplace_back(k, v);
  }
  return out;
}

}  // namespace hc::relay
