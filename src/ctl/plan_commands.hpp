// ctl/plan_commands: `hcctl plan ...`: create, show (usage: distinct hybrid connections used /
// limit, and per hybrid connection the apps that use it), update (change SKU), list and delete
// App Service plans over the management API. Table output for people, -o json for scripts.
#pragma once
#include "ctl/options.hpp"

namespace CLI {
class App;
}

namespace hc::ctl {

void add_plan_commands(CLI::App& app, options& opts);

}  // namespace hc::ctl
