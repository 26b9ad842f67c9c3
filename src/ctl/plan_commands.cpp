// ctl/plan_commands: the `plan` verbs (see plan_commands.hpp).
#include "ctl/plan_commands.hpp"

#include "ctl/table.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <iostream>

namespace hc::ctl {
namespace json = boost::json;
namespace {

const std::vector<std::string> sku_names{"Free", "Basic", "Standard", "Premium", "Isolated"};

std::string plan_path(const std::string& plan = {}) {
  return "/api/v1/plans" + (plan.empty() ? std::string() : "/" + segment(plan));
}

std::string usage(const json::value& p) {
  return field(p, "hybridConnectionsUsed") + " / " + field(p, "hybridConnectionLimit");
}

void print_plan(const json::value& p) {
  print_details({{"Name", field(p, "name")},
                 {"SKU", field(p, "sku")},
                 {"Hybrid connections", usage(p) + " (distinct, used / limit)"},
                 {"Apps", field(p, "apps")},
                 {"Created", field(p, "createdAt")},
                 {"Updated", field(p, "updatedAt")}});
  const auto& hcs = rows_of(p, "hybridConnections");
  if (hcs.empty()) return;
  std::cout << "\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& h : hcs)
    rows.push_back({field(h, "namespace") + "/" + field(h, "name"), field(h, "endpoint"), field(h, "status"),
                    field(h, "apps")});
  print_table({"HYBRID CONNECTION", "ENDPOINT", "STATUS", "USED BY APPS"}, rows);
}

}  // namespace

void add_plan_commands(CLI::App& app, options& opts) {
  auto* plan = app.add_subcommand("plan", "App Service plans: SKU and hybrid connection limits")
                   ->require_subcommand(1);
  plan->fallthrough();

  struct sku_args {
    std::string name, sku;
  };
  auto create = std::make_shared<sku_args>();
  auto* c = plan->add_subcommand("create", "Create a plan")->fallthrough();
  c->add_option("PLAN", create->name, "Plan name")->required();
  c->add_option("--sku", create->sku,
                "Free (no hybrid connections), Basic (5), Standard (25), Premium or Isolated (200)")
      ->required()
      ->check(CLI::IsMember(sku_names, CLI::ignore_case));
  c->callback([&opts, create] {
    auto r = opts.client().call("PUT", plan_path(create->name),
                                json::serialize(json::object{{"sku", create->sku}}));
    if (opts.json()) return print_json(r.body);
    std::cout << (r.status == 201 ? "created" : "updated") << " plan " << create->name << "\n";
    print_plan(r.body);
  });

  auto update = std::make_shared<sku_args>();
  auto* u =
      plan->add_subcommand("update", "Change a plan's SKU (refused below its current use)")->fallthrough();
  u->add_option("PLAN", update->name, "Plan name")->required();
  u->add_option("--sku", update->sku, "The new SKU")
      ->required()
      ->check(CLI::IsMember(sku_names, CLI::ignore_case));
  u->callback([&opts, update] {
    auto r = opts.client().call("PUT", plan_path(update->name),
                                json::serialize(json::object{{"sku", update->sku}}));
    if (opts.json()) return print_json(r.body);
    std::cout << "plan " << update->name << " is " << field(r.body, "sku") << "\n";
    print_plan(r.body);
  });

  auto show = std::make_shared<std::string>();
  auto* s = plan->add_subcommand("show", "Show a plan's usage and the apps using each hybrid connection")
                ->fallthrough();
  s->add_option("PLAN", *show, "Plan name")->required();
  s->callback([&opts, show] {
    auto r = opts.client().call("GET", plan_path(*show));
    if (opts.json()) return print_json(r.body);
    print_plan(r.body);
  });

  plan->add_subcommand("list", "List plans")->fallthrough()->callback([&opts] {
    auto r = opts.client().call("GET", plan_path());
    if (opts.json()) return print_json(r.body);
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : rows_of(r.body))
      rows.push_back({field(p, "name"), field(p, "sku"), usage(p), field(p, "apps")});
    print_table({"NAME", "SKU", "HYBRID CONNECTIONS", "APPS"}, rows);
  });

  auto del = std::make_shared<std::string>();
  auto* d = plan->add_subcommand("delete", "Delete a plan that has no apps")->fallthrough();
  d->add_option("PLAN", *del, "Plan name")->required();
  d->callback([&opts, del] {
    opts.client().call("DELETE", plan_path(*del));
    if (opts.json()) return print_json(json::object{{"deleted", *del}});
    std::cout << "deleted plan " << *del << "\n";
  });
}

}  // namespace hc::ctl
