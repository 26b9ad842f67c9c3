// proto/json_body: the management API's body readers (see json_body.hpp).
#include "proto/json_body.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace hc::proto {
namespace json = boost::json;

result<json::object> parse_json_object(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object{};
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec) return error::bad_request("the request body is not JSON: " + ec.message());
  if (!v.is_object()) return error::bad_request("the request body must be a JSON object");
  return std::move(v.as_object());
}

result<std::optional<std::string>> string_field(const json::object& o, std::string_view field) {
  const auto* v = o.if_contains(field);
  if (!v || v->is_null()) return std::optional<std::string>{};
  if (!v->is_string()) return error::bad_request(std::string(field) + ": must be a string");
  return std::optional<std::string>(std::string(v->as_string()));
}

result<std::optional<bool>> bool_field(const json::object& o, std::string_view field) {
  const auto* v = o.if_contains(field);
  if (!v || v->is_null()) return std::optional<bool>{};
  if (!v->is_bool()) return error::bad_request(std::string(field) + ": must be true or false");
  return std::optional<bool>(v->as_bool());
}

result<void> only_fields(const json::object& o, std::initializer_list<std::string_view> known) {
  for (const auto& [k, v] : o) {
    if (std::find(known.begin(), known.end(), std::string_view(k)) != known.end()) continue;
    std::string list;
    for (auto f : known) list += (list.empty() ? "" : ", ") + std::string(f);
    return error::bad_request(std::string(k) + ": unknown field (expected " + list + ")");
  }
  return {};
}

result<rights> rights_field(const json::object& o) {
  const auto* v = o.if_contains("rights");
  if (!v) return error::bad_request("rights: required, e.g. [\"Listen\", \"Send\"]");
  std::string text;
  if (v->is_string()) {
    text = std::string(v->as_string());
  } else if (v->is_array()) {
    for (const auto& item : v->as_array()) {
      if (!item.is_string()) return error::bad_request("rights: every item must be a string");
      text += (text.empty() ? "" : ",") + std::string(item.as_string());
    }
  } else {
    return error::bad_request("rights: must be an array such as [\"Listen\", \"Send\"]");
  }
  auto r = parse_rights(text);
  if (!r) return error::bad_request("rights: " + r.error().message);
  if (*r == rights::none) return error::bad_request("rights: name at least one of Listen, Send, Manage");
  return r;
}

result<std::uint16_t> port_field(const json::object& o) {
  const auto* v = o.if_contains("endpointPort");
  std::int64_t port = -1;
  if (!v || v->is_null())
    return error::bad_request("endpointPort: required, the TCP port of the endpoint (1-65535)");
  if (v->is_int64())
    port = v->as_int64();
  else if (v->is_uint64())
    port = std::int64_t(std::min<std::uint64_t>(v->as_uint64(), 70000));
  else if (v->is_string()) {
    const auto& s = v->as_string();
    if (!s.empty() && s.size() <= 5 &&
        std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      port = std::stoll(std::string(s));
  }
  if (port < 1 || port > 65535)
    return error::bad_request("endpointPort: expected a TCP port 1-65535, got " + json::serialize(*v));
  return {boost::system::in_place_value, std::uint16_t(port)};
}

}  // namespace hc::proto
