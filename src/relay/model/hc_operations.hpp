// relay/model/hc_operations: the operations that change the model (store first, then the in-memory
// catalog) and the views the API, hcctl and the status lines share. Used by the management
// API and by start-up (bootstrap). Store writes run on the store worker.
#pragma once
#include "boost/json/value.hpp"
#include "proto/endpoint.hpp"
#include "proto/error.hpp"
#include "relay/context.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace hc::relay {

// 32 random bytes, base64 (the shape of Azure's keys).
std::string new_sas_key();
std::string utc_now_iso();
std::string iso_utc(std::chrono::system_clock::time_point when);

// Loads the catalog from the store; on a first start creates the namespace named after the public
// host with RootManageSharedAccessKey (Manage, Listen, Send). Synchronous; runs before the server
// accepts connections. Returns the store revision the catalog reflects.
std::int64_t bootstrap(relay_context& ctx, const std::string& public_host);

// 400 for a name that cannot be an entity path (allowed: letters, digits, . _ - and / between
// segments, 1..260 characters).
proto::result<std::string> validate_entity_name(std::string_view name);

struct hc_settings {
  bool requires_client_authorization = true;
  std::string user_metadata;
};
enum class change { created, updated, deleted };
// Creates (with rules defaultListener: Listen and defaultSender: Send) or updates.
net::task<proto::result<change>> put_hybrid_connection(relay_context& ctx, const namespace_entry& ns,
                                                       const std::string& name, hc_settings settings);
// Deletes the entity and its rules; its listeners are closed with 1001. 404 when unknown.
net::task<proto::result<change>> delete_hybrid_connection(relay_context& ctx, const namespace_entry& ns,
                                                          const std::string& name);

// "Endpoint=sb://host[:port]/;SharedAccessKeyName=..;SharedAccessKey=..[;EntityPath=..]"
std::string connection_string_for(const relay_context& ctx, const namespace_entry& ns,
                                  const store::rule_record& rule, bool secondary);

// JSON views.
boost::json::object hybrid_connection_view(const hybrid_connection& h);
// "Connected" (at least one listener) or "Not connected", plus what the relay knows.
std::string status_text(const hybrid_connection& h);

}  // namespace hc::relay
