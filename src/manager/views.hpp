// manager/views: one configured connection as the user sees it: the entry from connections.json
// merged with the live state from the service (status.json, or the service's own memory), in
// Microsoft HCM's field names (`list -o json`, /api/connections) or as text (tables, `show`).
// Pure functions; never includes the key (only its rule name).
#pragma once
#include "manager/config.hpp"
#include "manager/status.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hc::manager {

struct connection_view {
  connection_entry entry;
  connection_status live;        // status as merged (Disconnected + reason when the service is not running)
  std::string relay;             // ServiceBusEndpoint: the connection string's host[:port]
  std::string key_name;          // SharedAccessKeyName (never the key)
  std::string endpoint_warning;  // IP / localhost endpoint warning, "" when none
};

// `live` holds the service's statuses, or nullopt when the service is not running.
std::vector<connection_view> merge_views(const std::vector<connection_entry>& entries,
                                         const std::optional<std::vector<connection_status>>& live);

boost::json::object to_json(const connection_view& v);
std::string status_text(const connection_view& v);  // "Connected" or "Unauthorized (reason)"
std::string format_table(const std::vector<connection_view>& views);
std::string format_details(const connection_view& v);
// The figures a details view shows after status and endpoint, as (label, value) pairs: shared by
// `hcm show` and the web UI's details page.
std::vector<std::pair<std::string, std::string>> detail_fields(const connection_view& v);

}  // namespace hc::manager
