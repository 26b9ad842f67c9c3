// connector/commands: hcconnect's command line: the global options (with App Service mode's
// --relay, --app, --app-key-file) and the verbs add, list, remove, run-service, app-accept, run and hosts.
// Each verb validates its input and prints a message that names the problem; the work lives in
// endpoint_config, connector_service, run_command and hosts_file. Runs on the main thread; `add` runs one
// short io_context for the relay query.
#pragma once
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace hc::connector {

struct cli_options {
  std::string config_dir = "/etc/hcconnect";
  std::string state_dir;  // --state-dir; state_dir_of() resolves the default
  std::string ca_file;
  bool insecure_plaintext = false;  // ws:// to a relay run with --insecure-plaintext
  std::string log_format = "text";
  std::string log_level;  // empty: info (warn under `run`, whose output belongs to the command)
  int exit_code = 0;      // set by the verb that ran
  // App Service mode (run-service, run): follow the app's hybrid connections on the relay.
  std::string relay_url;
  std::string app;
  std::string app_key;       // a secret given on the command line: refused by run-service (ps shows it)
  std::string app_key_file;  // owner-only file holding the key; $HCCONNECT_APP_KEY otherwise
};

void add_commands(CLI::App& app, cli_options& options);

}  // namespace hc::connector
