// util/cli_run: how every program ends its command line: the one place that maps what went wrong
// to the exit codes of util/exit_codes. Header-only: the programs include CLI11; util does not
// link it.
#pragma once
#include "util/exit_codes.hpp"

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <string>

namespace hc::util {

// Parses the command line and runs `run` (a command's callbacks run during the parse), printing
// "{program}: {what}" for what either throws. --help and --version exit 0; CLI11's own usage
// errors (its codes 105-109) exit 2 with its message; a command_failure exits with its code,
// anything else with 1. The --help footer lists the codes.
inline int run_cli(const std::string& program, CLI::App& app, int argc, char** argv,
                   const std::function<int()>& run) {
  app.footer(exit_codes_epilogue);
  try {
    app.parse(argc, argv);
    return run();
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? exit_code::ok : exit_code::usage;
  } catch (const command_failure& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return e.code;
  } catch (const std::exception& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return exit_code::failed;
  }
}

}  // namespace hc::util
