// ctl/usage_command: `hcctl usage`: what hybrid connections used over a time range (listener
// connection-hours, tunnels, tunnel-seconds, bytes each way) from GET /api/v1/usage, for the
// whole relay or narrowed to a plan (with its SKU and limit), an app or one hybrid connection.
// A table for people, -o json or -o csv (one row per hybrid connection and hour) for scripts.
#pragma once
#include "ctl/options.hpp"

namespace CLI {
class App;
}

namespace hc::ctl {

void add_usage_command(CLI::App& app, options& opts);

}  // namespace hc::ctl
