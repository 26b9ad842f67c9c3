// apps/hcconnect_main: the hcconnect command line; the verbs live in connector/.
#include "connector/commands.hpp"
#include "util/build_info.hpp"
#include "util/cli_run.hpp"
#include "util/core_dumps.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

int main(int argc, char** argv) {
  hc::util::disable_core_dumps();  // hcconnect holds Send keys and app keys
  hc::connector::cli_options options;
  CLI::App app{"hcconnect: reach hybrid connection endpoints by their DNS names from this host"};
  app.set_version_flag("--version", hc::util::version_line("hcconnect"), "Print the version and git commit");
  app.require_subcommand(1);
  hc::connector::add_commands(app, options);
  return hc::util::run_cli("hcconnect", app, argc, argv, [&] { return options.exit_code; });
}
