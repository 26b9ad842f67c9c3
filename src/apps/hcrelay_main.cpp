// apps/hcrelay_main: the hcrelay command line. Everything else lives in relay/.
#include "net/log.hpp"
#include "relay/relay_server.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

int main(int argc, char** argv) {
  hc::relay::relay_options o;
  std::string log_format = "text", log_level = "info";
  CLI::App app{"hcrelay: a self-hosted Azure Relay Hybrid Connections relay"};
  app.add_option("--data-dir", o.data_dir, "Directory for relay.db, TLS files and root.connection-string")->required();
  app.add_option("--listen", o.listen, "ADDR:PORT to listen on (port 0: any free port)")->capture_default_str();
  app.add_option("--public-host", o.public_host, "Host name clients use; names the first namespace")->capture_default_str();
  app.add_option("--public-port", o.public_port, "Port clients use, when a proxy maps another one (default: the bound port)");
  app.add_option("--tls-cert", o.tls_cert, "Server certificate chain (PEM)");
  app.add_option("--tls-key", o.tls_key, "Server private key (PEM)");
  app.add_flag("--dev-tls", o.dev_tls, "Generate a development CA and certificate under DATA_DIR/tls");
  app.add_flag("--insecure-plaintext", o.insecure_plaintext, "Serve ws:// without TLS (tests and trusted networks only)");
  app.add_option("--threads", o.threads, "I/O threads (default: one per core)");
  app.add_option("--log-format", log_format, "text or json")->capture_default_str();
  app.add_option("--log-level", log_level, "debug, info, warn or error")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    hc::net::init_logging(log_format, log_level);
    hc::net::raise_file_limit();
    hc::relay::relay_server(o).run();
  } catch (const std::exception& e) {
    spdlog::error("hcrelay cannot start: {}", e.what());
    return 1;
  }
  return 0;
}
