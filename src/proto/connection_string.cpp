// proto/connection_string: Azure Relay connection strings (protocol doc §2.5), parsed and written.
// Any domain is accepted, unlike Microsoft's HCM. Error messages name keys, never show the key or
// signature values. Where a connection string comes from (flags, files, store) is apps/ and
// store/ business. Pure values.
#include "proto/connection_string.hpp"

#include "proto/encoding.hpp"
#include "proto/sas.hpp"

#include <charconv>

namespace hc::proto {
namespace {

constexpr std::string_view expected_form =
    "Endpoint=sb://HOST[:PORT]/;SharedAccessKeyName=RULE;SharedAccessKey=KEY[;EntityPath=NAME]";

// A key name is shown only when it looks like one: a stray key or signature value split on ';'
// or '=' would otherwise end up in the message.
std::string shown_key_name(std::string_view name) {
  bool plain = !name.empty() && name.size() <= 32;
  for (char c : name) {
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == ' ' || c == '_' || c == '-');
  }
  return plain ? quote_for_message(name) : "(not shown: it may be a secret)";
}

error cs_error(std::string what) {
  return error::bad_request("connection string: " + std::move(what) + "; expected " +
                            std::string(expected_form));
}

result<void> parse_endpoint_value(std::string_view value, connection_string& cs) {
  if (!istarts_with(value, "sb://"))
    return cs_error("Endpoint must start with sb://, got " + quote_for_message(value));
  std::string_view rest = value.substr(5);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return cs_error("Endpoint host has '[' without ']'");
    cs.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':')
      return cs_error("Endpoint has text after ']' that is not :PORT");
    if (!after.empty()) port_text = after.substr(1);
    if (!after.empty() && port_text.empty()) return cs_error("Endpoint has an empty port");
  } else {
    const auto colon = authority.find(':');
    cs.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return cs_error("Endpoint has an empty port");
    }
  }
  if (cs.host.empty()) return cs_error("Endpoint has no host, got " + quote_for_message(value));
  for (char c : cs.host) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '@')
      return cs_error("Endpoint host " + quote_for_message(cs.host) +
                      " holds a space, control character or '@'");
  }
  if (!port_text.empty()) {
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port < 1 || port > 65535)
      return cs_error("Endpoint port must be 1..65535, got " + quote_for_message(port_text));
    cs.port = static_cast<std::uint16_t>(port);
    cs.port_given = true;
  }
  return {};
}

}  // namespace

std::string connection_string::authority() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port_given || port != 443) out += ":" + std::to_string(port);
  return out;
}

std::string connection_string::to_string() const {
  std::string out = "Endpoint=sb://" + authority() + "/";
  if (!sas_token.empty()) {
    out += ";SharedAccessSignature=" + sas_token;
  } else {
    if (!key_name.empty()) out += ";SharedAccessKeyName=" + key_name;
    if (!key.empty()) out += ";SharedAccessKey=" + key;
  }
  if (!entity_path.empty()) out += ";EntityPath=" + entity_path;
  return out;
}

result<connection_string> parse_connection_string(std::string_view text) {
  connection_string cs;
  bool have_endpoint = false, have_key_name = false, have_key = false, have_sas = false;
  bool have_entity = false, have_timeout = false, have_auth = false;
  std::string_view rest = text;
  while (true) {
    const auto semi = rest.find(';');
    const std::string_view pair = trim_space(rest.substr(0, semi));
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      if (eq == std::string_view::npos)
        return cs_error("a pair has no '=' (its text is not shown: it may be a key)");
      const std::string_view name = trim_space(pair.substr(0, eq));
      const std::string_view value = trim_space(pair.substr(eq + 1));
      bool* seen = nullptr;
      if (iequals(name, "Endpoint")) {
        seen = &have_endpoint;
      } else if (iequals(name, "SharedAccessKeyName")) {
        seen = &have_key_name;
      } else if (iequals(name, "SharedAccessKey")) {
        seen = &have_key;
      } else if (iequals(name, "SharedAccessSignature")) {
        seen = &have_sas;
      } else if (iequals(name, "EntityPath")) {
        seen = &have_entity;
      } else if (iequals(name, "OperationTimeout")) {
        seen = &have_timeout;
      } else if (iequals(name, "Authentication")) {
        seen = &have_auth;
      } else {
        return cs_error("unknown key " + shown_key_name(name) +
                        " (known: Endpoint, SharedAccessKeyName, SharedAccessKey, SharedAccessSignature, "
                        "EntityPath, OperationTimeout, Authentication)");
      }
      if (*seen) return cs_error("key " + shown_key_name(name) + " appears twice");
      *seen = true;
      if (seen == &have_endpoint) {
        auto r = parse_endpoint_value(value, cs);
        if (!r) return r.error();
      } else if (seen == &have_key_name) {
        cs.key_name = std::string(value);
      } else if (seen == &have_key) {
        cs.key = std::string(value);
      } else if (seen == &have_sas) {
        cs.sas_token = std::string(value);
      } else if (seen == &have_entity) {
        cs.entity_path = std::string(value);
      }
    }
    if (semi == std::string_view::npos) break;
    rest.remove_prefix(semi + 1);
  }

  if (!have_endpoint) return cs_error("no Endpoint key");
  if (have_sas && (have_key_name || have_key))
    return cs_error("SharedAccessSignature cannot be combined with SharedAccessKeyName or SharedAccessKey");
  if (have_key_name && !have_key) return cs_error("SharedAccessKeyName is given without SharedAccessKey");
  if (have_key && !have_key_name) return cs_error("SharedAccessKey is given without SharedAccessKeyName");
  if (have_key_name && cs.key_name.empty()) return cs_error("SharedAccessKeyName is empty");
  if (have_key && cs.key.empty()) return cs_error("SharedAccessKey is empty");
  if (have_sas) {
    auto token = parse_sas_token(cs.sas_token);
    if (!token) return cs_error("SharedAccessSignature is not a SAS token (" + token.error().message + ")");
  }
  return cs;
}

}  // namespace hc::proto
