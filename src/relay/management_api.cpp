// relay/management_api: the REST API under /api/v1 (JSON, Manage-right SAS token on the
// namespace). ARM-like paths:
//   GET    /api/v1/namespaces                                   the namespace at this host
//   GET    /api/v1/namespaces/{ns}/hybridConnections
//   GET|PUT|DELETE /api/v1/namespaces/{ns}/hybridConnections/{name}
//   GET    /api/v1/namespaces/{ns}/hybridConnections/{name}/authorizationRules
//   POST   /api/v1/namespaces/{ns}/hybridConnections/{name}/authorizationRules/{rule}/listKeys
// Errors are JSON {"error":{"code","message"}} with 400/401/403/404/409.
#include "proto/encoding.hpp"
#include "relay/authorizer.hpp"
#include "relay/http_routes.hpp"
#include "relay/management.hpp"

#include <boost/json.hpp>

namespace hc::relay {
namespace {
namespace json = boost::json;

std::string json_response(int status, const json::value& v) {
  return net::format_response(status, {}, {{"Content-Type", "application/json"}}, json::serialize(v) + "\n");
}

std::string error_json(const proto::error& e) {
  static constexpr std::string_view codes[] = {"", "BadRequest", "Unauthorized", "Forbidden", "NotFound", "Gone",
                                               "Conflict", "TooLarge", "InternalError", "BadGateway", "Timeout"};
  return json_response(e.status, {{"error", {{"code", codes[int(e.code)]}, {"message", e.message}}}});
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t at = 0;
  while (at < path.size()) {
    auto slash = path.find('/', at);
    auto part = path.substr(at, slash == std::string_view::npos ? std::string_view::npos : slash - at);
    if (!part.empty()) parts.push_back(proto::percent_decode(part).value_or(std::string(part)));
    if (slash == std::string_view::npos) break;
    at = slash + 1;
  }
  return parts;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// PUT body: {"requiresClientAuthorization": bool, "userMetadata": string} or "endpoint": "host:port".
proto::result<hc_settings> parse_settings(std::string_view body, const hybrid_connection* existing) {
  hc_settings s;
  if (existing) {
    s.requires_client_authorization = existing->record.requires_client_authorization;
    s.user_metadata = existing->record.user_metadata;
  }
  if (body.empty()) return s;
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return proto::error::bad_request("the request body must be a JSON object: " + ec.message());
  const auto& o = v.as_object();
  for (const auto& [k, val] : o) {
    if (k == "requiresClientAuthorization") {
      if (!val.is_bool()) return proto::error::bad_request("requiresClientAuthorization must be true or false");
      s.requires_client_authorization = val.as_bool();
    } else if (k == "userMetadata") {
      if (!val.is_string()) return proto::error::bad_request("userMetadata must be a string");
      s.user_metadata = std::string(val.as_string());
    } else if (k == "endpoint") {
      if (!val.is_string()) return proto::error::bad_request("endpoint must be a string HOST:PORT");
      auto ep = proto::parse_endpoint(val.as_string());
      if (!ep) return ep.error();
      s.user_metadata = proto::user_metadata_for(*ep);
    } else {
      return proto::error::bad_request("unknown field '" + std::string(k) +
                                       "': use requiresClientAuthorization, userMetadata or endpoint");
    }
  }
  return s;
}

json::object rule_view(const store::rule_record& r) {
  return {{"name", r.name}, {"rights", proto::to_string(proto::rights(r.rights))}};
}

}  // namespace

net::task<std::string> handle_management(relay_context& ctx, const net::http_request& request, const namespace_entry& ns_in,
                                         const std::string& tracking_id) {
  auto auth = authorize(ns_in, nullptr, "", proto::rights::manage, token_from(request, {}), unix_now());
  if (!auth) {
    ctx.metrics.auth_failure("management", auth.error().status);
    co_return error_json(auth.error());
  }
  std::string_view path = request.target;
  auto parts = split_path(path.substr(0, path.find('?')));  // api, v1, ...
  const auto& m = request.method;
  auto ns_ptr = ctx.entities.by_name(ns_in.record.name);  // freshest snapshot
  const auto& ns = *ns_ptr;
  if (parts.size() == 3 && parts[2] == "namespaces" && m == "GET") {
    json::array list;
    list.push_back({{"name", ns.record.name}, {"host", ns.host()}, {"createdAt", ns.record.created_at},
                    {"updatedAt", ns.record.updated_at}});
    co_return json_response(200, list);
  }
  if (parts.size() < 5 || parts[2] != "namespaces" || parts[4] != "hybridConnections")
    co_return error_json(proto::error::not_found("no API resource at " + std::string(path)));
  if (parts[3] != ns.record.name)
    co_return error_json(proto::error::not_found("namespace '" + parts[3] + "' is not served at this host (this is '" +
                                                 ns.record.name + "')"));
  if (parts.size() == 5) {
    if (m != "GET") co_return error_json(proto::error::bad_request(m + " is not allowed here; use GET"));
    json::array list;
    for (const auto& [k, h] : ns.hybrid_connections) list.push_back(hybrid_connection_view(*h));
    co_return json_response(200, list);
  }
  const std::string& name = parts[5];
  auto it = ns.hybrid_connections.find(proto::to_lower(name));
  const hybrid_connection* entity = it == ns.hybrid_connections.end() ? nullptr : it->second.get();
  if (parts.size() == 6) {
    if (m == "GET") {
      if (!entity) co_return error_json(proto::error::not_found("hybrid connection '" + name + "' does not exist"));
      co_return json_response(200, hybrid_connection_view(*entity));
    }
    if (m == "PUT") {
      auto valid = validate_entity_name(name);
      if (!valid) co_return error_json(valid.error());
      auto settings = parse_settings(request.body, entity);
      if (!settings) co_return error_json(settings.error());
      auto created = co_await put_hybrid_connection(ctx, ns, name, *settings);
      if (!created) co_return error_json(created.error());
      auto fresh = ctx.entities.by_name(ns.record.name);
      auto view = hybrid_connection_view(*fresh->hybrid_connections.at(proto::to_lower(name)));
      co_return json_response(*created == change::created ? 201 : 200, view);
    }
    if (m == "DELETE") {
      auto deleted = co_await delete_hybrid_connection(ctx, ns, name);
      if (!deleted) co_return error_json(deleted.error());
      co_return net::format_response(204, {}, {});
    }
    co_return error_json(proto::error::bad_request(m + " is not allowed here; use GET, PUT or DELETE"));
  }
  if (!entity) co_return error_json(proto::error::not_found("hybrid connection '" + name + "' does not exist"));
  if (parts.size() == 7 && parts[6] == "authorizationRules" && m == "GET") {
    json::array list;
    for (const auto& r : entity->rules) list.push_back(rule_view(r.record));
    co_return json_response(200, list);
  }
  if (parts.size() == 9 && parts[6] == "authorizationRules" && parts[8] == "listKeys" && m == "POST") {
    for (const auto& r : entity->rules) {
      if (r.record.name != parts[7]) continue;
      json::object o = rule_view(r.record);
      o["primaryKey"] = r.record.primary_key;
      o["secondaryKey"] = r.record.secondary_key;
      o["primaryConnectionString"] = connection_string_for(ctx, ns, r.record, false);
      o["secondaryConnectionString"] = connection_string_for(ctx, ns, r.record, true);
      co_return json_response(200, o);
    }
    co_return error_json(proto::error::not_found("hybrid connection '" + entity->name() + "' has no rule '" + parts[7] + "'"));
  }
  co_return error_json(proto::error::not_found("no API resource at " + std::string(path)));
}

}  // namespace hc::relay
