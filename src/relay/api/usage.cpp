// relay/api/usage: GET /usage, what hybrid connections used over a time range, from the store's
// hourly rows (relay/usage_recorder): listener connection-hours, tunnels, tunnel-seconds and bytes
// each way, per hybrid connection with totals, optionally hour by hour. Narrowed to a plan (its
// apps' distinct hybrid connections, shown with the plan's SKU and limit), an app (its hybrid
// connections) or a namespace and hybrid connection. An app's usage is its hybrid connections'
// usage: one shared by two apps shows in both. Relay administrators only (api/router.cpp).
#include "proto/encoding.hpp"
#include "relay/api/route.hpp"
#include "relay/model/app_directory.hpp"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <ctime>
#include <map>
#include <set>

namespace hc::relay {
namespace {
namespace json = boost::json;

// "2026-12-04", "2026-12-04T10:00:00Z" or Unix seconds; none when it is none of them.
std::optional<std::int64_t> parse_time(std::string_view text) {
  std::tm tm{};
  std::string s(text);
  if (auto end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm); end && *end == '\0') return timegm(&tm);
  tm = {};
  if (auto end = strptime(s.c_str(), "%Y-%m-%d", &tm); end && *end == '\0') return timegm(&tm);
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() <= 12)
    return std::stoll(s);
  return std::nullopt;
}

std::string iso(std::int64_t unix_seconds) {
  return iso_time(std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds)));
}

struct usage_query {
  std::int64_t from = 0, to = 0;
  std::string plan, app, ns, hc;
  bool hourly = false;
};

// The query parameters; 400 naming the parameter that is wrong.
proto::result<usage_query> read_query(const api_call& call) {
  usage_query q;
  q.to = std::int64_t(std::time(nullptr)) / 3600 * 3600 + 3600;  // the end of this hour
  q.from = q.to - 24 * 3600;
  auto parsed = boost::urls::parse_origin_form(call.request.target);
  if (!parsed) return proto::error::bad_request("the request target is not a valid URL path and query");
  for (const auto& p : parsed->params()) {
    std::string value(p.value);
    if (p.key == "from" || p.key == "to") {
      auto t = parse_time(value);
      if (!t)
        return proto::error::bad_request("'" + std::string(p.key) +
                                         "' must be a date (2026-12-04), a UTC time " +
                                         "(2026-12-04T10:00:00Z) or Unix seconds, not '" + value + "'");
      (p.key == "from" ? q.from : q.to) = *t;
    } else if (p.key == "plan") {
      q.plan = value;
    } else if (p.key == "app") {
      q.app = value;
    } else if (p.key == "namespace") {
      q.ns = value;
    } else if (p.key == "hybridConnection") {
      q.hc = value;
    } else if (p.key == "granularity") {
      if (value != "hour" && value != "total")
        return proto::error::bad_request("'granularity' is 'hour' or 'total', not '" + value + "'");
      q.hourly = value == "hour";
    } else {
      return proto::error::bad_request("unknown query parameter '" + std::string(p.key) +
                                       "': from, to, plan, app, namespace, hybridConnection, granularity");
    }
  }
  if (q.from >= q.to) return proto::error::bad_request("'from' must be before 'to'");
  if (q.to - q.from > 400 * 86400)
    return proto::error::bad_request("a range is at most 400 days: ask for several ranges");
  if (int(!q.plan.empty()) + int(!q.app.empty()) + int(!q.ns.empty()) > 1)
    return proto::error::bad_request(
        "give one of plan, app or namespace (with hybridConnection), not several");
  if (!q.hc.empty() && q.ns.empty()) return proto::error::bad_request("'hybridConnection' needs 'namespace'");
  return q;
}

json::object amounts(const store::usage_record& r) {
  return {{"listenerHours", r.listener_seconds / 3600.0},
          {"tunnels", r.tunnels},
          {"tunnelSeconds", r.tunnel_seconds},
          {"bytesAppToAgent", r.bytes_app_to_agent},
          {"bytesAgentToApp", r.bytes_agent_to_app}};
}

void add(store::usage_record& sum, const store::usage_record& r) {
  sum.listener_seconds += r.listener_seconds;
  sum.tunnels += r.tunnels;
  sum.tunnel_seconds += r.tunnel_seconds;
  sum.bytes_app_to_agent += r.bytes_app_to_agent;
  sum.bytes_agent_to_app += r.bytes_agent_to_app;
}

net::task<std::string> show_usage(api_call& call) {
  auto q = read_query(call);
  if (!q) co_return error_response(q.error());
  auto state = call.ctx.apps.current();
  json::object scope;
  std::optional<std::set<std::string>> only;  // hc_ref keys, when narrowed to a plan or an app
  if (!q->plan.empty()) {
    const auto* p = state->plan(q->plan);
    if (!p)
      co_return error_response(proto::error::not_found("App Service plan '" + q->plan + "' does not exist"));
    auto used = state->plan_usage(p->name);
    only.emplace();
    for (const auto& [k, u] : used) only->insert(k);
    auto s = parse_sku(p->sku);
    scope = {{"plan", p->name},
             {"sku", p->sku},
             {"hybridConnectionLimit", s ? hybrid_connection_limit(*s) : 0},
             {"hybridConnectionsUsed", used.size()}};
  } else if (!q->app.empty()) {
    const auto* a = state->app(q->app);
    if (!a) co_return error_response(proto::error::not_found("App '" + q->app + "' does not exist"));
    only.emplace();
    for (const auto& h : a->links) only->insert(h.key());
    scope = {{"app", a->record.name}, {"plan", a->record.plan}};
  } else if (!q->ns.empty()) {
    scope = {{"namespace", q->ns}};
    if (!q->hc.empty()) scope["hybridConnection"] = q->hc;
  }
  auto from = q->from, to = q->to;
  auto rows = co_await call.ctx.on_store([&call, from, to] { return call.ctx.db->usage(from, to); });

  // Per hybrid connection (key: hc_ref::key), in the order of their names.
  struct per_hc {
    hc_ref ref;
    store::usage_record total;
    json::array hours;
  };
  std::map<std::string, per_hc> by_hc;
  store::usage_record total;
  for (const auto& r : rows) {
    hc_ref ref{r.namespace_name, r.hc_name};
    if (only && !only->contains(ref.key())) continue;
    if (!q->ns.empty() && r.namespace_name != q->ns) continue;
    if (!q->hc.empty() && !proto::iequals(r.hc_name, q->hc)) continue;
    auto& h = by_hc.try_emplace(ref.key(), per_hc{ref, {}, {}}).first->second;
    add(h.total, r);
    add(total, r);
    if (q->hourly) {
      auto o = amounts(r);
      o["hour"] = iso(r.hour);
      h.hours.push_back(std::move(o));
    }
  }
  json::array hcs;
  for (auto& [k, h] : by_hc) {
    auto o = amounts(h.total);
    o["namespace"] = h.ref.namespace_name;
    o["name"] = h.ref.name;
    if (q->hourly) o["hours"] = std::move(h.hours);
    hcs.push_back(std::move(o));
  }
  json::object out{{"from", iso(from)}, {"to", iso(to)}};
  if (!scope.empty()) out["scope"] = std::move(scope);
  out["hybridConnections"] = std::move(hcs);
  out["total"] = amounts(total);
  co_return json_response(200, out);
}

}  // namespace

std::vector<api_route> usage_routes() {
  return {{"GET", "/usage", api_access::relay_admin, show_usage}};
}

}  // namespace hc::relay
