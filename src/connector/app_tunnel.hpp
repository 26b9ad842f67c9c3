// connector/app_tunnel: one app TCP connection's life in hcconnect: dial the relay as a sender
// (Send SAS, TLS), then splice bytes both ways with half-close (net::splice). A relay reject or
// failure resets the app's connection at once and logs the relay's status and reason. The
// coroutine's frame owns both streams; it runs on its own strand (connector_service spawns it).
#pragma once
#include "connector/connector_metrics.hpp"
#include "net/relay_client.hpp"
#include "net/task_group.hpp"

#include <memory>
#include <string>

namespace hc::connector {

// What every connection to one endpoint shares; immutable once built (read from many strands).
struct tunnel_target {
  std::string name;      // the hybrid connection
  std::string endpoint;  // host:port, for logs
  net::relay_client client;
  std::chrono::seconds keepalive{60};  // Ping interval on the tunnel leg (net::splice)
};

// `id` numbers connections in logs. `metrics` and `sessions` outlive every session (the
// service owns them and destroys its io_context first); the session is a member of `sessions`
// while it runs, so shutdown can drain it (see connector_service::stop).
net::task<> serve_app_connection(std::shared_ptr<const tunnel_target> target, net::tcp::socket app_socket,
                                 std::uint64_t id, connector_metrics& metrics, net::task_group& sessions);

}  // namespace hc::connector
