// connector/status_socket: how `run` and `hosts` tell our daemon from a process squatting on its
// loopback addresses. A running connector_service listens on STATE_DIR/hcconnect.sock (0600) and
// answers each connection with the addresses it has bound, one "ADDRESS:PORT" a line, then closes.
// The asking side trusts the answer only from a peer (SO_PEERCRED) running as its own uid, as root
// or as the owner of the state directory. The server lives on the service's control
// strand and is destroyed there (or after the threads are joined); the query is blocking.
#pragma once
#include "net/types.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace hc::connector {

std::string status_socket_path(const std::string& state_dir);

class status_server {
 public:
  // Serves `answer()` (called on `control`) at the path. When another live service answers there
  // already, or the path cannot be bound, logs why and serves nothing.
  status_server(net::asio::any_io_executor control, std::string path, std::function<std::string()> answer);
  ~status_server();  // stops accepting; removes the socket file if it is still ours
  status_server(const status_server&) = delete;
  status_server& operator=(const status_server&) = delete;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

// The addresses the daemon serving state_dir listens on; nullopt when no trusted daemon answers
// within a second or two.
std::optional<std::set<std::string>> ask_daemon(const std::string& state_dir);

}  // namespace hc::connector
