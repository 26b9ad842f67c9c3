// relay/api/router: the router of the REST API under /api/v1: matches the path against the
// route table (api/*.cpp), answers 404 for an unknown path and 405 for a known path with another
// method, and applies the one authorisation rule:
//   a Manage SAS token of the namespace served at the request's Host authorises that namespace;
//   when that namespace is the relay's own (its --public-host) the caller is a relay
//   administrator: every namespace, App Service plans and apps. GET /apps/{app}/connections and
//   POST /apps/{app}/connections/{ns}/{name}/listKeys take the app's own credential "app:{app}"
//   instead; /openapi.json needs no token.
// Errors are JSON {"error":{"code","message"}}.
#include "net/clock.hpp"
#include "net/limits.hpp"
#include "proto/encoding.hpp"
#include "proto/sas.hpp"
#include "relay/api/route.hpp"
#include "relay/http_routes.hpp"
#include "relay/model/authorizer.hpp"
#include "relay/model/catalog_sync.hpp"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

namespace hc::relay {
namespace {

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

// Matches decoded path segments against a pattern such as "/plans/{plan}".
bool match(std::string_view pattern, const std::vector<std::string>& parts,
           std::map<std::string, std::string, std::less<>>& params) {
  auto want = split_path(pattern);
  if (want.size() != parts.size()) return false;
  params.clear();
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (want[i].front() == '{')
      params[want[i].substr(1, want[i].size() - 2)] = parts[i];
    else if (want[i] != parts[i])
      return false;
  }
  return true;
}

// The app credential: skn "app:{app}", signed with the app's Send key, for this host, unexpired.
proto::result<void> authorize_app(relay_context& ctx, const namespace_entry& home, const std::string& app,
                                  std::string_view token) {
  if (token.empty())
    return proto::error::unauthorized("no token: sign one with the app's key as " + app_key_name(app));
  auto parsed = proto::parse_sas_token(token);
  if (!parsed) return parsed.error();
  auto state = ctx.apps.current();
  const auto* a = state->app(app);
  if (!a || !proto::iequals(parsed->key_name, app_key_name(a->record.name)))
    return proto::error::unauthorized("the token names '" + parsed->key_name +
                                      "'; this resource takes the credential " + app_key_name(app) +
                                      " of an existing app");
  if (!proto::sas_key(a->record.send_key).verifies(*parsed))
    return proto::error::unauthorized("the token was not signed with the current key of " +
                                      app_key_name(a->record.name));
  if (parsed->expiry <= net::unix_now()) return proto::error::unauthorized("the token has expired");
  auto scope = proto::token_scope(parsed->resource);
  if (!scope) return scope.error();
  if (scope->host != home.host())
    return proto::error::forbidden("the token is for host " + scope->host + ", not " + home.host());
  return {};
}

std::string method_not_allowed(std::string_view path, const std::string& allowed) {
  return net::format_response(
      405, {}, {{"Content-Type", "application/json"}, {"Allow", allowed}},
      boost::json::serialize(boost::json::object{
          {"error", {{"code", "MethodNotAllowed"}, {"message", std::string(path) + " takes " + allowed}}}}) +
          "\n");
}

}  // namespace

const std::vector<api_route>& api_routes() {
  static const std::vector<api_route> all = [] {
    std::vector<api_route> out;
    for (auto family :
         {namespace_routes, rule_routes, plan_routes, app_routes, usage_routes, document_routes}) {
      auto routes = family();
      out.insert(out.end(), routes.begin(), routes.end());
    }
    return out;
  }();
  return all;
}

net::task<std::string> handle_management(relay_context& ctx, http_exchange& x, std::string_view path) {
  const auto& request = x.request;
  auto parts = split_path(path);
  parts.erase(parts.begin(), parts.begin() + std::min<std::size_t>(2, parts.size()));  // "api", "v1"

  co_await read_latest(ctx);  // what another relay of a cluster changed a moment ago holds here too
  api_call call{ctx, request, ctx.entities.by_name(x.ns->record.name), false, {}};
  const api_route* route = nullptr;
  std::string allowed;
  for (const auto& r : api_routes()) {
    if (!match(r.pattern, parts, call.params)) continue;
    allowed += (allowed.empty() ? "" : ", ") + std::string(r.method);
    if (r.method == request.method) {
      route = &r;
      break;
    }
  }
  if (!route) {
    if (!allowed.empty()) co_return method_not_allowed(path, allowed);
    co_return error_response(proto::error::not_found("no API resource at " + std::string(path) +
                                                     ": see GET /api/v1/openapi.json for every path"));
  }
  if (!call.home) co_return error_response(proto::error::not_found("the namespace at this host was deleted"));
  const auto& home = *call.home;

  auto token = token_from(request, {});
  if (route->access == api_access::app_credential) {
    if (auto ok = authorize_app(ctx, home, call.param("app"), token); !ok) {
      ctx.metrics.auth_failure("management", ok.error().status);
      ctx.sources.record_failure(x.source);
      co_return error_response(ok.error());
    }
  } else if (route->access != api_access::anonymous) {
    auto auth = authorize(home, nullptr, "", proto::rights::manage, token, net::unix_now());
    if (!auth) {
      ctx.metrics.auth_failure("management", auth.error().status);
      ctx.sources.record_failure(x.source);
      co_return error_response(auth.error());
    }
    call.relay_admin = proto::iequals(home.host(), ctx.public_host);
    if (!call.relay_admin) {
      auto ns = call.params.find("ns");
      bool other_namespace = ns != call.params.end() && ns->second != home.record.name;
      if (route->access == api_access::relay_admin || other_namespace)
        co_return error_response(proto::error::forbidden(
            "a Manage key of namespace '" + home.record.name + "' manages that namespace only; " +
            (other_namespace ? "namespace '" + ns->second + "'" : std::string("plans, apps and namespaces")) +
            " need a Manage key of the relay's namespace at host " + ctx.public_host));
    }
  }
  // The body only now: its route, its limit and the caller's right to it are known.
  bool takes_body = route->method == "PUT" || route->method == "POST" || route->method == "PATCH";
  auto unreadable = co_await x.read_body(takes_body ? net::limits::max_api_body_bytes : 0);
  if (unreadable) co_return error_response(*unreadable);
  std::string store_failure;
  try {
    auto answer = co_await route->handler(call);
    co_return answer;
  } catch (const store::store_error& e) {
    store_failure = e.what();  // no co_await in a handler
  }
  spdlog::warn("{} {}: {}", request.method, path, store_failure);
  co_return error_response(proto::error::unavailable(
      store_failure +
      "; the change was not completed. Tunnels keep running on the catalog this relay "
      "holds; retry the call when the store is back (GET /healthz says when)"));
}

}  // namespace hc::relay
