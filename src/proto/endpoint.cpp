// proto/endpoint: the host:port a hybrid connection names and its userMetadata form
// (`[{"key":"endpoint","value":"HOST:PORT"}]`, protocol doc §9.1), plus the warning shown for IP
// and localhost endpoints (apps match hybrid connections on DNS names). Dialing the endpoint is
// the agent's job (net/ and apps/). Pure functions.
#include "proto/endpoint.hpp"

#include "proto/encoding.hpp"

#include <boost/json.hpp>

#include <charconv>

namespace hc::proto {
namespace json = boost::json;
namespace {

constexpr std::string_view endpoint_form = "write host:port such as db.corp:5432, or [v6]:port";

error endpoint_error(std::string_view text, std::string why) {
  return error::bad_request("endpoint " + quote_for_message(text) + ": " + std::move(why) + "; " +
                            std::string(endpoint_form));
}

bool is_dns_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_';
}

bool is_ipv4(std::string_view host) noexcept {
  int parts = 0;
  while (true) {
    const auto dot = host.find('.');
    const std::string_view part = host.substr(0, dot);
    if (part.empty() || part.size() > 3) return false;
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (ec != std::errc{} || end != part.data() + part.size() || v > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    host.remove_prefix(dot + 1);
  }
  return parts == 4;
}

bool is_ipv6(std::string_view host) noexcept {
  if (host.find(':') == std::string_view::npos || host.size() > 45) return false;
  for (char c : host) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex && c != ':' && c != '.') return false;
  }
  return true;
}

}  // namespace

std::string endpoint::to_string() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

result<endpoint> parse_endpoint(std::string_view text) {
  endpoint e;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return endpoint_error(text, "'[' without ']'");
    const std::string_view host = text.substr(1, close - 1);
    if (!is_ipv6(host)) return endpoint_error(text, "the bracketed host is not an IPv6 address");
    if (close + 1 >= text.size() || text[close + 1] != ':') return endpoint_error(text, "no :port after ']'");
    e.host = std::string(host);
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return endpoint_error(text, "no port");
    const std::string_view host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos)
      return endpoint_error(text, "more than one ':' (an IPv6 address needs brackets)");
    if (host.empty()) return endpoint_error(text, "empty host");
    for (char c : host) {
      if (!is_dns_char(c)) return endpoint_error(text, "the host holds a character a DNS name cannot");
    }
    e.host = std::string(host);
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty()) return endpoint_error(text, "no port");
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port < 1 || port > 65535)
    return endpoint_error(text, "the port must be a number 1..65535");
  e.port = static_cast<std::uint16_t>(port);
  return e;
}

result<endpoint> endpoint_from_user_metadata(std::string_view user_metadata) {
  auto missing = [&](std::string why) {
    return error::bad_request(
        "UserMetadata must contain an endpoint composed of a host and port: " + std::move(why) + ", got " +
        quote_for_message(user_metadata) + "; set it to [{\"key\":\"endpoint\",\"value\":\"HOST:PORT\"}]");
  };
  json::parse_options options;
  options.max_depth = 32;
  boost::system::error_code ec;
  const json::value v = json::parse(user_metadata, ec, {}, options);
  if (ec) return missing("it is not JSON");
  if (!v.is_array()) return missing("it is not a JSON array");
  for (const json::value& item : v.get_array()) {
    if (!item.is_object()) continue;
    const json::value* key = nullptr;
    const json::value* value = nullptr;
    for (const auto& kv : item.get_object()) {  // property names matched case-insensitively, as HCM does
      if (iequals(kv.key(), "key")) key = &kv.value();
      if (iequals(kv.key(), "value")) value = &kv.value();
    }
    if (key == nullptr || !key->is_string() || !iequals(key->get_string(), "endpoint")) continue;
    if (value == nullptr || !value->is_string()) return missing("the endpoint item has no string value");
    return parse_endpoint(value->get_string());
  }
  return missing("no item has key \"endpoint\"");
}

std::string user_metadata_for(const endpoint& e) {
  json::object item;
  item.emplace("key", "endpoint");
  item.emplace("value", e.to_string());
  json::array list;
  list.emplace_back(std::move(item));
  return json::serialize(list);
}

bool is_ip_literal(std::string_view host) noexcept {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return is_ipv4(host) || is_ipv6(host);
}

std::string endpoint_host_warning(std::string_view host) {
  const std::string shown(host.substr(0, 60));
  if (is_ip_literal(host))
    return "endpoint host " + shown +
           " is an IP address: hybrid connections match on DNS names, so an app never sends traffic for it; "
           "use the server's DNS name";
  std::string_view h = host;
  if (!h.empty() && h.back() == '.') h.remove_suffix(1);
  if (iequals(h, "localhost") || (h.size() > 10 && iequals(h.substr(h.size() - 10), ".localhost")))
    return "endpoint host " + shown +
           " is localhost: hybrid connections match on DNS names and apps (Linux apps in particular) do not "
           "send localhost through them; use the server's DNS name";
  return {};
}

}  // namespace hc::proto
