// ctl/diagnose: `hcctl diagnose NAMESPACE/NAME` (or `--app APP` for each of an app's hybrid
// connections): walks the path a connection takes and says
// which step fails, in plain words, with the fix: relay reachable and TLS valid, key accepted,
// hybrid connection exists, endpoint metadata is a DNS name, listeners connected, and a live
// probe through a real tunnel to the endpoint (or hcm's reason for refusing it). Exit code 0
// only when a tunnel reached the endpoint.
#pragma once

namespace CLI {
class App;
}

namespace hc::ctl {

struct options;
void add_diagnose_command(CLI::App& app, options& opts);

}  // namespace hc::ctl
