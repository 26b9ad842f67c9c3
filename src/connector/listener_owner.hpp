// connector/listener_owner: who holds a local TCP address. hcconnect's loopback addresses are
// predictable, so another user of the host can bind one first and receive the app's
// connections; before using or announcing an address, `run`, `hosts` and `run-service` ask here
// and refuse with a sentence naming the process (uid from /proc/net/tcp{,6}, pid and name when
// /proc lets this user see them). Whether the holder is our daemon is status_socket's question.
// Blocking reads of /proc; any thread; no state.
#pragma once
#include "connector/endpoint_config.hpp"

#include <sys/types.h>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

namespace hc::connector {

// True when some socket is bound to address:port (tried by binding: no connection is made).
bool address_in_use(const std::string& address, std::uint16_t port);

struct listener_owner {
  uid_t uid = 0;
  std::optional<pid_t> pid;  // when /proc/PID/fd of the holder is visible to us
  std::string command;       // /proc/PID/comm, when pid is known
};
// The process listening on address:port (or on the wildcard address of that port), if any.
std::optional<listener_owner> find_listener_owner(const std::string& address, std::uint16_t port);

// "127.0.0.5:5432 is taken by another process (uid 1001, pid 4242 nc), not by hcconnect: ..."
// ending with what to do; names the endpoint and config_dir's endpoints.json (unless empty: App
// Service mode, where the addresses are not in a file).
std::string taken_by_another_process(const endpoint_entry& e, const std::string& config_dir);

// "ADDRESS:PORT" of an entry, the form status_socket answers with.
std::string listen_address(const endpoint_entry& e);

// Throws std::runtime_error (taken_by_another_process) for the first entry whose address is bound
// but not in `served` (the addresses our daemon reports it listens on).
void refuse_foreign_listeners(const endpoint_config& config, const std::set<std::string>& served,
                              const std::string& config_dir);
// Asks the daemon of state_dir (status_socket) which addresses it holds, then refuses as above
// (hint_dir: refuse_foreign_listeners' config_dir). True when a daemon answered.
bool daemon_holds_what_is_taken(const endpoint_config& config, const std::string& state_dir,
                                const std::string& hint_dir);

}  // namespace hc::connector
