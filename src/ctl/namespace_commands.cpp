// ctl/namespace_commands: the `namespace` and `key` verbs (see namespace_commands.hpp).
#include "ctl/namespace_commands.hpp"

#include "ctl/table.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <iostream>

namespace hc::ctl {
namespace json = boost::json;
namespace {

std::string namespace_path(const std::string& ns = {}) {
  return "/api/v1/namespaces" + (ns.empty() ? std::string() : "/" + segment(ns));
}

void print_namespace(const json::value& n) {
  print_details({{"Name", field(n, "name")},
                 {"Host", field(n, "host")},
                 {"Endpoint", field(n, "endpoint")},
                 {"Hybrid connections", field(n, "hybridConnectionCount")},
                 {"Relay namespace", field(n, "relayNamespace")},
                 {"Created", field(n, "createdAt")}});
}

// Where a rule lives: --namespace (default: the connection string's) and optionally --hc.
struct scope_args {
  std::string ns, hc;
  std::string path(options& opts, const std::string& rule = {}) const {
    std::string p = namespace_path(ns.empty() ? opts.client().namespace_name() : ns);
    if (!hc.empty()) p += "/hybridConnections/" + segment(hc);
    p += "/authorizationRules";
    if (!rule.empty()) p += "/" + segment(rule);
    return p;
  }
};

void scope_options(CLI::App* cmd, scope_args& s) {
  cmd->add_option("--namespace", s.ns, "Namespace (default: the connection string's)");
  cmd->add_option("--hc", s.hc, "A hybrid connection's rules instead of the namespace's");
}

void print_keys(const json::value& k) {
  print_details({{"Rule", field(k, "name")},
                 {"Rights", field(k, "rights")},
                 {"Primary key", field(k, "primaryKey")},
                 {"Secondary key", field(k, "secondaryKey")},
                 {"Primary connection string", field(k, "primaryConnectionString")},
                 {"Secondary connection string", field(k, "secondaryConnectionString")}});
}

}  // namespace

void add_namespace_commands(CLI::App& app, options& opts) {
  auto* cmd =
      app.add_subcommand("namespace", "Namespaces, each served at its own host name")->require_subcommand(1);
  cmd->fallthrough();

  struct create_args {
    std::string name, host;
  };
  auto create = std::make_shared<create_args>();
  auto* c =
      cmd->add_subcommand("create", "Create a namespace (with RootManageSharedAccessKey) served at HOST")
          ->fallthrough();
  c->add_option("NAME", create->name, "Namespace name")->required();
  c->add_option("--host", create->host, "DNS name clients use for it (must resolve to this relay)")
      ->required();
  c->callback([&opts, create] {
    auto r = opts.client().call("PUT", namespace_path(create->name),
                                json::serialize(json::object{{"host", create->host}}));
    if (opts.json()) return print_json(r.body);
    std::cout << (r.status == 201 ? "created" : "updated") << " namespace " << create->name
              << " (keys: hcctl key show RootManageSharedAccessKey --namespace " << create->name << ")\n";
    print_namespace(r.body);
    if (auto warning = field(r.body, "warning"); warning != "-") std::cerr << "warning: " << warning << "\n";
  });

  cmd->add_subcommand("list", "List namespaces")->fallthrough()->callback([&opts] {
    auto r = opts.client().call("GET", namespace_path());
    if (opts.json()) return print_json(r.body);
    std::vector<std::vector<std::string>> rows;
    for (const auto& n : rows_of(r.body))
      rows.push_back(
          {field(n, "name"), field(n, "host"), field(n, "hybridConnectionCount"), field(n, "createdAt")});
    print_table({"NAME", "HOST", "HYBRID CONNECTIONS", "CREATED"}, rows);
  });

  auto show = std::make_shared<std::string>();
  auto* s = cmd->add_subcommand("show", "Show a namespace")->fallthrough();
  s->add_option("NAME", *show, "Namespace name (default: the connection string's)");
  s->callback([&opts, show] {
    auto& api = opts.client();
    auto r = api.call("GET", namespace_path(show->empty() ? api.namespace_name() : *show));
    if (opts.json()) return print_json(r.body);
    print_namespace(r.body);
  });
}

void add_key_commands(CLI::App& app, options& opts) {
  auto* cmd = app.add_subcommand("key", "Authorization rules (shared access policies) and their keys")
                  ->require_subcommand(1);
  cmd->fallthrough();

  auto list = std::make_shared<scope_args>();
  auto* l = cmd->add_subcommand("list", "List the rules of a namespace or hybrid connection")->fallthrough();
  scope_options(l, *list);
  l->callback([&opts, list] {
    auto r = opts.client().call("GET", list->path(opts));
    if (opts.json()) return print_json(r.body);
    std::vector<std::vector<std::string>> rows;
    for (const auto& k : rows_of(r.body)) rows.push_back({field(k, "name"), field(k, "rights")});
    print_table({"RULE", "RIGHTS"}, rows);
  });

  struct rule_args : scope_args {
    std::string rule, rights;
    bool secondary = false;
  };
  auto show = std::make_shared<rule_args>();
  auto* s = cmd->add_subcommand("show", "Show a rule's keys and connection strings")->fallthrough();
  s->add_option("RULE", show->rule, "Rule name")->required();
  scope_options(s, *show);
  s->callback([&opts, show] {
    auto r = opts.client().call("POST", show->path(opts, show->rule) + "/listKeys");
    if (opts.json()) return print_json(r.body);
    print_keys(r.body);
  });

  auto create = std::make_shared<rule_args>();
  auto* c = cmd->add_subcommand("create", "Create a rule (at most 12 per scope) or change its rights")
                ->fallthrough();
  c->add_option("RULE", create->rule, "Rule name")->required();
  c->add_option("--rights", create->rights, "Comma-separated: Listen, Send, Manage")->required();
  scope_options(c, *create);
  c->callback([&opts, create] {
    json::array rights;
    std::size_t at = 0;
    while (at <= create->rights.size()) {
      auto comma = create->rights.find(',', at);
      auto item = create->rights.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      if (!item.empty()) rights.push_back(json::string(item));
      if (comma == std::string::npos) break;
      at = comma + 1;
    }
    auto r = opts.client().call("PUT", create->path(opts, create->rule),
                                json::serialize(json::object{{"rights", rights}}));
    if (opts.json()) return print_json(r.body);
    std::cout << (r.status == 201 ? "created" : "updated") << " rule " << create->rule << " ("
              << field(r.body, "rights") << ")\n";
  });

  auto regen = std::make_shared<rule_args>();
  auto* g = cmd->add_subcommand(
                   "regenerate",
                   "Regenerate a rule's primary (or --secondary) key. Tokens signed with the old key are "
                   "refused, and every listener (hcm) whose token was signed with it is closed at once "
                   "(1008) and must reconnect with the new key; listeners signed with the rule's other key "
                   "stay, so rotate one key at a time. Tunnels already open run to their end.")
                ->fallthrough();
  g->add_option("RULE", regen->rule, "Rule name")->required();
  g->add_flag("--secondary", regen->secondary, "Regenerate the secondary key instead of the primary");
  scope_options(g, *regen);
  g->callback([&opts, regen] {
    json::object body{{"keyType", regen->secondary ? "SecondaryKey" : "PrimaryKey"}};
    auto r =
        opts.client().call("POST", regen->path(opts, regen->rule) + "/regenerateKeys", json::serialize(body));
    if (opts.json()) return print_json(r.body);
    std::cout << "regenerated the " << (regen->secondary ? "secondary" : "primary") << " key of rule "
              << regen->rule << "\n";
    print_keys(r.body);
  });

  auto del = std::make_shared<rule_args>();
  auto* d = cmd->add_subcommand("delete", "Delete a rule")->fallthrough();
  d->add_option("RULE", del->rule, "Rule name")->required();
  scope_options(d, *del);
  d->callback([&opts, del] {
    opts.client().call("DELETE", del->path(opts, del->rule));
    if (opts.json()) return print_json(json::object{{"deleted", del->rule}});
    std::cout << "deleted rule " << del->rule << "\n";
  });
}

}  // namespace hc::ctl
