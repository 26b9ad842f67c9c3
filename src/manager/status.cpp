// manager/status: connection_stats and status.json (see status.hpp).
#include "manager/status.hpp"

#include "manager/config.hpp"
#include "net/clock.hpp"
#include "util/private_file.hpp"

#include <boost/json.hpp>

#include <signal.h>

#include <chrono>

namespace hc::manager {
namespace json = boost::json;

connection_stats::connection_stats(std::string ns, std::string name) {
  s_.ns = std::move(ns);
  s_.name = std::move(name);
}

void connection_stats::set_state(std::string status, std::string reason) {
  std::lock_guard lock(mutex_);
  s_.status = std::move(status);
  s_.reason = std::move(reason);
}
void connection_stats::set_endpoint(std::string endpoint) {
  std::lock_guard lock(mutex_);
  s_.endpoint = std::move(endpoint);
}
void connection_stats::set_endpoint_change(std::string text) {
  std::lock_guard lock(mutex_);
  s_.endpoint_change = std::move(text);
}
void connection_stats::set_listeners(int n) {
  std::lock_guard lock(mutex_);
  s_.listeners = n;
}
void connection_stats::set_last_error(std::string text) {
  std::lock_guard lock(mutex_);
  s_.last_error = std::move(text);
}
void connection_stats::count_reconnect() {
  std::lock_guard lock(mutex_);
  ++s_.reconnects;
}

connection_status connection_stats::snapshot() const {
  connection_status out;
  {
    std::lock_guard lock(mutex_);
    out = s_;
  }
  out.active_tunnels = active_tunnels.load();
  out.tunnels_total = tunnels_total.load();
  out.bytes_to_endpoint = bytes.app_to_agent.load();
  out.bytes_from_endpoint = bytes.agent_to_app.load();
  return out;
}

std::string serialize_status(const status_file& f) {
  json::array conns;
  for (auto& c : f.connections) {
    conns.push_back(json::object{{"namespace", c.ns},
                                 {"name", c.name},
                                 {"status", c.status},
                                 {"reason", c.reason},
                                 {"endpoint", c.endpoint},
                                 {"endpointChange", c.endpoint_change},
                                 {"listeners", c.listeners},
                                 {"lastError", c.last_error},
                                 {"reconnects", c.reconnects},
                                 {"activeTunnels", c.active_tunnels},
                                 {"tunnelsTotal", c.tunnels_total},
                                 {"bytesToEndpoint", c.bytes_to_endpoint},
                                 {"bytesFromEndpoint", c.bytes_from_endpoint}});
  }
  return json::serialize(json::object{
             {"pid", f.pid}, {"written", f.written_unix}, {"uiPort", f.ui_port}, {"connections", conns}}) +
         "\n";
}

namespace {
std::string str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}
std::int64_t num(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return std::int64_t(v->get_uint64());
  return 0;
}
}  // namespace

std::optional<status_file> read_status(const std::string& state_dir) {
  std::optional<std::string> text;
  try {
    text = util::read_file(status_path(state_dir));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!text) return std::nullopt;
  json::error_code ec;
  auto v = json::parse(*text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  auto& o = v.get_object();
  status_file f;
  f.pid = long(num(o, "pid"));
  f.written_unix = num(o, "written");
  f.ui_port = std::uint16_t(num(o, "uiPort"));
  if (auto* arr = o.if_contains("connections"); arr && arr->is_array()) {
    for (auto& item : arr->get_array()) {
      if (!item.is_object()) continue;
      auto& c = item.get_object();
      connection_status s;
      s.ns = str(c, "namespace");
      s.name = str(c, "name");
      s.status = str(c, "status");
      s.reason = str(c, "reason");
      s.endpoint = str(c, "endpoint");
      s.endpoint_change = str(c, "endpointChange");
      s.listeners = int(num(c, "listeners"));
      s.last_error = str(c, "lastError");
      s.reconnects = std::uint64_t(num(c, "reconnects"));
      s.active_tunnels = std::uint64_t(num(c, "activeTunnels"));
      s.tunnels_total = std::uint64_t(num(c, "tunnelsTotal"));
      s.bytes_to_endpoint = std::uint64_t(num(c, "bytesToEndpoint"));
      s.bytes_from_endpoint = std::uint64_t(num(c, "bytesFromEndpoint"));
      f.connections.push_back(std::move(s));
    }
  }
  return f;
}

bool status_is_live(const status_file& f) {
  if (f.pid <= 0 || ::kill(pid_t(f.pid), 0) != 0) return false;
  // The service rewrites the file at least every 10 s (heartbeat).
  return net::unix_now() - f.written_unix < 30;
}

}  // namespace hc::manager
