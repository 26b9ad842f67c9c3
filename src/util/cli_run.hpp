// util/cli_run: how every program reads and ends its command line: the one place that maps what
// went wrong to the exit codes of util/exit_codes, and the environment variables that stand for
// flags. Header-only: the programs include CLI11; util does not link it.
#pragma once
#include "util/exit_codes.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

namespace hc::util {

// Parses `args` (args[0] is the program) and runs `run` (a command's callbacks run during the
// parse), printing "{program}: {what}" for what either throws. --help and --version exit 0;
// CLI11's own usage errors (its codes 105-109) exit 2 with its message; a command_failure exits
// with its code, anything else with 1. The --help footer lists the codes.
inline int run_cli(const std::string& program, CLI::App& app, std::vector<std::string> args,
                   const std::function<int()>& run) {
  app.footer(exit_codes_epilogue);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  try {
    app.parse(int(argv.size()), argv.data());
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

inline int run_cli(const std::string& program, CLI::App& app, int argc, char** argv,
                   const std::function<int()>& run) {
  return run_cli(program, app, std::vector<std::string>(argv, argv + argc), run);
}

// The variable that stands for a long flag: {prefix}{FLAG} in capitals, '-' as '_'
// (--data-dir: HCRELAY_DATA_DIR).
inline std::string environment_name(const std::string& prefix, std::string flag) {
  std::transform(flag.begin(), flag.end(), flag.begin(),
                 [](unsigned char c) { return c == '-' ? '_' : std::toupper(c); });
  return prefix + flag;
}

// args with "--flag=VALUE" inserted after the program for each long flag of `app` whose variable
// (environment_name) is set. Each option of `app` must take the last value it is given
// (MultiOptionPolicy::TakeLast): a flag on the command line then wins over its variable, and a
// variable over a config file (read only for options given neither way). Other variables with the
// prefix are left alone (HCRELAY_CA_FILE is the clients').
inline std::vector<std::string> with_environment(const CLI::App& app, const std::string& prefix,
                                                 std::vector<std::string> args) {
  std::vector<std::string> from_environment;
  for (const auto* option : app.get_options()) {
    for (const auto& flag : option->get_lnames()) {
      if (flag == "help" || flag == "version") continue;  // --config too: HCRELAY_CONFIG names the file
      const char* value = std::getenv(environment_name(prefix, flag).c_str());
      if (value) from_environment.push_back("--" + flag + "=" + value);
    }
  }
  args.insert(args.begin() + std::min<std::size_t>(1, args.size()), from_environment.begin(),
              from_environment.end());
  return args;
}

}  // namespace hc::util
