// manager/config: hcm's persistent configuration, CONFIG_DIR/connections.json (mode 0600: it
// holds listener keys): one entry per hybrid connection, keyed by (namespace, name). The CLI
// verbs and the web UI edit this file; the running service only reads it (it polls the file's
// mtime and size, see service.cpp). What changes as it runs lives in the state directory
// (STATE_DIR: status.json, the per-instance id from which listener ids derive, ui-token, hcm.log):
// /var/lib/hcm beside /etc/hcm, the configuration directory itself when one is given.
// Plain values and synchronous file I/O; writers serialise through update_connections.
#pragma once
#include "proto/connection_string.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hc::manager {

struct connection_entry {
  std::string ns;                 // first DNS label of the Endpoint host ("Namespace")
  std::string name;               // EntityPath ("Name")
  std::string connection_string;  // the listener connection string as given (holds the key)
  // The pinned endpoint: what the relay named at `hcm add` ("" = not pinned yet: the service pins
  // the first one it learns). hcm dials this one even when the relay's metadata later names
  // another, unless follow_endpoint.
  std::string endpoint_host;
  std::uint16_t endpoint_port = 0;
  bool follow_endpoint = false;          // hcm add --follow-endpoint: dial whatever the relay names now
  bool allow_link_local = false;         // hcm add --allow-link-local: may dial 169.254/16 and fe80::/10
  std::string created_on;                // ISO 8601 UTC
  std::string last_updated;              // ISO 8601 UTC
  std::uint64_t restart_generation = 0;  // bumped by `hcm restart`: the service restarts the runner

  std::string key() const { return ns + "/" + name; }
  std::string endpoint() const;  // "host:port" or ""
};

// --config-dir, else $HCM_CONFIG_DIR, else /etc/hcm.
std::string resolve_config_dir(const std::string& flag_value);

// --state-dir, else $HCM_STATE_DIR, else /var/lib/hcm for /etc/hcm, else config_dir.
std::string resolve_state_dir(const std::string& flag_value, const std::string& config_dir);
// True for the packaged service's state directory (/var/lib/hcm), whose log is in the journal.
bool is_packaged_state_dir(const std::string& dir);

std::string connections_path(const std::string& config_dir);
std::string status_path(const std::string& state_dir);
std::string log_path(const std::string& state_dir);

// Reads connections.json; an absent file is an empty list. Throws std::runtime_error naming the
// file when it is not the expected JSON.
std::vector<connection_entry> load_connections(const std::string& config_dir);
// Reads connections.json, lets `change` edit the entries and, when it returns true, writes them
// back atomically with mode 0600 (creating the directory, mode 0700), all under an exclusive
// flock of the configuration directory: `hcm add` and the UI's Select adding at the same moment
// (two processes) both land. Returns what `change` returned.
bool update_connections(const std::string& config_dir,
                        const std::function<bool(std::vector<connection_entry>&)>& change);
// Removes the connection ns/name; false when none is configured.
bool remove_connection(const std::string& config_dir, const std::string& ns, const std::string& name);
// Asks the running service to restart the connection ns/name (its restart generation goes up);
// false when none is configured.
bool restart_connection(const std::string& config_dir, const std::string& ns, const std::string& name);

// Namespace and name as hcm shows them for a parsed connection string.
std::string namespace_of(const proto::connection_string& cs);

// A stable GUID for this hcm installation (STATE_DIR/instance-id, made on first use, or carried
// over from CONFIG_DIR/instance-id where older releases kept it), and the listener id (sb-hc-id)
// for one connection, derived from it: stable across restarts, distinct per instance, so the
// relay can tell redundant hcm instances apart.
std::string instance_id(const std::string& state_dir, const std::string& config_dir);
std::string listener_id(const std::string& instance, const connection_entry& entry);

// Now as ISO 8601 UTC with seconds ("2026-01-02T03:04:05Z").
std::string now_iso8601();

}  // namespace hc::manager
