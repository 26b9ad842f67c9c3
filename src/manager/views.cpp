// manager/views: merging config with live status and formatting it (see views.hpp).
#include "manager/views.hpp"

#include "proto/connection_string.hpp"
#include "proto/endpoint.hpp"
#include "util/table.hpp"

#include <algorithm>
#include <sstream>

namespace hc::manager {

std::vector<connection_view> merge_views(const std::vector<connection_entry>& entries,
                                         const std::optional<std::vector<connection_status>>& live) {
  std::vector<connection_view> out;
  for (auto& e : entries) {
    connection_view v;
    v.entry = e;
    v.live.ns = e.ns;
    v.live.name = e.name;
    v.live.endpoint = e.endpoint();
    if (auto cs = proto::parse_connection_string(e.connection_string)) {
      v.relay = cs->authority();
      v.key_name = cs->key_name.empty() ? "(SharedAccessSignature)" : cs->key_name;
    }
    if (!live) {
      v.live.reason = "service not running";
    } else {
      auto it =
          std::find_if(live->begin(), live->end(), [&](auto& s) { return s.ns == e.ns && s.name == e.name; });
      if (it == live->end()) {
        v.live.reason = "not yet picked up by the service";
      } else {
        v.live = *it;
        if (v.live.endpoint.empty()) v.live.endpoint = e.endpoint();
        if (!v.live.endpoint_change.empty())  // shown wherever the status reason is
          v.live.reason =
              v.live.reason.empty() ? v.live.endpoint_change : v.live.reason + "; " + v.live.endpoint_change;
      }
    }
    auto host = v.live.endpoint.substr(0, v.live.endpoint.rfind(':'));
    if (!host.empty()) {
      if (host.front() == '[') host = host.substr(1, host.size() - 2);
      v.endpoint_warning = proto::endpoint_host_warning(host);
    }
    out.push_back(std::move(v));
  }
  return out;
}

boost::json::object to_json(const connection_view& v) {
  return boost::json::object{{"Namespace", v.entry.ns},
                             {"Name", v.entry.name},
                             {"Endpoint", v.live.endpoint},
                             {"Status", v.live.status},
                             {"StatusReason", v.live.reason},
                             {"NumberOfListeners", v.live.listeners < 0 ? 0 : v.live.listeners},
                             {"ServiceBusEndpoint", v.relay},
                             {"KeyName", v.key_name},
                             {"CreatedOn", v.entry.created_on},
                             {"LastUpdated", v.entry.last_updated},
                             {"LastError", v.live.last_error},
                             {"ReconnectCount", v.live.reconnects},
                             {"ActiveTunnels", v.live.active_tunnels},
                             {"TunnelsTotal", v.live.tunnels_total},
                             {"BytesToEndpoint", v.live.bytes_to_endpoint},
                             {"BytesFromEndpoint", v.live.bytes_from_endpoint},
                             {"EndpointWarning", v.endpoint_warning},
                             {"EndpointChange", v.live.endpoint_change},
                             {"FollowEndpoint", v.entry.follow_endpoint},
                             {"AllowLinkLocal", v.entry.allow_link_local}};
}

std::string status_text(const connection_view& v) {
  return v.live.reason.empty() ? v.live.status : v.live.status + " (" + v.live.reason + ")";
}

std::string format_table(const std::vector<connection_view>& views) {
  std::vector<std::vector<std::string>> rows;
  for (auto& v : views)
    rows.push_back({v.entry.ns, v.entry.name, v.live.endpoint.empty() ? "-" : v.live.endpoint, status_text(v),
                    v.live.listeners < 0 ? "-" : std::to_string(v.live.listeners)});
  return util::format_table({"NAMESPACE", "NAME", "ENDPOINT", "STATUS", "LISTENERS"}, rows);
}

std::string format_details(const connection_view& v) {
  std::ostringstream out;
  auto line = [&](std::string_view k, const std::string& val) {
    out << k << std::string(k.size() < 22 ? 22 - k.size() : 1, ' ') << val << "\n";
  };
  line("Namespace:", v.entry.ns);
  line("Name:", v.entry.name);
  line("Endpoint:", v.live.endpoint.empty() ? "(unknown)" : v.live.endpoint);
  if (!v.endpoint_warning.empty()) line("Warning:", v.endpoint_warning);
  line("Status:", status_text(v));
  for (const auto& [label, value] : detail_fields(v)) line(label + ":", value);
  return out.str();
}

std::vector<std::pair<std::string, std::string>> detail_fields(const connection_view& v) {
  return {{"Endpoint policy",
           std::string(v.entry.follow_endpoint ? "follows the relay's metadata" : "pinned at hcm add") +
               (v.entry.allow_link_local ? ", link-local allowed" : "")},
          {"Listeners", v.live.listeners < 0 ? "(unknown)" : std::to_string(v.live.listeners)},
          {"Relay", v.relay},
          {"Key name", v.key_name},
          {"Created on", v.entry.created_on},
          {"Last updated", v.entry.last_updated},
          {"Last error", v.live.last_error.empty() ? "-" : v.live.last_error},
          {"Reconnects", std::to_string(v.live.reconnects)},
          {"Active tunnels", std::to_string(v.live.active_tunnels)},
          {"Tunnels total", std::to_string(v.live.tunnels_total)},
          {"Bytes to endpoint", std::to_string(v.live.bytes_to_endpoint)},
          {"Bytes from endpoint", std::to_string(v.live.bytes_from_endpoint)}};
}

}  // namespace hc::manager
