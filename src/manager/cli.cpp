// manager/cli: parsing and the file-based verbs (see cli.hpp); `run` is in service.cpp.
#include "manager/cli.hpp"

#include "manager/add_connection.hpp"
#include "manager/endpoint_dial.hpp"
#include "manager/login_commands.hpp"
#include "manager/service.hpp"
#include "manager/status.hpp"
#include "manager/ui_token.hpp"
#include "manager/views.hpp"
#include "net/egress_options.hpp"
#include "net/egress_proxy.hpp"
#include "net/limits.hpp"
#include "net/spawn.hpp"
#include "net/tls.hpp"
#include "proto/endpoint.hpp"
#include "util/build_info.hpp"
#include "util/cli_run.hpp"
#include "util/log.hpp"
#include "util/private_file.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>

namespace hc::manager {
namespace asio = net::asio;

namespace {

struct cli_options {
  std::string config_dir;
  std::string state_dir;
  std::string ca_file;
  bool plaintext = false;
  std::string output = "table";
};

std::vector<connection_view> current_views(const cli_options& o) {
  auto entries = load_connections(o.config_dir);
  std::optional<std::vector<connection_status>> live;
  if (auto st = read_status(o.state_dir); st && status_is_live(*st)) live = st->connections;
  return merge_views(entries, live);
}

int cmd_add(const cli_options& o, std::string text, endpoint_policy policy) {
  if (text == "-") std::getline(std::cin, text);
  net::tls_context tls;
  try {
    tls = net::make_client_tls(net::ca_file_from(o.ca_file));
  } catch (const std::exception& e) {
    std::cerr << "hcm: " << e.what() << "\n";
    return 1;
  }
  auto r = net::run_sync(add_connection(o.config_dir, text, tls, o.plaintext, policy));
  for (auto& w : r.warnings) std::cerr << "hcm: warning: " << w << "\n";
  if (!r.ok) {
    std::cerr << "hcm: not added: " << r.error << "\n";
    return 1;
  }
  std::cout << added_line(r, policy) << "\n";
  return 0;
}

// `hcm ui-url`: the web UI's URL with its token, for the user the service runs as (the token file
// is 0600). The port is the running service's (status.json) unless given.
int cmd_ui_url(const cli_options& o, int port) {
  if (port == 0) {
    auto st = read_status(o.state_dir);
    if (!st || !status_is_live(*st)) {
      std::cerr
          << "hcm: the service is not running with this --config-dir (start it with hcm run --ui-port PORT, "
             "or give --port)\n";
      return 1;
    }
    port = st->ui_port;
    if (port == 0) {
      std::cerr << "hcm: the service runs without its web UI (hcm run --ui-port PORT turns it on)\n";
      return 1;
    }
  }
  auto token = read_ui_token(o.state_dir);
  if (!token) {
    std::cerr << "hcm: no " << ui_token_path(o.state_dir)
              << " yet: `hcm run --ui-port PORT` makes it at its first start\n";
    return 1;
  }
  std::cout << ui_url(std::uint16_t(port), *token) << "\n";
  return 0;
}

int cmd_remove(const cli_options& o, const std::string& ns, const std::string& name) {
  if (!remove_connection(o.config_dir, ns, name)) {
    std::cerr << "hcm: no connection " << ns << "/" << name << " is configured (see hcm list)\n";
    return util::exit_code::not_found;
  }
  std::cout << "removed " << ns << "/" << name << "\n";
  return 0;
}

int cmd_restart(const cli_options& o, const std::string& ns, const std::string& name) {
  if (!restart_connection(o.config_dir, ns, name)) {
    std::cerr << "hcm: no connection " << ns << "/" << name << " is configured (see hcm list)\n";
    return util::exit_code::not_found;
  }
  std::cout << "restarting " << ns << "/" << name << "\n";
  return 0;
}

int cmd_list(const cli_options& o) {
  auto views = current_views(o);
  if (o.output == "json") {
    boost::json::array arr;
    for (auto& v : views) arr.push_back(to_json(v));
    std::cout << boost::json::serialize(arr) << "\n";
  } else if (views.empty()) {
    std::cout << "no hybrid connections configured (add one with: hcm add \"<connection string>\")\n";
  } else {
    std::cout << format_table(views);
  }
  return 0;
}

int cmd_show(const cli_options& o, const std::string& ns, const std::string& name) {
  for (auto& v : current_views(o)) {
    if (v.entry.ns != ns || v.entry.name != name) continue;
    if (o.output == "json")
      std::cout << boost::json::serialize(to_json(v)) << "\n";
    else
      std::cout << format_details(v);
    return 0;
  }
  std::cerr << "hcm: no connection " << ns << "/" << name << " is configured (see hcm list)\n";
  return util::exit_code::not_found;
}

// The route `hcm run` takes to each configured relay (directly or through the proxy) and whether
// it opens; true when every one does.
bool test_relay_routes(const cli_options& o, int timeout_s) {
  struct relay {
    std::string host;
    std::uint16_t port;
    std::string used_by;  // the first connection that names it
  };
  std::vector<relay> relays;
  for (const auto& e : load_connections(o.config_dir)) {
    auto cs = proto::parse_connection_string(e.connection_string);
    if (!cs) continue;
    bool seen = false;
    for (const auto& r : relays) seen = seen || (r.host == cs->host && r.port == cs->port);
    if (!seen) relays.push_back({cs->host, cs->port, e.key()});
  }
  if (relays.empty()) return true;
  std::cout << "relays (as `hcm run` reaches them):\n";
  bool all = true;
  for (const auto& r : relays) {
    auto hop =
        net::run_sync(net::check_egress(r.host, r.port, !o.plaintext, std::chrono::seconds(timeout_s)));
    std::cout << "  " << r.host << ":" << r.port << " (" << r.used_by << "): " << hop.route << ": "
              << (hop.error.empty() ? "reachable" : "FAILED: " + hop.error) << "\n";
    all = all && hop.error.empty();
  }
  return all;
}

int cmd_test(const cli_options& o, const std::string& target, int timeout_s) {
  auto ep = proto::parse_endpoint(target);
  if (!ep) {
    std::cerr << "hcm: " << ep.error().message << "\n";
    return 1;
  }
  if (auto w = proto::endpoint_host_warning(ep->host); !w.empty()) std::cout << "note: " << w << "\n";
  auto report = net::run_sync(probe_endpoint(ep->host, ep->port, std::chrono::seconds(timeout_s)));
  std::cout << std::fixed << std::setprecision(1);
  if (!report.resolve_error.empty()) {
    std::cout << "DNS: " << ep->host << " does not resolve on this host: " << report.resolve_error << "\n";
    test_relay_routes(o, timeout_s);
    return 1;
  }
  std::cout << "DNS: " << ep->host << " resolved in " << report.resolve_seconds * 1000 << " ms to "
            << report.addresses.size() << " address(es)\n";
  bool any = false;
  for (auto& a : report.addresses) {
    std::cout << "  " << a.address << "  ";
    if (a.ec) {
      std::cout << "FAILED after " << a.seconds * 1000 << " ms: " << a.ec.message() << "\n";
    } else {
      any = true;
      std::cout << "connected in " << a.seconds * 1000 << " ms\n";
    }
  }
  std::cout << (any ? "reachable\n" : "not reachable from this host\n");
  bool relays_ok = test_relay_routes(o, timeout_s);
  return any && relays_ok ? 0 : 1;
}

// The service's last `n` lines: from STATE_DIR/hcm.log, or from the journal when there is none,
// the state directory is the packaged unit's and systemd runs this host (the unit logs there only).
int cmd_logs(const cli_options& o, std::size_t n) {
  std::ifstream in(log_path(o.state_dir));
  if (!in && is_packaged_state_dir(o.state_dir) && std::filesystem::exists("/run/systemd/system")) {
    auto lines = std::to_string(n);
    ::execlp("journalctl", "journalctl", "--unit", "hcm", "--lines", lines.c_str(), "--no-pager", nullptr);
    std::cerr << "hcm: cannot run journalctl: " << std::strerror(errno) << "\n";
    return 1;
  }
  if (!in) {
    std::cerr << "hcm: no log at " << log_path(o.state_dir)
              << " (has the service run with this --config-dir or --state-dir?)\n";
    return util::exit_code::not_found;
  }
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(std::move(line));
    if (tail.size() > n) tail.pop_front();
  }
  for (auto& l : tail) std::cout << l << "\n";
  return 0;
}

// Microsoft's HCM takes `-ns NAMESPACE -n NAME` after remove, show and restart; CLI11 reads "-ns"
// as two short flags, so those two are spelled long there before parsing (elsewhere -n is logs'
// --lines).
std::vector<std::string> with_long_option_names(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  bool named_verb = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (!named_verb) {
      named_verb = args[i] == "remove" || args[i] == "show" || args[i] == "restart";
      continue;
    }
    if (args[i] == "-ns")
      args[i] = "--namespace";
    else if (args[i] == "-n")
      args[i] = "--name";
  }
  return args;
}

}  // namespace

int cli_main(int argc, char** argv) {
  cli_options o;
  CLI::App app{
      "hcm: Hybrid Connection Manager: carries hybrid connections from a relay to endpoints in this network"};
  app.set_version_flag("--version", util::version_line("hcm"), "Print the version and git commit");
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the verb: hcm list -o json
  app.add_option("--config-dir", o.config_dir,
                 "Configuration directory (default: $HCM_CONFIG_DIR or /etc/hcm)");
  app.add_option("--state-dir", o.state_dir,
                 "Status, instance id, web UI token and log file (default: $HCM_STATE_DIR, else /var/lib/hcm "
                 "with /etc/hcm, else the configuration directory)");
  app.add_option("--ca-file", o.ca_file,
                 "Extra CA certificate to trust for the relay (default: $HCRELAY_CA_FILE)");
  app.add_flag("--insecure-plaintext", o.plaintext,
               "Talk ws:// and http:// to a relay run with --insecure-plaintext");
  app.add_option("-o,--output", o.output, "table or json")->check(CLI::IsMember({"table", "json"}));
  net::add_egress_options(app);

  std::string text, ns, name, target, log_format = "text", log_level = "info";
  int ui_port = 0, timeout_s = 5, threads = 0;
  int tunnel_keepalive_s =
      int(std::chrono::duration_cast<std::chrono::seconds>(net::limits::tunnel_keepalive_interval).count());
  std::size_t lines = 100;
  auto* add =
      app.add_subcommand("add", "Add (or update) a hybrid connection from its listener connection string");
  add->add_option("connection-string", text,
                  "Endpoint=sb://...;SharedAccessKeyName=...;SharedAccessKey=...;"
                  "EntityPath=... ('-' reads it from stdin)");
  std::vector<std::string> picks;
  auto* pick =
      add->add_option("--pick", picks,
                      "Instead of a connection string: choose from the hybrid connections the relay "
                      "hcm login signed in to lets it see (NAMESPACE/NAME ...; none: a numbered list "
                      "and a question)")
          ->expected(0, -1)
          ->excludes(add->get_option("connection-string"));
  endpoint_policy policy;
  add->add_flag(
      "--follow-endpoint", policy.follow_endpoint,
      "Dial whatever endpoint the relay's metadata names now (default: pin the one it names at add; a "
      "later change is shown, not followed)");
  add->add_flag(
      "--allow-link-local", policy.allow_link_local,
      "Allow an endpoint on a link-local address (169.254.0.0/16, fe80::/10: cloud metadata services), "
      "refused by default");
  login_request login;
  auto* login_cmd = app.add_subcommand(
      "login",
      "Sign in to a relay's management API so that hcm add --pick (and the web UI's Select) can choose from "
      "its hybrid connections; the key is read from standard input (or --key-file) and kept in "
      "CONFIG_DIR/relay-login.json (0600)");
  login_cmd
      ->add_option("--relay", login.relay,
                   "https://HOST[:PORT]: the namespace's host (a relay "
                   "administrator: the relay's own)")
      ->required();
  auto* key_name_opt = login_cmd->add_option("--key-name", login.key_name,
                                             "A rule with the Manage right (e.g. RootManageSharedAccessKey)");
  login_cmd
      ->add_option("--app", login.app,
                   "An app's key instead (hcctl app key APP): only that app's hybrid connections")
      ->excludes(key_name_opt);
  login_cmd->add_option("--key-file", login.key_file,
                        "A file only you can read holding the key (default: stdin)");
  auto* logout_cmd = app.add_subcommand("logout", "Forget the relay hcm login signed in to");
  auto* ui_url_cmd = app.add_subcommand(
      "ui-url", "Print the web UI's URL with its access token (run as the user the service runs as)");
  int url_port = 0;
  ui_url_cmd->add_option("--port", url_port, "The UI's port (default: the running service's --ui-port)")
      ->check(CLI::Range(0, 65535));
  auto* remove = app.add_subcommand("remove", "Remove a hybrid connection");
  auto* restart = app.add_subcommand("restart", "Reconnect a hybrid connection");
  auto* show = app.add_subcommand("show", "Show one hybrid connection");
  for (auto* sub : {remove, restart, show}) {  // Microsoft's forms too: hcm show -ns NS -n NAME
    sub->add_option("namespace,--namespace", ns, "Namespace (see hcm list); also -ns NAMESPACE")->required();
    sub->add_option("name,--name", name, "Hybrid connection name; also -n NAME")->required();
  }
  auto* list = app.add_subcommand("list", "List the configured hybrid connections and their status");
  auto* test = app.add_subcommand(
      "test", "Check TCP reachability of HOST:PORT from this host, and the route to each configured relay");
  test->add_option("endpoint", target, "HOST:PORT")->required();
  test->add_option("--timeout", timeout_s, "Seconds per address")->capture_default_str();
  auto* logs = app.add_subcommand("logs", "Print the service log");
  logs->add_option("-n,--lines", lines, "How many of the last lines")->capture_default_str();
  auto* version = app.add_subcommand("version", "Print the version");
  auto* help = app.add_subcommand("help", "Print this help (as hcm --help)");
  auto* run = app.add_subcommand("run", "Run the service in the foreground");
  run->add_option("--ui-port", ui_port,
                  "Local web UI and /metrics on 127.0.0.1:PORT (0: off); the UI needs the token `hcm ui-url` "
                  "prints")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  run->add_option("--threads", threads, "I/O threads (0: one)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  std::size_t http2_connections = net::limits::h2_pool_connections;
  run->add_option("--http2-connections", http2_connections,
                  "HTTP/2 connections kept to each relay node; every tunnel leg is a stream of one of them "
                  "(0: one TLS "
                  "connection per leg, as with Azure Relay, which gets that anyway)")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  run->add_option("--log-format", log_format, "text or json")->capture_default_str();
  run->add_option("--log-level", log_level, "debug, info, warn or error")->capture_default_str();
  run->add_option(
         "--tunnel-keepalive", tunnel_keepalive_s,
         "Seconds between Pings on each tunnel leg; a leg silent for a whole interval after one is lost "
         "(Azure cuts connections idle for about 4 minutes)")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();

  auto args = with_long_option_names(argc, argv);
  std::vector<char*> pointers;
  for (auto& a : args) pointers.push_back(a.data());
  return util::run_cli("hcm", app, int(pointers.size()), pointers.data(), [&]() -> int {
    o.config_dir = resolve_config_dir(o.config_dir);
    o.state_dir = resolve_state_dir(o.state_dir, o.config_dir);
    if (help->parsed()) {
      std::cout << app.get_formatter()->make_help(&app, "hcm", CLI::AppFormatMode::Normal);  // not help's own
      return util::exit_code::ok;
    }
    login_context signin{o.config_dir, o.ca_file, o.plaintext};
    std::erase(picks, "");  // a bare --pick
    if (add->parsed() && pick->count() > 0) return cmd_pick(signin, picks, policy);
    if (add->parsed() && text.empty())
      throw util::usage_error("hcm add needs a connection string, or --pick to choose after hcm login");
    if (add->parsed()) return cmd_add(o, text, policy);
    if (login_cmd->parsed()) return cmd_login(signin, login);
    if (logout_cmd->parsed()) return cmd_logout(signin);
    if (ui_url_cmd->parsed()) return cmd_ui_url(o, url_port);
    if (remove->parsed()) return cmd_remove(o, ns, name);
    if (restart->parsed()) return cmd_restart(o, ns, name);
    if (list->parsed()) return cmd_list(o);
    if (show->parsed()) return cmd_show(o, ns, name);
    if (test->parsed()) return cmd_test(o, target, timeout_s);
    if (logs->parsed()) return cmd_logs(o, lines);
    if (version->parsed()) {
      std::cout << util::version_line("hcm") << "\n";
      return 0;
    }
    if (run->parsed()) {
      util::init_logging(log_format, log_level);
      util::raise_file_limit();
      return run_service({o.config_dir, o.state_dir, std::uint16_t(ui_port), o.ca_file, o.plaintext, threads,
                          std::chrono::seconds(tunnel_keepalive_s), http2_connections});
    }
    return util::exit_code::usage;
  });
}

}  // namespace hc::manager
