// manager/status: what a running hcm knows about each hybrid connection (state, reason, listener
// count, tunnels, bytes) and status.json, the file through which the service tells the CLI.
// connection_stats is shared between a runner's strand, its tunnels' strands and the status
// writer: plain fields under a mutex, counters atomic. The file is written only by the service.
#pragma once
#include "net/pump.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hc::manager {

// One connection's state as the CLI, the UI and /metrics show it.
struct connection_status {
  std::string ns, name;
  std::string status = "Disconnected";  // Connected | Disconnected | NotFound | Unauthorized
  std::string reason;                   // why, in words ("" when Connected)
  std::string endpoint;                 // host:port hcm dials (the pinned one unless following)
  // "" or, when the relay's metadata names another endpoint than the pinned one, what to do
  // ("endpoint changed on the relay to X: run `hcm add` again to accept ...").
  std::string endpoint_change;
  int listeners = -1;  // ListenerCount from runtime info (-1 = unknown)
  std::string last_error;
  std::uint64_t reconnects = 0;
  std::uint64_t active_tunnels = 0;
  std::uint64_t tunnels_total = 0;
  std::uint64_t bytes_to_endpoint = 0;
  std::uint64_t bytes_from_endpoint = 0;
};

class connection_stats {
 public:
  connection_stats(std::string ns, std::string name);

  void set_state(std::string status, std::string reason);
  void set_endpoint(std::string endpoint);
  void set_endpoint_change(std::string text);
  void set_listeners(int n);
  void set_last_error(std::string text);
  void count_reconnect();
  connection_status snapshot() const;

  // Shared by every tunnel of this connection (app_to_agent = towards the endpoint).
  net::tunnel_counters bytes;
  std::atomic<std::uint64_t> active_tunnels{0};
  std::atomic<std::uint64_t> tunnels_total{0};

 private:
  mutable std::mutex mutex_;
  connection_status s_;  // guarded by mutex_ (counters above are not copied in until snapshot)
};

struct status_file {
  long pid = 0;
  std::int64_t written_unix = 0;  // seconds
  std::uint16_t ui_port = 0;      // the web UI's port on 127.0.0.1 (0: off), for `hcm ui-url`
  std::vector<connection_status> connections;
};

std::string serialize_status(const status_file& f);
// nullopt when absent or unreadable.
std::optional<status_file> read_status(const std::string& state_dir);
// True when the file is recent and its pid is alive: the service is running.
bool status_is_live(const status_file& f);

}  // namespace hc::manager
