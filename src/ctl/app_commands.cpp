// ctl/app_commands: the `app` verbs (see app_commands.hpp).
#include "ctl/app_commands.hpp"

#include "ctl/table.hpp"
#include "proto/endpoint.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <iostream>

namespace hc::ctl {
namespace json = boost::json;
namespace {

std::string app_path(const std::string& app = {}) {
  return "/api/v1/apps" + (app.empty() ? std::string() : "/" + segment(app));
}

// "NAMESPACE/NAME", or "NAME" in the connection string's namespace. Only the first '/' splits:
// hybrid connection names may contain '/'.
std::string link_path(options& opts, const std::string& app, const std::string& ref) {
  auto slash = ref.find('/');
  std::string ns = slash == std::string::npos ? opts.client().namespace_name() : ref.substr(0, slash);
  std::string name = slash == std::string::npos ? ref : ref.substr(slash + 1);
  if (ns.empty() || name.empty()) throw api_failure("expected NAMESPACE/NAME, got '" + ref + "'");
  return app_path(app) + "/hybridConnections/" + segment(ns) + "/" + segment(name);
}

std::vector<std::vector<std::string>> hc_rows(const json::array& hcs) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& h : hcs)
    rows.push_back({field(h, "name"), field(h, "namespace"), field(h, "endpoint"), field(h, "status"),
                    field(h, "listenerCount")});
  return rows;
}

void print_app(const json::value& a) {
  print_details({{"Name", field(a, "name")},
                 {"Plan", field(a, "plan") + " (" + field(a, "sku") + ")"},
                 {"Credential", field(a, "keyName") + " (hcctl app key " + field(a, "name") + ")"},
                 {"Created", field(a, "createdAt")},
                 {"Updated", field(a, "updatedAt")}});
  const auto& hcs = rows_of(a, "hybridConnections");
  std::cout << "\n";
  if (hcs.empty()) {
    std::cout << "No hybrid connections: add one with hcctl app hc add|create\n";
    return;
  }
  print_table({"NAME", "NAMESPACE", "ENDPOINT", "STATUS", "LISTENERS"}, hc_rows(hcs));
}

void print_link(const json::value& h) {
  print_details({{"Name", field(h, "name")},
                 {"Status", field(h, "status")},
                 {"Endpoint", field(h, "endpoint")},
                 {"Namespace", field(h, "namespace") + " (" + field(h, "namespaceHost") + ")"},
                 {"Listeners", field(h, "listenerCount")},
                 {"App", field(h, "app") + " in plan " + field(h, "plan")},
                 {"Apps in the plan using it", field(h, "appsInPlan")},
                 {"Gateway connection string", field(h, "gatewayConnectionString")}});
  for (const auto& l : rows_of(h, "listeners"))
    std::cout << "  listener " << field(l, "id") << " from " << field(l, "remoteAddress") << " since "
              << field(l, "connectedSince") << " (" << field(l, "agent") << ")\n";
}

void add_hc_verbs(CLI::App& app_cmd, options& opts) {
  auto* hc =
      app_cmd.add_subcommand("hc", "An app's hybrid connections")->require_subcommand(1)->fallthrough();

  struct link_args {
    std::string app, ref;
  };
  auto add = std::make_shared<link_args>();
  auto* a = hc->add_subcommand("add", "Add an existing hybrid connection to the app")->fallthrough();
  a->add_option("APP", add->app, "App name")->required();
  a->add_option("NAMESPACE/NAME", add->ref, "The hybrid connection")->required();
  a->callback([&opts, add] {
    auto r = opts.client().call("PUT", link_path(opts, add->app, add->ref));
    if (opts.json()) return print_json(r.body);
    std::cout << (r.status == 201 ? "added " : "already added ") << add->ref << " to app " << add->app
              << "\n";
    print_link(r.body);
  });

  struct create_args {
    std::string app, name, host, ns;
    int port = 0;
  };
  auto create = std::make_shared<create_args>();
  auto* c = hc->add_subcommand("create", "Create new hybrid connection and add it to the app")->fallthrough();
  c->add_option("APP", create->app, "App name")->required();
  c->add_option("--name", create->name, "Endpoint name (the hybrid connection's name)")->required();
  c->add_option("--endpoint-host", create->host, "Endpoint host name (use a DNS name)")->required();
  c->add_option("--endpoint-port", create->port, "Endpoint port")->required()->check(CLI::Range(1, 65535));
  c->add_option("--namespace", create->ns, "Relay namespace (default: the connection string's)");
  c->callback([&opts, create] {
    if (auto w = proto::endpoint_host_warning(create->host); !w.empty())
      std::cerr << "warning: " << w << "\n";
    auto& api = opts.client();
    std::string ns = create->ns.empty() ? api.namespace_name() : create->ns;
    json::object body{{"name", create->name},
                      {"endpointHost", create->host},
                      {"endpointPort", create->port},
                      {"namespace", ns}};
    auto r = api.call("POST", app_path(create->app) + "/hybridConnections", json::serialize(body));
    if (opts.json()) return print_json(r.body);
    std::cout << "created " << ns << "/" << create->name << " and added it to app " << create->app << "\n";
    print_link(r.body);
  });

  auto list = std::make_shared<std::string>();
  auto* l = hc->add_subcommand("list", "List the app's hybrid connections")->fallthrough();
  l->add_option("APP", *list, "App name")->required();
  l->callback([&opts, list] {
    auto r = opts.client().call("GET", app_path(*list) + "/hybridConnections");
    if (opts.json()) return print_json(r.body);
    print_table({"NAME", "NAMESPACE", "ENDPOINT", "STATUS", "LISTENERS"}, hc_rows(rows_of(r.body)));
  });

  auto show = std::make_shared<link_args>();
  auto* s =
      hc->add_subcommand("show", "Hybrid connection details: status, listeners, gateway connection string")
          ->fallthrough();
  s->add_option("APP", show->app, "App name")->required();
  s->add_option("NAMESPACE/NAME", show->ref, "The hybrid connection")->required();
  s->callback([&opts, show] {
    auto r = opts.client().call("GET", link_path(opts, show->app, show->ref));
    if (opts.json()) return print_json(r.body);
    print_link(r.body);
  });

  auto disconnect = std::make_shared<link_args>();
  auto* d = hc->add_subcommand("disconnect", "Remove a hybrid connection from the app (it is not deleted)")
                ->fallthrough();
  d->add_option("APP", disconnect->app, "App name")->required();
  d->add_option("NAMESPACE/NAME", disconnect->ref, "The hybrid connection")->required();
  d->callback([&opts, disconnect] {
    opts.client().call("DELETE", link_path(opts, disconnect->app, disconnect->ref));
    if (opts.json())
      return print_json(json::object{{"disconnected", disconnect->ref}, {"app", disconnect->app}});
    std::cout << "disconnected " << disconnect->ref << " from app " << disconnect->app << "\n";
  });
}

}  // namespace

void add_app_commands(CLI::App& app, options& opts) {
  auto* cmd =
      app.add_subcommand("app", "Apps, their Send credential and hybrid connections")->require_subcommand(1);
  cmd->fallthrough();

  struct plan_args {
    std::string name, plan;
  };
  auto create = std::make_shared<plan_args>();
  auto* c = cmd->add_subcommand("create", "Create an app in a plan")->fallthrough();
  c->add_option("APP", create->name, "App name")->required();
  c->add_option("--plan", create->plan, "App Service plan")->required();
  c->callback([&opts, create] {
    auto r = opts.client().call("PUT", app_path(create->name),
                                json::serialize(json::object{{"plan", create->plan}}));
    if (opts.json()) return print_json(r.body);
    std::cout << (r.status == 201 ? "created" : "updated") << " app " << create->name << "\n";
    print_app(r.body);
  });

  auto update = std::make_shared<plan_args>();
  auto* u = cmd->add_subcommand("update", "Move an app to another plan (its limit applies)")->fallthrough();
  u->add_option("APP", update->name, "App name")->required();
  u->add_option("--plan", update->plan, "App Service plan")->required();
  u->callback([&opts, update] {
    auto r = opts.client().call("PUT", app_path(update->name),
                                json::serialize(json::object{{"plan", update->plan}}));
    if (opts.json()) return print_json(r.body);
    print_app(r.body);
  });

  auto show = std::make_shared<std::string>();
  auto* s = cmd->add_subcommand("show", "Show an app and its hybrid connections")->fallthrough();
  s->add_option("APP", *show, "App name")->required();
  s->callback([&opts, show] {
    auto r = opts.client().call("GET", app_path(*show));
    if (opts.json()) return print_json(r.body);
    print_app(r.body);
  });

  cmd->add_subcommand("list", "List apps")->fallthrough()->callback([&opts] {
    auto r = opts.client().call("GET", app_path());
    if (opts.json()) return print_json(r.body);
    std::vector<std::vector<std::string>> rows;
    for (const auto& a : rows_of(r.body))
      rows.push_back({field(a, "name"), field(a, "plan"), field(a, "sku"),
                      std::to_string(rows_of(a, "hybridConnections").size())});
    print_table({"NAME", "PLAN", "SKU", "HYBRID CONNECTIONS"}, rows);
  });

  auto del = std::make_shared<std::string>();
  auto* d = cmd->add_subcommand("delete", "Delete an app (its hybrid connections stay)")->fallthrough();
  d->add_option("APP", *del, "App name")->required();
  d->callback([&opts, del] {
    opts.client().call("DELETE", app_path(*del));
    if (opts.json()) return print_json(json::object{{"deleted", *del}});
    std::cout << "deleted app " << *del << "\n";
  });

  struct key_args {
    std::string name;
    bool regenerate = false;
  };
  auto key = std::make_shared<key_args>();
  auto* k = cmd->add_subcommand("key", "Print the app's Send credential and the hcconnect command using it")
                ->fallthrough();
  k->add_option("APP", key->name, "App name")->required();
  k->add_flag("--regenerate", key->regenerate,
              "Make a new key first (tokens signed with the old one are refused)");
  k->callback([&opts, key] {
    auto r =
        opts.client().call("POST", app_path(key->name) + (key->regenerate ? "/regenerateKeys" : "/listKeys"));
    if (opts.json()) return print_json(r.body);
    auto command = field(r.body, "hcconnect");
    if (auto at = command.find("KEY"); at != std::string::npos)
      command.replace(at, 3, field(r.body, "primaryKey"));
    print_details(
        {{"Key name", field(r.body, "keyName")}, {"Key", field(r.body, "primaryKey")}, {"Run", command}});
  });

  add_hc_verbs(*cmd, opts);
}

}  // namespace hc::ctl
