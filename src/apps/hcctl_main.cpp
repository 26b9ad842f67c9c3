// apps/hcctl_main: the hcctl command line; the verbs live in ctl/.
#include "ctl/app_commands.hpp"
#include "ctl/diagnose.hpp"
#include "ctl/hc_commands.hpp"
#include "ctl/namespace_commands.hpp"
#include "ctl/options.hpp"
#include "ctl/plan_commands.hpp"
#include "ctl/table.hpp"
#include "ctl/tcpping.hpp"
#include "ctl/usage_command.hpp"
#include "net/egress_options.hpp"
#include "util/build_info.hpp"
#include "util/cli_run.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

int main(int argc, char** argv) {
  hc::ctl::options opts;
  CLI::App app{"hcctl: manage and troubleshoot an hcrelay"};
  app.set_version_flag("--version", hc::util::version_line("hcctl"), "Print the version and git commit");
  app.require_subcommand(1);
  app.add_option("--connection-string", opts.connection_string,
                 "Manage-right connection string (default: $HCRELAY_CONNECTION_STRING)");
  app.add_option(
      "--admin-address", opts.admin_address,
      "HOST:PORT of a relay's --admin-listen, for management calls (default: $HCRELAY_ADMIN_ADDRESS, "
      "else the connection string's endpoint); the certificate must name HOST");
  app.add_option("--ca-file", opts.ca_file, "Extra CA certificate to trust (default: $HCRELAY_CA_FILE)");
  app.add_flag("--insecure-plaintext", opts.insecure_plaintext,
               "Talk http:// to a relay run with --insecure-plaintext");
  app.add_option("-o,--output", opts.output, "table, json or csv (tables as CSV)")
      ->check(CLI::IsMember({"table", "json", "csv"}))
      ->each([](const std::string& format) { hc::ctl::print_tables_as_csv(format == "csv"); })
      ->capture_default_str();
  hc::net::add_egress_options(app);
  hc::ctl::add_hc_commands(app, opts);
  hc::ctl::add_namespace_commands(app, opts);
  hc::ctl::add_key_commands(app, opts);
  hc::ctl::add_plan_commands(app, opts);
  hc::ctl::add_app_commands(app, opts);
  hc::ctl::add_usage_command(app, opts);
  hc::ctl::add_tcpping_command(app, opts);
  hc::ctl::add_diagnose_command(app, opts);
  return hc::util::run_cli("hcctl", app, argc, argv, [] { return hc::util::exit_code::ok; });
}
