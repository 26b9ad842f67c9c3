// manager/cli: hcm's command line: the verbs add, remove, restart, list, show, test, logs,
// version and run. Every verb but run works on the files in the config directory (and, for list
// and show, the running service's status.json), so it works whether the service runs or not.
// Output to stdout, problems to stderr, exit code non-zero on refusal or failure.
#pragma once

namespace hc::manager {

int cli_main(int argc, char** argv);

}  // namespace hc::manager
