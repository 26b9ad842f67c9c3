// ctl/tcpping: `hcctl tcpping HOST:PORT [-n COUNT]`, TCP connect timing like the Kudu console
// tool: the DNS answer first (every address), then one line per attempt and min/avg/max. It
// proves only that a TCP connection opens from this host, not that a hybrid connection works
// (`hcctl diagnose` answers that).
#pragma once

namespace CLI {
class App;
}

namespace hc::ctl {

struct options;
void add_tcpping_command(CLI::App& app, options& opts);

}  // namespace hc::ctl
