// connector/app_pins: in App Service mode, which names the relay may make hcconnect intercept.
// The operator's accepted set, hybrid connection (NAMESPACE/NAME) -> endpoint host:port, lives in
// STATE_DIR/app-endpoints.json (0600, no key in it), written on first use (trust on first use),
// by `hcconnect app-accept`, and by run-service --follow-endpoints. decide_app_endpoints holds
// the relay's answer to it: a disconnect applies at once, a new hybrid connection or a changed
// endpoint waits (a changed one keeps its pinned endpoint). Pure functions plus the file; the
// callers (connector_service, run_command, commands) own logging and timing. Plain values.
#pragma once
#include "connector/app_source.hpp"
#include "connector/endpoint_config.hpp"

#include <optional>
#include <string>
#include <vector>

namespace hc::connector {

struct pinned_endpoint {
  std::string name;      // NAMESPACE/NAME, as endpoint_entry::name in App Service mode
  std::string endpoint;  // host:port the operator accepted
  bool operator==(const pinned_endpoint&) const = default;
};

struct app_pins {
  std::string relay_url;  // the pins hold for this relay and app only
  std::string app;
  std::vector<pinned_endpoint> entries;
  const pinned_endpoint* find(std::string_view name) const;
};

// What the relay names now against what is pinned: `pinned` is empty for a hybrid connection
// that was not pinned (new).
struct endpoint_change {
  std::string name;
  std::string named;   // host:port the relay names
  std::string pinned;  // host:port accepted before; "" when new
  bool operator==(const endpoint_change&) const = default;
};

std::string app_pins_path(const std::string& state_dir);  // STATE_DIR/app-endpoints.json
// nullopt when there is no file; throws std::runtime_error naming the file when it is unusable.
std::optional<app_pins> load_app_pins(const std::string& state_dir);
void save_app_pins(const std::string& state_dir, const app_pins& pins);
proto::result<app_pins> parse_app_pins(std::string_view json);
std::string serialize(const app_pins& pins);

// The relay's list as pins for `source`.
app_pins pins_from(const endpoint_config& relay, const app_source& source);
// The new and changed entries of `relay` against `pins` (removals are not changes: they apply).
std::vector<endpoint_change> changes_between(const app_pins& pins, const endpoint_config& relay);

// The log and status sentence for a change that waits for the operator.
std::string waiting_sentence(const app_source& source, const endpoint_change& change);
// The log sentence for a change followed with --follow-endpoints.
std::string followed_sentence(const app_source& source, const endpoint_change& change);

struct app_decision {
  endpoint_config config;                 // what to listen for
  std::vector<endpoint_change> waiting;   // named by the relay, not used until accepted
  std::vector<endpoint_change> followed;  // applied and pinned now (--follow-endpoints)
  bool first_use = false;                 // there were no pins for this app: the relay's list was pinned
};

// Holds the relay's list to STATE_DIR's pins (writing them on first use, and on every change when
// source.follow_endpoints). Loopback addresses are kept from `previous` for unchanged endpoints.
// Throws std::runtime_error when the pinned file cannot be read or written.
app_decision decide_app_endpoints(const endpoint_config& relay, const app_source& source,
                                  const std::string& state_dir, const endpoint_config& previous);

}  // namespace hc::connector
