// apps/hcrelay_main: the hcrelay command line. Everything else lives in relay/.
#include "relay/server.hpp"
#include "util/build_info.hpp"
#include "util/cli_run.hpp"
#include "util/log.hpp"

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <iostream>
#include <sstream>

namespace {

constexpr const char* default_config_file = "/etc/hcrelay/hcrelay.conf";  // read when it exists

double seconds_of(std::chrono::milliseconds d) {
  return std::chrono::duration<double>(d).count();
}

std::chrono::milliseconds milliseconds_of(double seconds) {
  return std::chrono::milliseconds(std::llround(seconds * 1000));
}

// The settings in effect as a config file (--print-config): every key with its description; a
// key with no value is left commented out, so the file reads back as it was printed.
std::string settings_file(const CLI::App& app) {
  std::istringstream printed(app.config_to_str(true, true));
  std::string out, line;
  while (std::getline(printed, line)) {
    bool unset = line.size() > 3 && line.ends_with("=\"\"") && line[0] != '#';
    out += (unset ? "# " + line.substr(0, line.size() - 2) : line) + "\n";
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  hc::relay::relay_options o;
  std::string log_format = "text", log_level = "info";
  CLI::App app{"hcrelay: a self-hosted Azure Relay Hybrid Connections relay"};
  app.set_version_flag("--version", hc::util::version_line("hcrelay"), "Print the version and git commit");
  // Settings come from flags, then HCRELAY_<FLAG> variables, then the config file: every option
  // takes the last value given, and the variables go before the real arguments (util/cli_run).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_config(
      "--config", default_config_file,
      "Settings file: `key = value` lines, keys as the long flags (hcrelay --print-config writes "
      "one; or HCRELAY_CONFIG, /dev/null for none); HCRELAY_<FLAG> variables (HCRELAY_DATA_DIR) override it, "
      "flags override both");
  app.allow_config_extras(false);  // a misspelt key is an error, not ignored
  bool print_config = false;
  app.add_flag("--print-config", print_config,
               "Print the settings in effect as a config file, every key with its description, and exit")
      ->configurable(false);
  app.add_option("--data-dir", o.data_dir,
                 "Directory for relay.db, TLS files and root.connection-string (required)");
  app.add_option("--listen", o.listen, "ADDR:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--admin-listen", o.admin_listen,
                 "ADDR:PORT (e.g. 127.0.0.1:9443) that serves the management API, the portal and /metrics "
                 "instead of the public address, which keeps tunnels, the runtime-info GET and /healthz");
  std::string proxy_protocol;
  app.add_option("--proxy-protocol", proxy_protocol,
                 "Load balancers (addresses and ADDRESS/BITS, comma-separated) whose connections start with "
                 "a PROXY protocol v2 header naming the client (HAProxy send-proxy-v2, AWS NLB); limits, "
                 "logs and accepts then see the client");
  app.add_option("--public-host", o.public_host, "Host name clients use; names the first namespace")
      ->capture_default_str();
  app.add_option("--public-port", o.public_port,
                 "Port clients use, when a proxy maps another one (default: the bound port)");
  app.add_option("--tls-cert", o.tls_cert, "Server certificate chain (PEM)");
  app.add_option("--tls-key", o.tls_key, "Server private key (PEM)");
  app.add_flag("--dev-tls", o.dev_tls, "Generate a development CA and certificate under DATA_DIR/tls");
  app.add_flag("--insecure-plaintext", o.insecure_plaintext,
               "Serve ws:// without TLS (tests and trusted networks only)");
  app.add_option("--threads", o.threads, "I/O threads (default: one per core)");
  app.add_option("--store", o.store,
                 "Catalog store shared by every relay of a cluster: postgres://USER@HOST:PORT/DB, without a "
                 "password (default: DATA_DIR/relay.db, SQLite, this relay alone)");
  app.add_option("--store-password-file", o.store_password_file,
                 "File holding the PostgreSQL password (mode 0600); or use PGPASSFILE");
  app.add_option(
      "--cluster", o.cluster,
      "Redis of a relay cluster (presence, cross-node accepts): redis://[USER@]HOST:PORT[/DB], without "
      "a password; needs --store postgres://...");
  app.add_option("--cluster-password-file", o.cluster_password_file,
                 "File holding the Redis password (mode 0600)");
  app.add_option("--advertise", o.advertise,
                 "This node's address in the accept addresses it hands out: HOST:PORT, or PORT for the "
                 "namespace's host on this port (default: the public address)");
  auto& limits = o.settings;
  double keepalive_s = seconds_of(limits.listener_keepalive), drain_s = seconds_of(limits.drain_timeout),
         idle_s = seconds_of(limits.http_idle_timeout), answer_s = seconds_of(limits.http_answer_timeout);
  app.add_option("--listener-keepalive", keepalive_s,
                 "Seconds between pings on each listener control channel; two unanswered drop the listener")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  auto grace_s = std::int64_t(limits.token_grace.count());
  app.add_option("--token-grace", grace_s,
                 "Seconds a listener's token holds past its expiry before the relay closes the control "
                 "channel with 1008 (renewToken within it keeps the listener)")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));
  app.add_option("--auth-failure-refill", limits.auth_failure_refill,
                 "Failed authentications per second an address regains of its allowance of 100; with none "
                 "left its requests get 429 and Retry-After")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 1e6));
  app.add_option("--drain-timeout", drain_s,
                 "On SIGTERM: seconds open channels and tunnels get after Close 1001 before the relay exits")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-connections-per-source", limits.max_connections_per_source,
                 "Open connections from one address (IPv6: one /64); more are closed at once")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-connections", limits.max_connections,
                 "Open connections in total; more are closed at once")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--http-idle-timeout", idle_s, "Seconds a plain HTTP connection may idle between requests")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-requests-per-connection", limits.max_requests_per_connection,
                 "Requests one plain HTTP connection may carry")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--http-answer-timeout", answer_s,
                 "HTTP mode: seconds a listener has to answer a request, and to send each next piece of its "
                 "response body (then 504, or the body is cut)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--http-max-request-body", limits.max_relayed_body_bytes,
                 "HTTP mode: the largest request body passed on to a listener, in bytes (413 beyond)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  bool no_http2 = false;
  app.add_flag(
      "--no-http2", no_http2,
      "Offer only HTTP/1.1 by ALPN (HTTP/2 carries many tunnels of hcm and hcconnect on one connection)");
  app.add_option("--http2-max-streams", limits.http2_max_streams,
                 "Streams (tunnel legs, requests) one HTTP/2 connection may have open at once")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  bool hc_metrics = false, no_hc_metrics = false;
  app.add_flag(
      "--hc-metrics", hc_metrics,
      "Per-hybrid-connection families (hcrelay_hc_*) in /metrics even without --admin-listen, where "
      "/metrics is on the public address and they name every tenant's hybrid connections (default: on "
      "with --admin-listen only)");
  app.add_flag("--no-hc-metrics", no_hc_metrics,
               "Leave the per-hybrid-connection families (hcrelay_hc_*) out of /metrics (very large relays)");
  app.add_option("--hc-metrics-limit", limits.hc_metrics_limit,
                 "Hybrid connections that get /metrics series of their own; the rest are summed under "
                 "hybrid_connection=\"_other\"")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  double usage_interval_s = seconds_of(limits.usage_interval);
  app.add_option("--usage-interval", usage_interval_s,
                 "Seconds between writes of the hourly usage counts to the store (and at shutdown)")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 86400.0));
  app.add_option("--usage-retention-days", limits.usage_retention_days,
                 "Days of hourly usage rows the store keeps")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--log-format", log_format, "text or json")->capture_default_str();
  app.add_option("--log-level", log_level, "debug, info, warn or error")->capture_default_str();
  auto args = hc::util::with_environment(app, "HCRELAY_", {argv, argv + argc});
  return hc::util::run_cli("hcrelay", app, std::move(args), [&] {
    if (print_config) {
      std::cout << settings_file(app);
      return hc::util::exit_code::ok;
    }
    if (o.data_dir.empty())
      throw hc::util::usage_error(
          std::string("--data-dir is required (or HCRELAY_DATA_DIR, or data-dir in the ") +
          "--config file, " + default_config_file + " by default)");
    try {
      o.proxy_protocol_from = hc::net::address_ranges::parse(proxy_protocol, "--proxy-protocol");
    } catch (const std::invalid_argument& e) {
      throw hc::util::usage_error(e.what());
    }
    limits.listener_keepalive = milliseconds_of(keepalive_s);
    limits.token_grace = std::chrono::seconds(grace_s);
    limits.drain_timeout = milliseconds_of(drain_s);
    limits.http_idle_timeout = milliseconds_of(idle_s);
    limits.http_answer_timeout = milliseconds_of(answer_s);
    limits.http2 = !no_http2;
    if (hc_metrics && no_hc_metrics)
      throw hc::util::usage_error("--hc-metrics and --no-hc-metrics contradict each other: give one");
    limits.hc_metrics = hc_metrics      ? hc::relay::relay_settings::per_hc::on
                        : no_hc_metrics ? hc::relay::relay_settings::per_hc::off
                                        : hc::relay::relay_settings::per_hc::by_admin_address;
    limits.usage_interval = milliseconds_of(usage_interval_s);
    try {
      hc::util::init_logging(log_format, log_level);
      hc::util::raise_file_limit();
      hc::relay::relay_server(o).run();
    } catch (const std::exception& e) {
      spdlog::error("hcrelay cannot start: {}", e.what());
      return hc::util::exit_code::failed;
    }
    return hc::util::exit_code::ok;
  });
}
