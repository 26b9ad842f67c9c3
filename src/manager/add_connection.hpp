// manager/add_connection: `hcm add` and the web UI's "Enter manually": checks a listener
// connection string (parse, EntityPath, key), asks the relay whether the key works and may
// listen (runtime-info GET, then a listen handshake closed at once), learns the endpoint (which
// the entry pins), and stores the entry in connections.json. Refusals name the problem; a relay that cannot
// be reached now is not a refusal (the entry is stored with a warning and the service keeps trying). Messages
// never contain the key.
#pragma once
#include "manager/config.hpp"
#include "net/tls.hpp"

#include <string>
#include <vector>

namespace hc::manager {

struct add_result {
  bool ok = false;
  std::string error;                  // why it was refused (when !ok)
  std::vector<std::string> warnings;  // shown but not fatal
  connection_entry entry;             // what was stored (when ok)
  bool replaced = false;              // an entry with the same namespace and name was updated
};

// The offline checks only; the entry is filled in without endpoint and dates.
add_result check_connection_string(const std::string& text);

// How the stored entry treats its endpoint (see connection_entry): `hcm add` flags.
struct endpoint_policy {
  bool follow_endpoint = false;   // --follow-endpoint
  bool allow_link_local = false;  // --allow-link-local
};

// Everything, stored in CONFIG_DIR/connections.json when accepted; the endpoint the relay names
// now is pinned in the entry. Runs on the caller's executor.
net::task<add_result> add_connection(std::string config_dir, std::string text, net::tls_context tls,
                                     bool plaintext, endpoint_policy policy = {});

// "added NS/NAME (endpoint HOST:PORT, pinned)": what `hcm add` prints for an accepted one.
std::string added_line(const add_result& r, const endpoint_policy& policy);

}  // namespace hc::manager
