// util/exit_codes: the exit codes of every program (listed in each --help and in the README) and
// the failures that carry them from a command to main (util/cli_run maps them).
#pragma once
#include <stdexcept>
#include <string>

namespace hc::util {

namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int failed = 1;     // the operation failed: unreachable, refused, I/O
inline constexpr int usage = 2;      // the command line is wrong: unknown flag, missing or bad value
inline constexpr int not_found = 3;  // what the command names does not exist
}  // namespace exit_code

inline constexpr const char* exit_codes_epilogue =
    "Exit codes: 0 done, 1 failed, 2 usage error (unknown flag, missing or bad value), 3 not found.";

// A command's failure, in a sentence for the user, and the exit code it means.
struct command_failure : std::runtime_error {
  explicit command_failure(const std::string& what, int code = exit_code::failed)
      : std::runtime_error(what), code(code) {}
  int code;
};
// A wrong command line that CLI11 cannot see (options that exclude each other, a value that does
// not parse).
struct usage_error : command_failure {
  explicit usage_error(const std::string& what) : command_failure(what, exit_code::usage) {}
};
// What the command names does not exist.
struct not_found_error : command_failure {
  explicit not_found_error(const std::string& what) : command_failure(what, exit_code::not_found) {}
};

}  // namespace hc::util
