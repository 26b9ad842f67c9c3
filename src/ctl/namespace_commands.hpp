// ctl/namespace_commands: `hcctl namespace ...` and `hcctl key ...`: namespaces (create one
// served at another host name, list, show) and authorization rules on a namespace or a hybrid
// connection (list, show keys and connection strings, create, regenerate a key, delete) over
// the management API. Table output for people, -o json for scripts.
#pragma once
#include "ctl/options.hpp"

namespace CLI {
class App;
}

namespace hc::ctl {

void add_namespace_commands(CLI::App& app, options& opts);
void add_key_commands(CLI::App& app, options& opts);

}  // namespace hc::ctl
