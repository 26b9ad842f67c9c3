// ctl/app_commands: `hcctl app ...`: apps (create, update --plan, show, list, delete), the app's
// Send credential (`app key`, with the hcconnect command that uses it) and its hybrid
// connections (`app hc add|create|list|show|disconnect`: the portal's Networking > Hybrid
// connections page) over the management API. Table output for people, -o json for scripts.
#pragma once
#include "ctl/options.hpp"

namespace CLI {
class App;
}

namespace hc::ctl {

void add_app_commands(CLI::App& app, options& opts);

}  // namespace hc::ctl
