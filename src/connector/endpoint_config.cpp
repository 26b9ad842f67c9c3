// connector/endpoint_config: endpoints.json and loopback addresses (see endpoint_config.hpp).
#include "connector/endpoint_config.hpp"

#include "proto/endpoint.hpp"
#include "util/private_file.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <stdexcept>

namespace hc::connector {
namespace json = boost::json;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

// FNV-1a: stable across builds and machines, so an endpoint keeps its address when re-added.
std::uint64_t fnv1a(std::string_view s, std::uint64_t salt) {
  std::uint64_t h = 1469598103934665603ull ^ salt;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string address_from(std::uint64_t h) {
  // 127.a.b.c with b, c in 1..254: no network or broadcast-looking octets, never 127.0.0.1
  // (b = 0 is excluded), and 253 * 253 * 256 choices.
  unsigned a = unsigned(h & 0xff);
  unsigned b = 1 + unsigned((h >> 8) % 254);
  unsigned c = 1 + unsigned((h >> 24) % 254);
  return "127." + std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c);
}

}  // namespace

const endpoint_entry* endpoint_config::find(std::string_view name) const {
  for (const auto& e : entries)
    if (e.name == name) return &e;
  return nullptr;
}

bool endpoint_config::remove(std::string_view name) {
  auto before = entries.size();
  std::erase_if(entries, [&](const endpoint_entry& e) { return e.name == name; });
  return entries.size() != before;
}

void endpoint_config::upsert(endpoint_entry e) {
  remove(e.name);
  if (e.loopback_address.empty()) e.loopback_address = pick_loopback_address(e.endpoint_host, *this);
  entries.push_back(std::move(e));
}

std::string pick_loopback_address(std::string_view host, const endpoint_config& config) {
  auto key = lower(host);
  if (!key.empty() && key.back() == '.') key.pop_back();
  auto same_host = [&](const endpoint_entry& e) {
    auto h = lower(e.endpoint_host);
    if (!h.empty() && h.back() == '.') h.pop_back();
    return h == key;
  };
  for (const auto& e : config.entries)
    if (same_host(e) && !e.loopback_address.empty()) return e.loopback_address;
  for (std::uint64_t salt = 0;; ++salt) {
    auto candidate = address_from(fnv1a(key, salt));
    bool taken = false;
    for (const auto& e : config.entries) taken = taken || (e.loopback_address == candidate && !same_host(e));
    if (!taken) return candidate;
  }
}

proto::result<proto::connection_string> parse_send_connection_string(std::string_view text) {
  auto cs = proto::parse_connection_string(text);
  if (!cs) return cs.error();
  if (cs->entity_path.empty())
    return proto::error::bad_request(
        "the connection string has no EntityPath: hcconnect needs the hybrid connection's own connection "
        "string "
        "(hcctl hc connection-string NAME --rule defaultSender), not the namespace's");
  return cs;
}

proto::result<endpoint_config> parse_endpoint_config(std::string_view text) {
  boost::system::error_code ec;
  auto doc = json::parse(text, ec);
  if (ec) return proto::error::bad_request("endpoints.json is not JSON: " + ec.message());
  if (!doc.is_array())
    return proto::error::bad_request("endpoints.json must be a JSON array of endpoint objects");
  endpoint_config config;
  std::size_t index = 0;
  for (const auto& item : doc.as_array()) {
    std::string where = "endpoints.json entry " + std::to_string(index++);
    if (!item.is_object()) return proto::error::bad_request(where + " is not an object");
    const auto& o = item.as_object();
    auto text_field = [&](std::string_view key) -> proto::result<std::string> {
      auto* v = o.if_contains(key);
      if (!v || !v->is_string() || v->as_string().empty())
        return proto::error::bad_request(where + ": \"" + std::string(key) + "\" must be a non-empty string");
      return std::string(v->as_string());
    };
    endpoint_entry e;
    for (auto [key, out] : {std::pair{"name", &e.name},
                            {"connectionString", &e.connection_string},
                            {"endpointHost", &e.endpoint_host},
                            {"loopbackAddress", &e.loopback_address}}) {
      auto v = text_field(key);
      if (!v) return v.error();
      *out = std::move(*v);
    }
    auto* port = o.if_contains("endpointPort");
    if (!port || !port->is_int64() || port->as_int64() < 1 || port->as_int64() > 65535)
      return proto::error::bad_request(where + " (" + e.name +
                                       "): \"endpointPort\" must be a number 1..65535");
    e.endpoint_port = std::uint16_t(port->as_int64());
    boost::system::error_code aec;
    auto address = boost::asio::ip::make_address_v4(e.loopback_address, aec);
    if (aec || (address.to_uint() >> 24) != 127)
      return proto::error::bad_request(where + " (" + e.name +
                                       "): \"loopbackAddress\" must be an address in 127.0.0.0/8, got '" +
                                       e.loopback_address + "'");
    config.entries.push_back(std::move(e));
  }
  return config;
}

std::string serialize(const endpoint_config& config) {
  json::array out;
  for (const auto& e : config.entries)
    out.push_back(json::object{{"name", e.name},
                               {"connectionString", e.connection_string},
                               {"endpointHost", e.endpoint_host},
                               {"endpointPort", e.endpoint_port},
                               {"loopbackAddress", e.loopback_address}});
  return json::serialize(out) + "\n";
}

std::string config_file_path(const std::string& config_dir) {
  return (std::filesystem::path(config_dir) / "endpoints.json").string();
}

endpoint_config load_config(const std::string& config_dir) {
  auto path = config_file_path(config_dir);
  auto text = util::read_file(path);
  if (!text) return {};
  auto config = parse_endpoint_config(*text);
  if (!config) throw std::runtime_error(path + ": " + config.error().message);
  return std::move(*config);
}

void save_config(const std::string& config_dir, const endpoint_config& config) {
  std::filesystem::create_directories(config_dir);
  util::write_private_file(config_file_path(config_dir), serialize(config));
}

}  // namespace hc::connector
