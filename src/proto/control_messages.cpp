// proto/control_messages: JSON text messages of the listener control channel (protocol doc §3,
// §5.1, §6): accept and request (relay -> listener), renewToken and response (listener -> relay),
// written and parsed with
// Boost.JSON. Parsing is bounded: input size (64 KiB) and nesting depth (32) are checked, so
// hostile input is an error value, never a crash. What the relay does with a command lives in
// relay/. Pure functions.
#include "proto/control_messages.hpp"

#include "proto/encoding.hpp"
#include "proto/utf8.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace hc::proto {
namespace json = boost::json;
namespace {

constexpr std::size_t max_json_depth = 32;

error message_error(std::string what) {
  return error::bad_request("control message: " + std::move(what));
}

std::string_view kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "number";
    case json::kind::string:
      return "string";
    case json::kind::array:
      return "array";
    case json::kind::object:
      return "object";
  }
  return "value";
}

// Size, JSON syntax, depth and the single-command object shape every control message shares.
result<json::object> parse_command_object(std::string_view text) {
  if (text.size() > max_control_message_bytes)
    return error{413, errc::too_large,
                 "control message: " + std::to_string(text.size()) + " bytes, the limit is " +
                     std::to_string(max_control_message_bytes) + "; send smaller messages"};
  json::parse_options options;
  options.max_depth = max_json_depth;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, {}, options);
  if (ec)
    return message_error("expected JSON, the parser says \"" + ec.message() + "\" (" +
                         std::to_string(text.size()) + " bytes, not shown: they may hold a token)" +
                         "; send one JSON object such as {\"renewToken\":{\"token\":\"...\"}}");
  if (!v.is_object())
    return message_error("expected a JSON object naming one command, got a JSON " +
                         std::string(kind_name(v)) + "; send e.g. {\"renewToken\":{\"token\":\"...\"}}");
  if (v.get_object().empty())
    return message_error("the JSON object is empty; it must hold one command such as \"renewToken\"");
  return std::move(v.get_object());
}

result<std::string> string_field(const json::object& o, std::string_view command, std::string_view field,
                                 bool required) {
  const json::value* v = o.if_contains(field);
  if (v == nullptr || v->is_null()) {
    if (!required) return std::string{};
    return message_error(std::string(command) + "." + std::string(field) +
                         " is missing; it must be a string");
  }
  if (!v->is_string())
    return message_error(std::string(command) + "." + std::string(field) +
                         ": expected a string, got a JSON " + std::string(kind_name(*v)));
  return std::string(v->get_string());
}

result<accept_message> parse_accept(const json::value& body) {
  if (!body.is_object())
    return message_error("accept: expected an object, got " + quote_for_message(json::serialize(body)));
  const json::object& o = body.get_object();
  accept_message m;
  auto address = string_field(o, "accept", "address", true);
  if (!address) return address.error();
  m.address = std::move(*address);
  auto id = string_field(o, "accept", "id", true);
  if (!id) return id.error();
  m.id = std::move(*id);

  if (const json::value* headers = o.if_contains("connectHeaders"); headers && !headers->is_null()) {
    if (!headers->is_object())
      return message_error("accept.connectHeaders: expected an object of strings, got " +
                           quote_for_message(json::serialize(*headers)));
    for (const auto& item : headers->get_object()) {
      if (!item.value().is_string())
        return message_error("accept.connectHeaders." + std::string(item.key()) +
                             ": expected a string, got " + quote_for_message(json::serialize(item.value())));
      m.connect_headers.emplace_back(std::string(item.key()), std::string(item.value().get_string()));
    }
  }

  if (const json::value* remote = o.if_contains("remoteEndpoint"); remote && !remote->is_null()) {
    if (!remote->is_object())
      return message_error("accept.remoteEndpoint: expected {\"address\":..,\"port\":..}, got " +
                           quote_for_message(json::serialize(*remote)));
    const json::object& r = remote->get_object();
    remote_endpoint ep;
    auto addr = string_field(r, "accept.remoteEndpoint", "address", false);
    if (!addr) return addr.error();
    ep.address = std::move(*addr);
    if (const json::value* port = r.if_contains("port"); port && !port->is_null()) {
      boost::system::error_code ec;
      const auto n = port->to_number<std::int64_t>(ec);
      if (ec || n < 0 || n > 65535)
        return message_error("accept.remoteEndpoint.port: expected a number 0..65535, got " +
                             quote_for_message(json::serialize(*port)));
      ep.port = static_cast<std::uint16_t>(n);
    }
    m.remote = std::move(ep);
  }
  return m;
}

result<int> status_field(const json::object& o) {
  const json::value* v = o.if_contains("statusCode");
  std::int64_t n = -1;
  if (v && v->is_int64()) n = v->get_int64();
  if (v && v->is_uint64()) n = std::int64_t(std::min<std::uint64_t>(v->get_uint64(), 1000));
  if (v && v->is_string()) {
    auto text = std::string_view(v->get_string());
    if (!text.empty() && text.size() <= 3 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
      n = std::stoi(std::string(text));
  }
  if (n < 100 || n > 999)
    return message_error(
        "response.statusCode: expected a status 100..999 (a number or a string of digits), got " +
        (v ? quote_for_message(json::serialize(*v)) : std::string("nothing")));
  return result<int>(boost::system::in_place_value, int(n));
}

result<response_message> parse_response(const json::value& body) {
  if (!body.is_object())
    return message_error("response: expected an object, got " + quote_for_message(json::serialize(body)));
  const json::object& o = body.get_object();
  response_message m;
  auto id = string_field(o, "response", "requestId", true);
  if (!id) return id.error();
  m.request_id = std::move(*id);
  auto status = status_field(o);
  if (!status) return status.error();
  m.status = *status;
  auto description = string_field(o, "response", "statusDescription", false);
  if (!description) return description.error();
  m.description = std::move(*description);
  if (const json::value* headers = o.if_contains("responseHeaders"); headers && !headers->is_null()) {
    if (!headers->is_object())
      return message_error("response.responseHeaders: expected an object, got a JSON " +
                           std::string(kind_name(*headers)));
    for (const auto& item : headers->get_object()) {
      const json::value& v = item.value();
      if (v.is_string())
        m.headers.emplace_back(std::string(item.key()), std::string(v.get_string()));
      else if (v.is_number() || v.is_bool())
        m.headers.emplace_back(std::string(item.key()), json::serialize(v));
      else
        return message_error("response.responseHeaders." + std::string(item.key()) +
                             ": expected a string, got a JSON " + std::string(kind_name(v)));
    }
  }
  const json::value* has_body = o.if_contains("body");
  if (has_body && !has_body->is_null() && !has_body->is_bool())
    return message_error("response.body: expected true or false, got a JSON " +
                         std::string(kind_name(*has_body)));
  m.body = has_body && has_body->is_bool() && has_body->get_bool();
  return m;
}

// Header names and values as JSON strings: bytes that are not UTF-8 (obs-text) arrive as their
// Latin-1 characters; a name given twice is joined as HTTP allows (RFC 9110 §5.3).
json::object headers_object(const header_list& list) {
  json::object headers;
  for (const auto& header : list) {
    const std::string name = utf8_or_latin1(header.first);  // (named: clang 14 cannot capture bindings)
    const std::string value = utf8_or_latin1(header.second);
    auto same = std::find_if(headers.begin(), headers.end(),
                             [&](const json::key_value_pair& kv) { return iequals(kv.key(), name); });
    if (same == headers.end()) {
      headers.emplace(name, value);
    } else {
      json::string& joined = same->value().as_string();
      joined.append(", ");
      joined.append(value);
    }
  }
  return headers;
}

json::object remote_object(const remote_endpoint& r) {
  json::object remote;
  remote.emplace("address", r.address);
  remote.emplace("port", r.port);
  return remote;
}

}  // namespace

std::string serialize(const accept_message& m) {
  json::object accept;
  accept.emplace("address", m.address);
  accept.emplace("id", m.id);
  accept.emplace("connectHeaders", headers_object(m.connect_headers));
  if (m.remote) accept.emplace("remoteEndpoint", remote_object(*m.remote));
  json::object root;
  root.emplace("accept", std::move(accept));
  return json::serialize(root);
}

std::string serialize(const request_message& m) {
  json::object request;
  request.emplace("address", m.address);
  request.emplace("id", m.id);
  if (!m.method.empty()) {  // else address and id only: the SDKs test for the method or the body
    request.emplace("requestTarget", m.target);
    request.emplace("method", m.method);
    if (m.remote) request.emplace("remoteEndpoint", remote_object(*m.remote));
    request.emplace("requestHeaders", headers_object(m.headers));
    request.emplace("body", m.body);
  }
  json::object root;
  root.emplace("request", std::move(request));
  return json::serialize(root);
}

std::string serialize(const response_message& m) {
  json::object headers;
  for (const auto& [k, v] : m.headers) headers[k] = v;
  json::object body;
  body.emplace("requestId", m.request_id);
  body.emplace("statusCode", m.status);
  body.emplace("statusDescription", m.description);
  body.emplace("responseHeaders", std::move(headers));
  body.emplace("body", m.body);
  json::object root;
  root.emplace("response", std::move(body));
  return json::serialize(root);
}

std::string serialize(const renew_token_message& m) {
  json::object body;
  body.emplace("token", m.token);
  json::object root;
  root.emplace("renewToken", std::move(body));
  return json::serialize(root);
}

result<listener_command> parse_listener_command(std::string_view text) {
  auto root = parse_command_object(text);
  if (!root) return root.error();
  if (const json::value* body = root->if_contains("renewToken")) {
    if (!body->is_object())
      return message_error("renewToken: expected {\"token\":\"SharedAccessSignature ...\"}, got a JSON " +
                           std::string(kind_name(*body)));
    auto token = string_field(body->get_object(), "renewToken", "token", true);
    if (!token) return token.error();
    if (token->empty()) return message_error("renewToken.token is empty; send the new SAS token");
    return renew_token_message{std::move(*token)};
  }
  if (const json::value* body = root->if_contains("response")) {
    auto m = parse_response(*body);
    if (!m) return m.error();
    return std::move(*m);
  }
  return unknown_command{std::string(root->begin()->key())};
}

result<relay_command> parse_relay_command(std::string_view text) {
  auto root = parse_command_object(text);
  if (!root) return root.error();
  if (const json::value* body = root->if_contains("accept")) {
    auto m = parse_accept(*body);
    if (!m) return m.error();
    return std::move(*m);
  }
  if (const json::value* body = root->if_contains("request")) {
    if (!body->is_object())
      return message_error("request: expected an object, got " + quote_for_message(json::serialize(*body)));
    const auto& o = body->get_object();
    request_message m;
    for (auto [field, out, required] : {std::tuple{"id", &m.id, true},
                                        {"address", &m.address, false},
                                        {"method", &m.method, false},
                                        {"requestTarget", &m.target, false}}) {
      auto value = string_field(o, "request", field, required);
      if (!value) return value.error();
      *out = std::move(*value);
    }
    const json::value* has_body = o.if_contains("body");
    m.body = has_body && has_body->is_bool() && has_body->get_bool();
    return m;
  }
  return unknown_command{std::string(root->begin()->key())};
}

}  // namespace hc::proto
