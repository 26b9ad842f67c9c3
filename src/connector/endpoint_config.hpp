// connector/endpoint_config: hcconnect's configuration, CONFIG_DIR/endpoints.json (0600): one
// entry per hybrid connection (name = EntityPath, its Send connection string, the endpoint
// host:port apps dial, and the loopback address the daemon listens on for it). Owns the choice
// of loopback addresses (stable hash of the endpoint host, never 127.0.0.1, collision-free).
// Does not talk to the relay (commands.cpp reads the endpoint metadata) and does no I/O beyond
// the file itself. Plain values; not shared between threads.
#pragma once
#include "proto/connection_string.hpp"
#include "proto/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hc::connector {

struct endpoint_entry {
  std::string name;               // the hybrid connection (EntityPath of connection_string)
  std::string connection_string;  // Send-right, with EntityPath; a secret (never logged)
  std::string endpoint_host;      // the DNS name apps resolve (or an IP literal, with a warning)
  std::uint16_t endpoint_port = 0;
  std::string loopback_address;  // 127.x.y.z the daemon listens on; never 127.0.0.1

  bool operator==(const endpoint_entry&) const = default;
};

struct endpoint_config {
  std::vector<endpoint_entry> entries;

  const endpoint_entry* find(std::string_view name) const;
  // Adds or replaces the entry called e.name; picks e.loopback_address when it is empty (kept
  // when an entry for the same host already has one).
  void upsert(endpoint_entry e);
  // False when there is no such entry.
  bool remove(std::string_view name);
};

// The loopback address for `host` given what the config already uses: entries for the same host
// (case-insensitive) share theirs; otherwise a hash of the host picks 127.a.b.c with b, c in
// 1..254, probing onward past addresses other hosts hold.
std::string pick_loopback_address(std::string_view host, const endpoint_config& config);

// JSON text <-> config. Parsing is strict about types and names the offending entry and field.
proto::result<endpoint_config> parse_endpoint_config(std::string_view json);
std::string serialize(const endpoint_config& config);

// CONFIG_DIR/endpoints.json. load: empty config when the file does not exist; throws
// std::runtime_error naming the file and the problem when it cannot be used.
std::string config_file_path(const std::string& config_dir);
endpoint_config load_config(const std::string& config_dir);
void save_config(const std::string& config_dir, const endpoint_config& config);

// Checks a connection string for use by hcconnect: parses it and requires EntityPath.
proto::result<proto::connection_string> parse_send_connection_string(std::string_view text);

}  // namespace hc::connector
