// connector/commands: hcconnect's verbs (see commands.hpp).
#include "connector/commands.hpp"

#include "connector/app_pins.hpp"
#include "connector/connector_service.hpp"
#include "connector/endpoint_config.hpp"
#include "connector/hosts_file.hpp"
#include "connector/listener_owner.hpp"
#include "connector/run_command.hpp"
#include "net/egress_options.hpp"
#include "net/limits.hpp"
#include "net/relay_client.hpp"
#include "net/spawn.hpp"
#include "net/tls.hpp"
#include "proto/encoding.hpp"
#include "proto/endpoint.hpp"
#include "util/exit_codes.hpp"
#include "util/log.hpp"
#include "util/private_file.hpp"
#include "util/state_dir.hpp"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

namespace hc::connector {
namespace asio = net::asio;

namespace {

using util::usage_error;

void init_logs(const cli_options& o, const char* default_level) {
  util::init_logging(o.log_format, o.log_level.empty() ? default_level : o.log_level);
  util::raise_file_limit();
}

// Whether the verb runs for long: its command line stays visible in ps all that time.
enum class verb_lifetime { short_lived, long_running };

// The app key: --app-key-file (owner-only), $HCCONNECT_APP_KEY, or --app-key on the command line of a
// short-lived verb. Empty when none is given.
std::string app_key_from(const cli_options& o, verb_lifetime lifetime) {
  if (!o.app_key.empty() && lifetime == verb_lifetime::long_running)
    throw usage_error(
        "--app-key: a key on the command line of run-service shows in ps to every user of this host for "
        "as long as it runs; put the key in a file only you can read (--app-key-file PATH, chmod 600) or "
        "in the environment (HCCONNECT_APP_KEY)");
  if (!o.app_key.empty() && !o.app_key_file.empty())
    throw usage_error("--app-key and --app-key-file: give the key one way only");
  if (!o.app_key_file.empty()) return util::read_owner_only_secret_file(o.app_key_file, "--app-key-file");
  if (!o.app_key.empty()) return o.app_key;
  const char* env = std::getenv("HCCONNECT_APP_KEY");
  return env ? env : "";
}

// --state-dir, else $HCCONNECT_STATE_DIR, else /var/lib/hcconnect for /etc/hcconnect, else the
// configuration directory.
std::string state_dir_of(const cli_options& o) {
  return util::resolve_state_dir(o.state_dir, "HCCONNECT_STATE_DIR", o.config_dir, "/etc/hcconnect",
                                 "/var/lib/hcconnect");
}

service_options service_from(const cli_options& o, verb_lifetime lifetime) {
  service_options s;
  s.config_dir = o.config_dir;
  s.state_dir = state_dir_of(o);
  s.ca_file = net::ca_file_from(o.ca_file);
  s.insecure_plaintext = o.insecure_plaintext;
  auto key = app_key_from(o, lifetime);
  if (!o.relay_url.empty() || !o.app.empty() || !key.empty()) {
    s.app = app_source{o.relay_url, o.app, key};
    if (o.relay_url.empty())
      throw usage_error("--relay: required with --app (https://HOST[:PORT] of the relay)");
    if (auto valid = validate_app_source(*s.app); !valid) throw usage_error(valid.error().message);
    if (proto::istarts_with(o.relay_url, "http://") != o.insecure_plaintext)
      throw usage_error("--relay: an http:// URL goes with --insecure-plaintext, https:// otherwise");
  }
  return s;
}

// The endpoint named in the hybrid connection's userMetadata, read with the Send token.
proto::endpoint endpoint_from_relay(const proto::connection_string& cs, const cli_options& o) {
  net::relay_client client(cs, net::make_client_tls(net::ca_file_from(o.ca_file)), o.insecure_plaintext);
  auto answer = net::run_sync(client.runtime_info());
  if (!answer.info)
    throw util::command_failure("cannot read the endpoint of hybrid connection '" + cs.entity_path +
                                "' from the relay " + cs.authority() + ": " + answer.error +
                                "; pass --endpoint HOST:PORT to add it anyway");
  auto ep = proto::endpoint_from_user_metadata(answer.info->user_metadata);
  if (!ep)
    throw util::command_failure("hybrid connection '" + cs.entity_path + "' names no usable endpoint: " +
                                ep.error().message + "; set one with `hcctl hc update " + cs.entity_path +
                                " --endpoint HOST:PORT`, or pass --endpoint HOST:PORT");
  return *ep;
}

void add_verb(CLI::App& app, cli_options& o) {
  auto* cmd =
      app.add_subcommand("add", "Add a hybrid connection: its endpoint's DNS name then reaches the service");
  auto connection_string = std::make_shared<std::string>();
  auto endpoint_text = std::make_shared<std::string>();
  cmd->add_option("connection-string", *connection_string,
                  "The hybrid connection's Send connection string (with EntityPath)")
      ->required();
  cmd->add_option("--endpoint", *endpoint_text,
                  "HOST:PORT apps connect to (default: the hybrid connection's metadata)");
  cmd->callback([&o, connection_string, endpoint_text] {
    init_logs(o, "info");
    auto cs = parse_send_connection_string(*connection_string);
    if (!cs) throw usage_error(cs.error().message);
    proto::endpoint ep;
    if (!endpoint_text->empty()) {
      auto parsed = proto::parse_endpoint(*endpoint_text);
      if (!parsed) throw usage_error("--endpoint: " + parsed.error().message);
      ep = *parsed;
    } else {
      ep = endpoint_from_relay(*cs, o);
    }
    if (auto warning = proto::endpoint_host_warning(ep.host); !warning.empty())
      std::cerr << "hcconnect: warning: " << warning << "\n";
    auto config = load_config(o.config_dir);
    endpoint_entry e{cs->entity_path, *connection_string, ep.host, ep.port, {}};
    if (const auto* old = config.find(e.name); old && old->endpoint_host == e.endpoint_host)
      e.loopback_address = old->loopback_address;
    bool replaced = config.find(e.name) != nullptr;
    config.upsert(e);
    save_config(o.config_dir, config);
    const auto& added = *config.find(e.name);
    std::cout << (replaced ? "updated " : "added ") << added.name << ": " << ep.to_string() << " -> "
              << added.loopback_address << ":" << added.endpoint_port << " through relay " << cs->authority()
              << "\n";
  });
}

void list_verb(CLI::App& app, cli_options& o) {
  auto* cmd = app.add_subcommand("list", "List the configured hybrid connections");
  auto output = std::make_shared<std::string>("table");
  cmd->add_option("-o,--output", *output, "table or json")->check(CLI::IsMember({"table", "json"}));
  cmd->callback([&o, output] {
    auto config = load_config(o.config_dir);
    if (*output == "json") {
      boost::json::array out;
      for (const auto& e : config.entries) {
        auto cs = proto::parse_connection_string(e.connection_string);
        out.push_back(boost::json::object{{"name", e.name},
                                          {"endpointHost", e.endpoint_host},
                                          {"endpointPort", e.endpoint_port},
                                          {"loopbackAddress", e.loopback_address},
                                          {"relay", cs ? cs->authority() : std::string()}});
      }
      std::cout << boost::json::serialize(out) << "\n";
      return;
    }
    if (config.entries.empty()) {
      std::cout << "no hybrid connections configured in " << o.config_dir
                << " (hcconnect add \"<connection string>\")\n";
      return;
    }
    std::printf("%-24s %-36s %-22s %s\n", "NAME", "ENDPOINT", "LISTENS ON", "RELAY");
    for (const auto& e : config.entries) {
      auto cs = proto::parse_connection_string(e.connection_string);
      std::printf("%-24s %-36s %-22s %s\n", e.name.c_str(),
                  (e.endpoint_host + ":" + std::to_string(e.endpoint_port)).c_str(),
                  (e.loopback_address + ":" + std::to_string(e.endpoint_port)).c_str(),
                  cs ? cs->authority().c_str() : "?");
    }
  });
}

void remove_verb(CLI::App& app, cli_options& o) {
  auto* cmd =
      app.add_subcommand("remove", "Remove a hybrid connection (a running daemon closes its listener)");
  auto name = std::make_shared<std::string>();
  cmd->add_option("name", *name, "The hybrid connection's name (see hcconnect list)")->required();
  cmd->callback([&o, name] {
    auto config = load_config(o.config_dir);
    if (!config.remove(*name))
      throw util::not_found_error("no hybrid connection called '" + *name + "' in " +
                                  config_file_path(o.config_dir) + " (see hcconnect list)");
    save_config(o.config_dir, config);
    std::cout << "removed " << *name << "\n";
  });
}

void run_service_verb(CLI::App& app, cli_options& o) {
  auto* cmd = app.add_subcommand("run-service", "Run the daemon in the foreground until SIGINT or SIGTERM");
  auto metrics_port = std::make_shared<int>(0);
  auto follow = std::make_shared<bool>(false);
  auto threads = std::make_shared<int>(0);
  auto keepalive = std::make_shared<int>(
      int(std::chrono::duration_cast<std::chrono::seconds>(net::limits::tunnel_keepalive_interval).count()));
  cmd->add_option("--metrics-port", *metrics_port, "Serve /metrics on 127.0.0.1:PORT (0: off)")
      ->capture_default_str();
  cmd->add_option("--threads", *threads, "I/O threads (0: one)")->capture_default_str();
  auto http2_connections = std::make_shared<std::size_t>(net::limits::h2_pool_connections);
  cmd->add_option("--http2-connections", *http2_connections,
                  "HTTP/2 connections kept to each relay node; every tunnel leg is a stream of one of them "
                  "(0: one TLS "
                  "connection per leg, as with Azure Relay, which gets that anyway)")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  cmd->add_option(
         "--tunnel-keepalive", *keepalive,
         "Seconds between Pings on each tunnel leg; a leg silent for a whole interval after one is lost "
         "(Azure cuts connections idle for about 4 minutes)")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_flag("--follow-endpoints", *follow,
                "App Service mode: use new hybrid connections and changed endpoints as the relay names them "
                "(default: they wait for `hcconnect app-accept`)");
  cmd->callback([&o, metrics_port, threads, keepalive, follow, http2_connections] {
    init_logs(o, "info");
    auto options = service_from(o, verb_lifetime::long_running);
    if (*follow && !options.app) throw usage_error("--follow-endpoints: only with --relay and --app");
    if (options.app) options.app->follow_endpoints = *follow;
    options.metrics_port = *metrics_port;
    options.threads = *threads;
    options.http2_connections = *http2_connections;
    options.tunnel_keepalive = std::chrono::seconds(*keepalive);
    util::ensure_private_dir(options.state_dir);  // its socket and pid are the daemon user's alone
    connector_service service(options);
    service.start();
    auto pid_file = pid_file_path(options.state_dir);
    util::write_private_file(pid_file, std::to_string(::getpid()) + "\n");
    service.run_until_signal();
    std::error_code ignored;  // already gone is fine
    std::filesystem::remove(pid_file, ignored);
  });
}

void app_accept_verb(CLI::App& app, cli_options& o) {
  app.add_subcommand("app-accept",
                     "App Service mode: accept the hybrid connections and endpoints the relay names now "
                     "(a running run-service applies them at its next poll)")
      ->callback([&o] {
        init_logs(o, "warn");
        auto options = service_from(o, verb_lifetime::short_lived);
        if (!options.app) throw usage_error("app-accept: give --relay URL --app NAME and the app's key");
        auto answer = fetch_app_endpoints_now(*options.app, net::make_client_tls(options.ca_file));
        if (!answer.config) throw usage_error("app " + options.app->app + ": " + answer.error);
        auto old = load_app_pins(options.state_dir);
        auto pins = pins_from(*answer.config, *options.app);
        if (old && old->app == pins.app && old->relay_url == pins.relay_url) {
          for (const auto& c : changes_between(*old, *answer.config))
            std::cout << "accepted " << c.name << ": " << c.named
                      << (c.pinned.empty() ? " (new)" : " (was " + c.pinned + ")") << "\n";
          for (const auto& e : old->entries)
            if (!pins.find(e.name))
              std::cout << "dropped " << e.name << ": " << e.endpoint << " (gone from the app)\n";
        } else {
          for (const auto& e : pins.entries) std::cout << "accepted " << e.name << ": " << e.endpoint << "\n";
        }
        save_app_pins(options.state_dir, pins);
        std::cout << "pinned " << pins.entries.size() << " hybrid connection(s) of app " << pins.app << " in "
                  << app_pins_path(options.state_dir) << "\n";
      });
}

void run_verb(CLI::App& app, cli_options& o) {
  auto* cmd =
      app.add_subcommand("run", "Run COMMAND with the endpoints' DNS names redirected through the relay");
  auto command = std::make_shared<std::vector<std::string>>();
  cmd->add_option("command", *command, "-- COMMAND [ARGS...]")->required();
  cmd->callback([&o, command] {
    init_logs(o, "warn");
    o.exit_code = run_command(service_from(o, verb_lifetime::short_lived), *command);
  });
}

void hosts_verb(CLI::App& app, cli_options& o) {
  auto* cmd = app.add_subcommand(
      "hosts", "Write (or remove) the endpoints' names in a hosts file, for static binaries");
  auto apply = std::make_shared<bool>(false), remove = std::make_shared<bool>(false);
  auto path = std::make_shared<std::string>("/etc/hosts");
  auto* a =
      cmd->add_flag("--apply", *apply, "Write the '# BEGIN hcconnect' block (replacing an existing one)");
  auto* r = cmd->add_flag("--remove", *remove, "Delete the block");
  a->excludes(r);
  cmd->add_option("--hosts-file", *path, "The hosts file to edit")->capture_default_str();
  cmd->callback([&o, apply, remove, path] {
    if (*apply == *remove) throw usage_error("hosts: choose one of --apply or --remove");
    if (*apply) {
      auto config = load_config(o.config_dir);
      // The names will point at these addresses: none may be held by a process that is not ours.
      if (!daemon_holds_what_is_taken(config, state_dir_of(o), o.config_dir) && !config.entries.empty())
        std::cerr << "hcconnect: note: no hcconnect daemon answers for " << o.config_dir
                  << " yet: start `hcconnect run-service` so that the names lead somewhere\n";
      apply_hosts_file(*path, config);
      std::cout << "wrote " << config.entries.size() << " endpoint(s) to " << *path << "\n";
    } else {
      remove_hosts_block(*path);
      std::cout << "removed the hcconnect block from " << *path << "\n";
    }
  });
}

}  // namespace

void add_commands(CLI::App& app, cli_options& o) {
  app.add_option("--config-dir", o.config_dir, "Configuration directory")
      ->envname("HCCONNECT_CONFIG_DIR")
      ->capture_default_str();
  app.add_option("--state-dir", o.state_dir,
                 "The app's pinned endpoints, the daemon's pid file and status socket (default: "
                 "$HCCONNECT_STATE_DIR, else /var/lib/hcconnect with /etc/hcconnect, else the configuration "
                 "directory)");
  app.add_option("--ca-file", o.ca_file, "Extra CA certificate to trust (default: $HCRELAY_CA_FILE)");
  app.add_flag("--insecure-plaintext", o.insecure_plaintext,
               "Talk ws:// and http:// to a relay run with --insecure-plaintext (tests, trusted networks)");
  app.add_option("--log-format", o.log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--log-level", o.log_level, "debug, info, warn or error");
  app.add_option("--relay", o.relay_url, "App Service mode: the relay, https://HOST[:PORT]");
  app.add_option("--app", o.app, "App Service mode: follow this app's hybrid connections");
  app.add_option(
      "--app-key-file", o.app_key_file,
      "App Service mode: a file only its owner can read holding the app's key (hcctl app key APP); "
      "or set HCCONNECT_APP_KEY");
  app.add_option("--app-key", o.app_key,
                 "App Service mode: the app's key on the command line (not for run-service: ps shows it)");
  net::add_egress_options(app);
  app.fallthrough();
  add_verb(app, o);
  list_verb(app, o);
  remove_verb(app, o);
  run_service_verb(app, o);
  app_accept_verb(app, o);
  run_verb(app, o);
  hosts_verb(app, o);
}

}  // namespace hc::connector
