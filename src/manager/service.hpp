// manager/service: `hcm run`, the long-running service. Owns the io_context and its threads,
// one runner per configured connection (added, removed and restarted as connections.json
// changes: the file is polled every second), status.json (rewritten when something changed and
// at least every 10 s as a heartbeat), the log file STATE_DIR/hcm.log (rotated at 5 MB; none when
// systemd gives stderr to the journal), and the
// optional local web UI + /metrics. SIGINT/SIGTERM stop it: runners first, then up to
// limits::agent_drain_timeout for the open tunnels (a net::task_group) to finish.
#pragma once
#include "net/limits.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace hc::manager {

struct service_options {
  std::string config_dir;
  std::string state_dir;      // status.json, instance-id, ui-token, hcm.log (config.hpp)
  std::uint16_t ui_port = 0;  // 0: no web UI
  std::string ca_file;        // extra CA for the relay (else HCRELAY_CA_FILE / system store)
  bool plaintext = false;     // ws:// to a relay run with --insecure-plaintext
  int threads = 0;            // I/O threads; 0: net::agent_io_threads' default
  // Ping interval on tunnel legs (hcm run --tunnel-keepalive).
  std::chrono::seconds tunnel_keepalive =
      std::chrono::duration_cast<std::chrono::seconds>(net::limits::tunnel_keepalive_interval);
  // HTTP/2 connections per relay node (hcm run --http2-connections; 0: HTTP/1.1 only).
  std::size_t http2_connections = net::limits::h2_pool_connections;
};

// Returns the process exit code. Logging must be initialised (util::init_logging) first.
int run_service(const service_options& options);

}  // namespace hc::manager
