// ctl/hc_commands: the `hc` verbs (see hc_commands.hpp).
#include "ctl/hc_commands.hpp"

#include "ctl/table.hpp"
#include "proto/connection_string.hpp"
#include "proto/endpoint.hpp"
#include "proto/sas.hpp"
#include "util/exit_codes.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <iostream>
#include <stdexcept>

namespace hc::ctl {
namespace json = boost::json;
namespace {

std::string str(const json::value& v, std::string_view key) {
  if (!v.is_object()) return {};
  const auto* f = v.as_object().if_contains(key);
  if (!f || f->is_null()) return "-";
  if (f->is_string()) return std::string(f->as_string());
  return json::serialize(*f);
}

void print_hc_table(const json::array& hcs) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& h : hcs)
    rows.push_back({str(h, "name"), str(h, "status"), str(h, "listenerCount"), str(h, "endpoint")});
  print_table({"NAME", "STATUS", "LISTENERS", "ENDPOINT"}, rows);
}

void print_details(const json::value& h) {
  std::cout << "Name:                          " << str(h, "name") << "\n"
            << "Namespace:                     " << str(h, "namespace") << "\n"
            << "Status:                        " << str(h, "status") << "\n"
            << "Endpoint:                      " << str(h, "endpoint") << "\n"
            << "Listeners:                     " << str(h, "listenerCount") << "\n"
            << "Requires client authorization: " << str(h, "requiresClientAuthorization") << "\n"
            << "Created:                       " << str(h, "createdAt") << "\n"
            << "Updated:                       " << str(h, "updatedAt") << "\n";
  auto endpoint = str(h, "endpoint");
  if (auto colon = endpoint.rfind(':'); colon != std::string::npos) {
    auto warning = proto::endpoint_host_warning(endpoint.substr(0, colon));
    if (!warning.empty()) std::cout << "Warning:                       " << warning << "\n";
  }
  const auto* listeners = h.as_object().if_contains("listeners");
  if (listeners && listeners->is_array())
    for (const auto& l : listeners->as_array())
      std::cout << "  listener " << str(l, "id") << " from " << str(l, "remoteAddress") << " since "
                << str(l, "connectedSince") << " (" << str(l, "agent") << "), " << str(l, "activeTunnels")
                << " active tunnels\n";
  const auto* tunnels = h.as_object().if_contains("tunnels");
  if (tunnels && tunnels->is_object()) {
    std::cout << "Tunnels:                       accepted " << str(*tunnels, "accepted") << ", rejected "
              << str(*tunnels, "rejected") << ", timed out " << str(*tunnels, "timedOut") << "\n";
    if (const auto* last = tunnels->as_object().if_contains("last");
        last && str(*last, "outcome") != "accepted")
      std::cout << "Last connection:               " << str(*last, "outcome") << " at " << str(*last, "at")
                << ": " << str(*last, "detail") << "\n";
  }
}

}  // namespace

void add_hc_commands(CLI::App& app, options& opts) {
  auto* hc = app.add_subcommand("hc", "Hybrid connections of the namespace")->require_subcommand(1);
  hc->fallthrough();

  struct create_args {
    std::string name, endpoint;
    bool no_client_authorization = false;
  };
  auto create = std::make_shared<create_args>();
  auto* c =
      hc->add_subcommand("create", "Create a hybrid connection whose endpoint is HOST:PORT")->fallthrough();
  c->add_option("NAME", create->name, "Hybrid connection name")->required();
  c->add_option("--endpoint", create->endpoint, "HOST:PORT of the service it reaches (use a DNS name)")
      ->required();
  c->add_flag("--no-client-authorization", create->no_client_authorization,
              "Let senders connect without a token");
  c->callback([&opts, create] {
    auto ep = proto::parse_endpoint(create->endpoint);
    if (!ep) throw util::usage_error("--endpoint: " + ep.error().message);
    if (auto w = proto::endpoint_host_warning(ep->host); !w.empty()) std::cerr << "warning: " << w << "\n";
    json::object body{{"endpoint", ep->to_string()},
                      {"requiresClientAuthorization", !create->no_client_authorization}};
    auto& api = opts.client();
    auto r = api.call("PUT", api.hc_path(create->name), json::serialize(body));
    if (opts.json()) return print_json(r.body);
    std::cout << (r.status == 201 ? "created" : "updated") << " hybrid connection " << create->name << "\n";
    print_details(r.body);
  });

  struct update_args {
    std::string name, endpoint;
  };
  auto update = std::make_shared<update_args>();
  auto* u =
      hc->add_subcommand("update", "Point an existing hybrid connection at another HOST:PORT")->fallthrough();
  u->add_option("NAME", update->name, "Hybrid connection name")->required();
  u->add_option("--endpoint", update->endpoint, "HOST:PORT of the service it reaches (use a DNS name)")
      ->required();
  u->callback([&opts, update] {
    auto ep = proto::parse_endpoint(update->endpoint);
    if (!ep) throw util::usage_error("--endpoint: " + ep.error().message);
    if (auto w = proto::endpoint_host_warning(ep->host); !w.empty()) std::cerr << "warning: " << w << "\n";
    auto& api = opts.client();
    api.call("GET", api.hc_path(update->name));        // 404 (exit 3) rather than a new one
    json::object body{{"endpoint", ep->to_string()}};  // the rest stays as it is
    auto r = api.call("PUT", api.hc_path(update->name), json::serialize(body));
    if (opts.json()) return print_json(r.body);
    std::cout << "updated hybrid connection " << update->name << "\n";
    print_details(r.body);
  });

  hc->add_subcommand("list", "List hybrid connections")->fallthrough()->callback([&opts] {
    auto& api = opts.client();
    auto r = api.call("GET", api.hc_path());
    if (opts.json()) return print_json(r.body);
    print_hc_table(rows_of(r.body));
  });

  auto show_name = std::make_shared<std::string>();
  auto* s = hc->add_subcommand("show", "Show one hybrid connection with its listeners")->fallthrough();
  s->add_option("NAME", *show_name, "Hybrid connection name")->required();
  s->callback([&opts, show_name] {
    auto& api = opts.client();
    auto r = api.call("GET", api.hc_path(*show_name));
    if (opts.json()) return print_json(r.body);
    print_details(r.body);
  });

  auto delete_name = std::make_shared<std::string>();
  auto* d = hc->add_subcommand("delete", "Delete a hybrid connection (its listeners are disconnected)")
                ->fallthrough();
  d->add_option("NAME", *delete_name, "Hybrid connection name")->required();
  d->callback([&opts, delete_name] {
    auto& api = opts.client();
    api.call("DELETE", api.hc_path(*delete_name));
    if (opts.json()) return print_json(json::object{{"deleted", *delete_name}});
    std::cout << "deleted hybrid connection " << *delete_name << "\n";
  });

  struct cs_args {
    std::string name, rule = "defaultListener";
    bool secondary = false;
    std::int64_t ttl = 3600;
  };
  // The rule's connection string with EntityPath, from the relay.
  auto rule_connection_string = [&opts](const cs_args& a) {
    auto& api = opts.client();
    auto r = api.call("POST", api.hc_path(a.name) + "/authorizationRules/" + a.rule + "/listKeys");
    return str(r.body, a.secondary ? "secondaryConnectionString" : "primaryConnectionString");
  };
  auto cs = std::make_shared<cs_args>();
  auto* k = hc->add_subcommand("connection-string", "Print a connection string with EntityPath for a rule")
                ->fallthrough();
  k->add_option("NAME", cs->name, "Hybrid connection name")->required();
  k->add_option("--rule", cs->rule, "defaultListener (for hcm) or defaultSender (for hcconnect)")
      ->capture_default_str();
  k->add_flag("--secondary", cs->secondary, "Use the secondary key");
  k->callback([&opts, cs, rule_connection_string] {
    auto value = rule_connection_string(*cs);
    if (opts.json()) return print_json(json::object{{"rule", cs->rule}, {"connectionString", value}});
    std::cout << value << "\n";
  });

  auto token = std::make_shared<cs_args>();
  token->rule = "defaultSender";
  auto* t = hc->add_subcommand("token",
                               "Print a SAS token for a rule, to send in ServiceBusAuthorization (HTTP mode, "
                               "raw WebSocket clients)")
                ->fallthrough();
  t->add_option("NAME", token->name, "Hybrid connection name")->required();
  t->add_option("--rule", token->rule, "defaultSender (to send) or defaultListener (to listen)")
      ->capture_default_str();
  t->add_option("--ttl", token->ttl, "Seconds the token is valid")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  t->add_flag("--secondary", token->secondary, "Sign with the secondary key");
  t->callback([&opts, token, rule_connection_string] {
    auto parsed = proto::parse_connection_string(rule_connection_string(*token));
    if (!parsed)
      throw std::runtime_error("the relay returned a connection string hcctl cannot read: " +
                               parsed.error().message);
    auto expiry =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count() +
        token->ttl;
    auto value = proto::make_sas_token("http://" + parsed->host + "/" + parsed->entity_path, parsed->key_name,
                                       parsed->key, expiry);
    if (opts.json())
      return print_json(json::object{{"rule", token->rule}, {"token", value}, {"expiresAt", expiry}});
    std::cout << value << "\n";
  });
}

}  // namespace hc::ctl
