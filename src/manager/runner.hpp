// manager/runner: keeps one hybrid connection attached to its relay, forever. Reads the
// endpoint with the runtime-info GET (and dials the entry's pinned one unless it follows the
// relay: a changed endpoint is shown, not followed), holds the listener control channel (keep-alive Pings,
// token renewal), spawns a tunnel per accept, and reconnects with backoff whatever happened:
// relay restart, network loss, 404 (NotFound, slow retry), 401/403 (Unauthorized).
// A runner is one coroutine on its own strand; runner_handle owns it: destroying the handle
// (or calling stop) ends the coroutine at its next step. Tunnels outlive their runner.
#pragma once
#include "manager/config.hpp"
#include "manager/metrics.hpp"
#include "manager/status.hpp"
#include "net/limits.hpp"
#include "net/task_group.hpp"
#include "net/tls.hpp"
#include "proto/endpoint.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace hc::manager {

struct runner_settings {
  connection_entry entry;
  net::tls_context tls;
  bool plaintext = false;                     // ws:// and http:// (a relay run with --insecure-plaintext)
  std::string listener_id;                    // sb-hc-id: stable per instance and connection
  std::string machine;                        // this host's name (reject reasons)
  std::chrono::seconds token_lifetime{3600};  // renewed at 3/4 of it
  std::chrono::seconds keepalive{30};         // Ping interval; dead after 2 unanswered
  std::chrono::seconds tunnel_keepalive{60};  // Ping interval on tunnel legs
  std::chrono::seconds refresh{180};          // runtime-info refresh while connected
  std::size_t http2_connections = net::limits::h2_pool_connections;  // per relay node; 0: HTTP/1.1 only
  hcm_metrics* metrics = nullptr;                                    // outlives the runner and its tunnels
  net::task_group* tunnels = nullptr;  // the service's drain group (outlives the tunnels)
  // Stores `endpoint` as the entry's pinned one (an entry that had none); called on the runner's
  // strand, must not block.
  std::function<void(const proto::endpoint&)> pin;
};

class runner_handle {
 public:
  // Starts the runner on a new strand of `io`. Throws std::invalid_argument when the entry's
  // connection string does not parse (the CLI validated it; a hand-edited file may not be).
  runner_handle(net::asio::any_io_executor io, runner_settings settings);
  ~runner_handle();
  runner_handle(const runner_handle&) = delete;
  runner_handle& operator=(const runner_handle&) = delete;

  void stop();
  std::shared_ptr<connection_stats> stats() const { return stats_; }
  const connection_entry& entry() const { return entry_; }

  struct state;

 private:
  connection_entry entry_;
  std::shared_ptr<connection_stats> stats_;
  std::shared_ptr<state> state_;
};

}  // namespace hc::manager
