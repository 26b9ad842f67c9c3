// ctl/usage_command: the `usage` verb (see usage_command.hpp).
#include "ctl/usage_command.hpp"

#include "ctl/table.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <iostream>

namespace hc::ctl {
namespace json = boost::json;
namespace {

struct usage_args {
  std::string plan, app, hc, from, to;
};

std::string usage_path(const usage_args& a, bool hourly) {
  std::string q;
  auto put = [&q](std::string_view key, const std::string& value) {
    if (value.empty()) return;
    q += (q.empty() ? "?" : "&") + std::string(key) + "=" + segment(value);
  };
  put("from", a.from);
  put("to", a.to);
  put("plan", a.plan);
  put("app", a.app);
  if (!a.hc.empty()) {
    auto slash = a.hc.find('/');
    put("namespace", a.hc.substr(0, slash));
    if (slash != std::string::npos) put("hybridConnection", a.hc.substr(slash + 1));
  }
  if (hourly) put("granularity", "hour");
  return "/api/v1/usage" + q;
}

std::vector<std::string> amounts(const json::value& v) {
  return {field(v, "listenerHours"), field(v, "tunnels"), field(v, "tunnelSeconds"),
          field(v, "bytesAppToAgent"), field(v, "bytesAgentToApp")};
}

// One row per hybrid connection and hour (-o csv).
void print_hours(const json::value& body) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& h : rows_of(body, "hybridConnections"))
    for (const auto& hour : rows_of(h, "hours")) {
      std::vector<std::string> row{field(hour, "hour"), field(h, "namespace"), field(h, "name")};
      auto a = amounts(hour);
      row.insert(row.end(), a.begin(), a.end());
      rows.push_back(std::move(row));
    }
  print_table({"hour", "namespace", "hybrid_connection", "listener_hours", "tunnels", "tunnel_seconds",
               "bytes_app_to_agent", "bytes_agent_to_app"},
              rows);
}

void print_usage(const json::value& body) {
  const auto& scope = body.as_object().if_contains("scope");
  std::vector<std::pair<std::string, std::string>> lines{{"From", field(body, "from")},
                                                         {"To", field(body, "to")}};
  if (scope && scope->is_object()) {
    if (auto plan = field(*scope, "plan"); plan != "-" && field(*scope, "app") == "-")
      lines.push_back({"Plan", plan + " (" + field(*scope, "sku") +
                                   "): " + field(*scope, "hybridConnectionsUsed") + " / " +
                                   field(*scope, "hybridConnectionLimit") + " hybrid connections"});
    if (auto app = field(*scope, "app"); app != "-")
      lines.push_back({"App", app + " in plan " + field(*scope, "plan")});
  }
  print_details(lines);
  std::cout << "\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& h : rows_of(body, "hybridConnections")) {
    std::vector<std::string> row{field(h, "namespace") + "/" + field(h, "name")};
    auto a = amounts(h);
    row.insert(row.end(), a.begin(), a.end());
    rows.push_back(std::move(row));
  }
  std::vector<std::string> total{"TOTAL"};
  auto a = amounts(body.as_object().at("total"));
  total.insert(total.end(), a.begin(), a.end());
  rows.push_back(std::move(total));
  print_table({"HYBRID CONNECTION", "LISTENER HOURS", "TUNNELS", "TUNNEL SECONDS", "BYTES APP->AGENT",
               "BYTES AGENT->APP"},
              rows);
}

}  // namespace

void add_usage_command(CLI::App& app, options& opts) {
  auto args = std::make_shared<usage_args>();
  auto* u = app.add_subcommand("usage",
                               "What hybrid connections used: listener hours, tunnels, tunnel seconds, bytes "
                               "(-o csv: one row per hybrid connection and hour)")
                ->fallthrough();
  auto* plan = u->add_option("--plan", args->plan, "Only this plan's hybrid connections (with its limit)");
  auto* app_opt = u->add_option("--app", args->app, "Only this app's hybrid connections");
  auto* hc = u->add_option("--hc", args->hc, "Only NAMESPACE[/HYBRID_CONNECTION]");
  plan->excludes(app_opt)->excludes(hc);
  app_opt->excludes(hc);
  u->add_option("--from", args->from,
                "Start: 2026-12-04, 2026-12-04T10:00:00Z or Unix seconds (default: 24 h ago)");
  u->add_option("--to", args->to, "End, exclusive (default: the end of this hour)");
  u->callback([&opts, args] {
    auto r = opts.client().call("GET", usage_path(*args, printing_csv()));
    if (opts.json()) return print_json(r.body);
    if (printing_csv()) return print_hours(r.body);
    print_usage(r.body);
  });
}

}  // namespace hc::ctl
