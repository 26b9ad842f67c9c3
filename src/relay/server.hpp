// relay/server: hcrelay as a whole: opens the store, prepares TLS, binds, accepts and
// spawns one connection coroutine per socket on its own strand, and stops on SIGINT/SIGTERM.
// Owns relay_context, which therefore outlives every session.
#pragma once
#include "net/address_range.hpp"
#include "relay/settings.hpp"

#include <memory>
#include <string>

namespace hc::relay {

struct relay_options {
  std::string data_dir;
  std::string listen = "0.0.0.0:443";  // ADDR:PORT; port 0 picks a free one
  std::string admin_listen;  // ADDR:PORT for the management API, portal, /metrics; "" = the public one
  std::string public_host = "localhost";
  int public_port = 0;  // port put in accept addresses and connection strings; 0 = the bound port
  std::string tls_cert;
  std::string tls_key;
  bool dev_tls = false;
  bool insecure_plaintext = false;
  int threads = 0;                    // 0 = one per core
  std::string store;                  // "" = DATA_DIR/relay.db; postgres://... shared by a cluster
  std::string store_password_file;    // the PostgreSQL password, never on the command line
  std::string cluster;                // redis://HOST:PORT/DB: presence and signals of a cluster
  std::string cluster_password_file;  // the Redis password, never on the command line
  std::string advertise;              // this node in accept addresses: HOST:PORT or PORT
  // Load balancers whose connections start with a PROXY v2 header naming the client (--proxy-protocol).
  net::address_ranges proxy_protocol_from;
  relay_settings settings;
};

class relay_server {
 public:
  explicit relay_server(relay_options options);
  ~relay_server();
  // Binds and serves until SIGINT or SIGTERM. Throws std::runtime_error on start-up problems
  // (unreadable certificate, port in use, unusable data dir) with a message that says what to do.
  void run();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace hc::relay
