// relay/api/common: JSON responses, error bodies, the request body and the {ns} /
// {name} lookups every API family uses (see api/api.hpp). Pure helpers over the call; no routing
// (api/router.cpp) and no resource semantics (api/*.cpp).
#include "proto/encoding.hpp"
#include "relay/api/route.hpp"
#include "relay/model/hc_operations.hpp"

#include <boost/json.hpp>
#include <iterator>

namespace hc::relay {
namespace json = boost::json;

std::string json_response(int status, const json::value& v) {
  return net::format_response(status, {},
                              {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}},
                              json::serialize(v) + "\n");
}

std::string no_content() {
  return net::format_response(204, {}, {});
}

proto::result<json::object> body_object(const api_call& call) {
  return proto::parse_json_object(call.request.body);
}

std::string error_response(const proto::error& e) {
  // One per proto::errc, in its order (the static_assert keeps them in step).
  static constexpr std::string_view codes[] = {
      "",         "BadRequest", "Unauthorized",  "Forbidden",  "NotFound", "Gone",
      "Conflict", "TooLarge",   "InternalError", "BadGateway", "Timeout",  "ServiceUnavailable"};
  static_assert(std::size(codes) == std::size_t(proto::errc::unavailable) + 1);
  return json_response(e.status, {{"error", {{"code", codes[int(e.code)]}, {"message", e.message}}}});
}

json::object hc_summary(const relay_context& ctx, const hc_ref& h) {
  json::object o{{"namespace", h.namespace_name}, {"name", h.name}};
  auto ns = ctx.entities.by_name(h.namespace_name);
  auto it =
      ns ? ns->hybrid_connections.find(proto::to_lower(h.name)) : decltype(ns->hybrid_connections.end()){};
  if (!ns || it == ns->hybrid_connections.end()) {
    o["status"] = "Not found";
    return o;
  }
  auto view = hybrid_connection_view(*it->second);
  for (auto key : {"endpoint", "status", "listenerCount"}) o[key] = view[key];
  return o;
}

std::string iso_time(std::chrono::system_clock::time_point t) {
  auto since = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&since, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

proto::result<std::shared_ptr<const namespace_entry>> namespace_param(const api_call& call) {
  const auto& name = call.param("ns");
  auto ns = call.ctx.entities.by_name(name);
  if (!ns)
    return proto::error::not_found("namespace '" + name + "' does not exist (see GET /api/v1/namespaces)");
  return ns;
}

proto::result<std::shared_ptr<const hybrid_connection>> entity_param(const api_call& call,
                                                                     const namespace_entry& ns) {
  const auto& name = call.param("name");
  auto it = ns.hybrid_connections.find(proto::to_lower(name));
  if (it == ns.hybrid_connections.end())
    return proto::error::not_found("hybrid connection '" + name + "' does not exist in namespace '" +
                                   ns.record.name + "'");
  return it->second;
}

}  // namespace hc::relay
