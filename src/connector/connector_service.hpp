// connector/connector_service: the hcconnect daemon: one local listener per configured endpoint
// (loopbackAddress:endpointPort), one app_tunnel session per accepted connection, endpoints.json
// re-read when it changes (polled every second) -- or, in App Service mode, the app's hybrid
// connections polled from the relay (app_source) and held to the accepted ones (app_pins) -- with
// listeners opened and closed to match, /metrics (and /healthz, which names the endpoint changes that
// wait for `app-accept`) and the status socket (CONFIG_DIR/hcconnect.sock: the addresses it has bound). Used
// by `run-service` (foreground until a signal) and by `run --` (in-process, on background threads, for the
// lifetime of the command). Owns its io_context and threads; listeners live on one control strand; sessions
// each on their own strand.
#pragma once
#include "connector/app_source.hpp"
#include "net/limits.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace hc::connector {

struct service_options {
  std::string config_dir;              // endpoints.json
  std::string state_dir;               // the app's pinned endpoints, the status socket (util/state_dir.hpp)
  std::optional<std::string> ca_file;  // extra CA for the relay's certificate
  bool insecure_plaintext = false;     // ws:// to a relay run with --insecure-plaintext
  int metrics_port = 0;                // 0: no /metrics
  int threads = 0;                     // I/O threads; 0: one (net::agent_io_threads)
  // Ping interval on tunnel legs (run-service --tunnel-keepalive).
  std::chrono::seconds tunnel_keepalive =
      std::chrono::duration_cast<std::chrono::seconds>(net::limits::tunnel_keepalive_interval);
  std::chrono::milliseconds config_poll{1000};
  // HTTP/2 connections per relay node (run-service --http2-connections; 0: HTTP/1.1 only).
  std::size_t http2_connections = net::limits::h2_pool_connections;
  // App Service mode: the endpoints are the app's hybrid connections, polled from the relay
  // every app->poll (endpoints.json is not read).
  std::optional<app_source> app;
};

class connector_service {
 public:
  explicit connector_service(service_options options);
  ~connector_service();  // stop()

  // Reads the configuration, binds every endpoint it can (logging the ones it cannot) and the
  // metrics port, and starts the I/O threads. Throws std::runtime_error on an unusable
  // configuration, CA file or metrics port.
  void start();
  // Blocks until SIGINT or SIGTERM, then stop(). For run-service.
  void run_until_signal();
  // Closes the listeners, gives open tunnels a short drain period, then ends them and joins the
  // threads. Idempotent.
  void stop();

  // Listeners currently bound (for tests and logs).
  std::size_t listening() const;
  // "ADDRESS:PORT" of each listener bound now (what the status socket answers). Not on an I/O thread.
  std::set<std::string> bound_addresses() const;
  std::optional<boost::asio::ip::tcp::endpoint> metrics_endpoint() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace hc::connector
