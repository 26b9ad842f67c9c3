// relay/http_routes: the routing rule for plain HTTP requests (relayed_target and handle_http
// below), /healthz, /readyz, /metrics, the runtime-info GET and dispatch to the management API and the
// portal (see http_routes.hpp).
#include "relay/http_routes.hpp"

#include "net/clock.hpp"
#include "proto/encoding.hpp"
#include "proto/hc_address.hpp"
#include "proto/runtime_info.hpp"
#include "relay/api/portal.hpp"
#include "relay/gestures.hpp"
#include "relay/listener_set.hpp"
#include "relay/model/authorizer.hpp"

namespace hc::relay {
namespace {

std::string text_response(int status, std::string body, std::string_view type = "text/plain; charset=utf-8") {
  return net::format_response(status, {}, {{"Content-Type", std::string(type)}}, body);
}

// 200 while this relay serves tunnels (a load balancer keeps it); the body says "ok", or
// "degraded" and what is down.
std::string health_response(const relay_context& ctx) {
  auto store_problem = ctx.store_state.problem();
  auto cluster_problem = ctx.cluster ? ctx.cluster->problem() : std::nullopt;
  if (!store_problem && !cluster_problem) return text_response(200, "ok\n");
  std::string body = "degraded: tunnels are served";
  if (store_problem) body += ", management calls answer 503";
  if (cluster_problem) body += ", senders reach this node's listeners only";
  body += "\n";
  if (store_problem) body += "store: " + *store_problem + "\n";
  if (cluster_problem) body += "cluster: " + *cluster_problem + "\n";
  return text_response(200, body);
}

// Why this relay is not ready, a sentence each (store, cluster link, certificate); none when it is.
std::vector<std::string> readiness_problems(const relay_context& ctx) {
  std::vector<std::string> problems;
  if (auto store = ctx.store_state.problem()) problems.push_back("store: " + *store);
  if (ctx.cluster)
    if (auto link = ctx.cluster->problem()) problems.push_back("cluster: " + *link);
  if (ctx.tls) {
    auto not_after = ctx.certificate_not_after ? ctx.certificate_not_after() : std::nullopt;
    if (!not_after)
      problems.push_back("certificate: none is loaded");
    else if (*not_after <= net::unix_now())
      problems.push_back("certificate: expired " + std::to_string(net::unix_now() - *not_after) +
                         " s ago; install a new one and send SIGHUP (systemctl reload hcrelay)");
  }
  return problems;
}

// 200 "ready" when the store is open, the certificate loaded and valid and the cluster link up
// (when there is one); else 503 with what is not. Liveness is /healthz.
std::string ready_response(const relay_context& ctx) {
  auto problems = readiness_problems(ctx);
  if (problems.empty()) return text_response(200, "ready\n");
  std::string body = "not ready\n";
  for (const auto& p : problems) body += p + "\n";
  return text_response(503, body);
}

std::string metrics_response(relay_context& ctx) {
  scrape_state now;
  for (const auto& ns : ctx.entities.namespaces())
    for (const auto& [key, hc] : ns->hybrid_connections)
      now.catalog.push_back({ns->record.name, hc->name(), hc->live->count()});
  now.ready = readiness_problems(ctx).empty();
  if (ctx.tls && ctx.certificate_not_after) now.certificate_not_after = ctx.certificate_not_after();
  return text_response(200, ctx.metrics.serialize(now), "text/plain; version=0.0.4");
}

bool has_query_param(std::string_view target, std::string_view name) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return false;
  auto query = target.substr(q + 1);
  std::size_t at = 0;
  while (at <= query.size()) {
    auto amp = query.find('&', at);
    auto item = query.substr(at, amp == std::string_view::npos ? std::string_view::npos : amp - at);
    if (proto::istarts_with(item, name) && (item.size() == name.size() || item[name.size()] == '='))
      return true;
    if (amp == std::string_view::npos) break;
    at = amp + 1;
  }
  return false;
}

std::string xml_error(int status, const std::string& detail) {
  return net::format_response(status, {}, {{"Content-Type", "application/xml; charset=utf-8"}},
                              proto::build_management_error_xml(status, detail));
}

// Protocol doc §7: GET https://{ns}/{path}?api-version=2016-07 with a Listen (or Send) token.
std::string runtime_info(relay_context& ctx, const http_exchange& x) {
  const auto& request = x.request;
  const auto& ns = *x.ns;
  const auto& tracking_id = x.tracking_id;
  auto target = proto::parse_hc_target(request.target);
  if (!target) return xml_error(400, target.error().message);
  auto now = std::chrono::system_clock::now();
  auto resolved = catalog::resolve(ns, target->path);
  if (!resolved || !resolved->suffix.empty())
    return xml_error(404, proto::tracking_description("Endpoint does not exist", tracking_id, ns.host(),
                                                      target->path, now));
  const auto& h = *resolved->entity;
  auto token = token_from(request, target->token);
  auto auth = authorize(ns, &h, h.name(), proto::rights::listen, token, net::unix_now());
  if (!auth && auth.error().status == 403)
    auth = authorize(ns, &h, h.name(), proto::rights::send, token, net::unix_now());
  if (!auth) {
    ctx.metrics.auth_failure("runtime_info", auth.error().status);
    ctx.sources.record_failure(x.source);
    return xml_error(auth.error().status, proto::tracking_description(auth.error().message, tracking_id,
                                                                      ns.host(), h.name(), now));
  }
  proto::runtime_info info;
  info.created_at = h.record.created_at;
  info.updated_at = h.record.updated_at;
  info.requires_client_authorization = h.record.requires_client_authorization;
  info.user_metadata = h.record.user_metadata;
  info.listener_count = int(h.live->count());
  return text_response(200, proto::build_runtime_info_xml(info, "https://" + ns.host() + "/" + h.name()),
                       "application/atom+xml;type=entry;charset=utf-8");
}

bool is_admin_path(std::string_view path) {
  constexpr auto admin = proto::admin_path_prefix;
  return path.starts_with(admin) && (path.size() == admin.size() || path[admin.size()] == '/');
}

bool is_runtime_info_get(const net::http_request& request) {
  return request.method == "GET" && has_query_param(request.target, "api-version") &&
         proto::iequals(request.header("X-PROCESS-AT"), "ServiceBus");
}

}  // namespace

std::string no_namespace_text(std::string_view host) {
  return "No namespace is served at host " + proto::quote_for_message(host) +
         ": use the host name from your connection string";
}

// One rule, so that no hybrid connection's path is ever shadowed (hybrid connection names
// cannot hold '$'):
// 1. /$admin/... is the relay's own: healthz, metrics, the management API, the portal.
// 2. A path that names a hybrid connection of the Host's namespace belongs to it: the runtime-info
//    GET when it carries api-version and X-PROCESS-AT: ServiceBus (what Microsoft's SDKs and hcm
//    send; api-version alone is app data that .NET senders pass to their listeners), else a
//    relayed HTTP request (relayed_target; connection.cpp hands it to relay/http_mode).
// 3. Other paths: the same relay pages at their old places (/healthz, /metrics, /api/v1, /,
//    /portal/*), which can no longer collide with a hybrid connection; else 404.
std::optional<relayed_route> relayed_target(const net::http_request& request, const namespace_entry* ns) {
  std::string_view path = request.target;
  if (!ns || is_admin_path(path.substr(0, path.find('?'))) || is_runtime_info_get(request))
    return std::nullopt;
  auto target = proto::parse_hc_target(request.target);
  auto resolved = target ? catalog::resolve(*ns, target->path) : std::nullopt;
  if (!resolved) return std::nullopt;
  return relayed_route{std::move(*target), std::move(resolved->entity)};
}

std::optional<std::string> refused_by_role(port_role role, const net::http_request& request, bool relayed) {
  auto refuse = [](const std::string& text) {
    return net::format_response(404, text, {{"Connection", "close"}}, text + "\n");
  };
  bool gesture = request.target.starts_with("/$hc/");
  if (role == port_role::admin_only && (gesture || relayed))
    return refuse(
        "This is the relay's admin address (--admin-listen): it serves the management API, the "
        "portal, /metrics, /healthz and /readyz; listeners, senders and relayed requests use the public "
        "address");
  if (role != port_role::public_only || gesture || relayed || is_runtime_info_get(request))
    return std::nullopt;
  std::string_view path = request.target;
  path = path.substr(0, path.find('?'));
  if (is_admin_path(path)) path.remove_prefix(proto::admin_path_prefix.size());
  if (path == "/healthz" || path == "/readyz")
    return std::nullopt;  // load balancers check the public address
  return refuse(
      "The management API, the portal and /metrics are served on the relay's admin address "
      "(--admin-listen), not on its public address");
}

net::task<std::string> handle_http(relay_context& ctx, http_exchange& x) {
  const auto& request = x.request;
  std::string_view path = request.target;
  path = path.substr(0, path.find('?'));
  if (is_admin_path(path))
    path.remove_prefix(proto::admin_path_prefix.size());
  else if (x.ns && is_runtime_info_get(request))
    co_return runtime_info(ctx, x);
  if (path == "/healthz") co_return health_response(ctx);
  if (path == "/readyz") co_return ready_response(ctx);
  if (path == "/metrics") co_return metrics_response(ctx);
  if (!x.ns) co_return text_response(404, no_namespace_text(request.header("Host")) + "\n");
  if (path.starts_with("/api/v1/") || path == "/api/v1") co_return co_await handle_management(ctx, x, path);
  if (auto page = portal_response(request, path)) co_return std::move(*page);
  co_return text_response(404,
                          "nothing is served at " + proto::quote_for_message(path) +
                              ": no hybrid connection of this namespace has that path, and the relay's own "
                              "pages are under /$admin/ (portal, api/v1, healthz, readyz, metrics)\n");
}

}  // namespace hc::relay
