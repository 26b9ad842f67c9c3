// connector/run_command: `hcconnect run -- CMD [ARGS...]`: runs CMD as a child with the resolver
// shim (LD_PRELOAD of libhcintercept.so, prepended to any existing value) and HCCONNECT_HOSTS
// built from the configuration; uses the daemon that answers on CONFIG_DIR's status socket, or
// starts an in-process connector_service for CMD's lifetime; refuses to run when an endpoint's
// address is held by a process that is not hcconnect (listener_owner); forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT
// to CMD; returns CMD's exit status (128 + signal when it was killed). Runs on the caller's thread.
#pragma once
#include "connector/connector_service.hpp"
#include "connector/endpoint_config.hpp"

#include <string>
#include <vector>

namespace hc::connector {

// "name1=127.x.y.z;name2=..." for the shim (one item per distinct host).
std::string hosts_env(const endpoint_config& config);

// libhcintercept.so next to the running executable, in ../lib/hcconnect (packaged) or ../lib;
// HCCONNECT_INTERCEPT_LIB overrides. Empty when none exists.
std::string find_intercept_library();

std::string pid_file_path(const std::string& state_dir);  // STATE_DIR/hcconnect.pid

int run_command(service_options options, const std::vector<std::string>& command);

}  // namespace hc::connector
