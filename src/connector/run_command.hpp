// connector/run_command: `hcconnect run -- CMD [ARGS...]`: runs CMD as a child with the resolver
// shim (LD_PRELOAD of libhcintercept.so, prepended to any existing value) and HCCONNECT_HOSTS
// built from the configuration; starts an in-process connector_service for CMD's lifetime when
// no daemon serves the endpoints; forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT to CMD; returns CMD's
// exit status (128 + signal when it was killed). Runs on the caller's thread.
#pragma once
#include "connector/connector_service.hpp"
#include "connector/endpoint_config.hpp"

#include <string>
#include <vector>

namespace hc::connector {

// "name1=127.x.y.z;name2=..." for the shim (one item per distinct host).
std::string hosts_env(const endpoint_config& config);

// libhcintercept.so next to the running executable, or in ../lib; HCCONNECT_INTERCEPT_LIB
// overrides. Empty when none exists.
std::string find_intercept_library();

// Whether a daemon already serves `config`: CONFIG_DIR/hcconnect.pid names a live process, or
// the first endpoint's loopbackAddress:port is already bound.
bool daemon_running(const std::string& config_dir, const endpoint_config& config);

std::string pid_file_path(const std::string& config_dir);

int run_command(service_options options, const std::vector<std::string>& command);

}  // namespace hc::connector
