// apps/hcconnect_main: the hcconnect command line; the verbs live in connector/.
#include "connector/commands.hpp"
#include "util/core_dumps.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

int main(int argc, char** argv) {
  hc::util::disable_core_dumps();  // hcconnect holds Send keys and app keys
  hc::connector::cli_options options;
  CLI::App app{"hcconnect: reach hybrid connection endpoints by their DNS names from this host"};
  app.require_subcommand(1);
  hc::connector::add_commands(app, options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "hcconnect: " << e.what() << "\n";
    return 1;
  }
  return options.exit_code;
}
