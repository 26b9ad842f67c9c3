// ctl/hc_commands: `hcctl hc ...`: create, list, show, delete and connection-string for hybrid
// connections, over the management API. Table output for people, -o json for scripts.
#pragma once
#include "ctl/options.hpp"

namespace CLI {
class App;
}

namespace hc::ctl {

void add_hc_commands(CLI::App& app, options& opts);

}  // namespace hc::ctl
