// proto/hc_address: request targets of hybrid-connection gestures (protocol doc §1, §5): splitting
// the relay's sb-hc-* parameters from the application's raw query, building the listen, connect,
// accept and reject URLs, and parsing ws:// / wss:// URLs for dialing.
// Entity lookup (longest registered prefix) lives in relay/; this file only shapes strings.
// Pure functions.
#include "proto/hc_address.hpp"

#include "proto/encoding.hpp"

#include <charconv>
#include <optional>

namespace hc::proto {
namespace {

constexpr std::string_view hc_prefix = "sb-hc-";

std::optional<int> parse_int(std::string_view s) {
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// "/"-separated segments percent-encoded one by one, so '/' stays a separator.
std::string encode_path(std::string_view path) {
  std::string out;
  while (true) {
    const auto slash = path.find('/');
    out += percent_encode(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    out += '/';
    path.remove_prefix(slash + 1);
  }
  return out;
}

std::string authority_for(std::string_view host, std::uint16_t port, bool omit_443) {
  std::string out =
      host.find(':') != std::string_view::npos ? "[" + std::string(host) + "]" : std::string(host);
  if (!(omit_443 && port == 443)) out += ":" + std::to_string(port);
  return out;
}

std::string build_client_url(std::string_view host, std::uint16_t port, std::string_view path,
                             std::string_view action, std::string_view id) {
  std::string out = "wss://" + authority_for(host, port, true) + "/$hc/" + encode_path(path) +
                    "?sb-hc-action=" + std::string(action);
  if (!id.empty()) out += "&sb-hc-id=" + percent_encode(id);
  return out;
}

error target_error(std::string what, std::string_view arrived) {
  return error::bad_request("request target: " + std::move(what) + ", got " + quote_for_message(arrived) +
                            "; use /$hc/{hybrid-connection}[/suffix]?sb-hc-action=...");
}

// Validates a status given with a reject: "expected 100..599".
result<int> parse_reject_status(std::string_view name, std::string_view value) {
  const auto v = parse_int(value);
  if (!v || *v < 100 || *v > 599)
    return error::bad_request("query parameter " + std::string(name) +
                              ": expected an HTTP status 100..599, got " + quote_for_message(value) +
                              "; send the status code as a decimal number");
  // result<int> needs the tag: C++20 lets `error` be constructed from an int (its first member).
  return result<int>(boost::system::in_place_value, *v);
}

// sb-hc-id travels into accept messages, logs and status lines: short printable ASCII only.
std::optional<error> check_id(std::string_view id) {
  bool printable_ascii = true;
  for (char c : id) printable_ascii = printable_ascii && c >= 0x20 && c < 0x7F;
  if (id.size() <= max_hc_id_bytes && printable_ascii) return std::nullopt;
  return error::bad_request("query parameter sb-hc-id: at most " + std::to_string(max_hc_id_bytes) +
                            " printable ASCII characters, got " + std::to_string(id.size()) + " bytes " +
                            quote_for_message(id, 24) + "; use a short id such as a GUID");
}

}  // namespace

std::string_view to_string(hc_action a) {
  switch (a) {
    case hc_action::connect:
      return "connect";
    case hc_action::listen:
      return "listen";
    case hc_action::accept:
      return "accept";
    case hc_action::request:
      return "request";
  }
  return "connect";
}

namespace {

// The path part: "/$hc/{path}" or "/{path}", decoded and checked.
std::optional<error> parse_target_path(std::string_view path_part, hc_target& t) {
  if (path_part.empty() || path_part.front() != '/')
    return target_error("path must start with '/'", path_part);
  std::string_view raw = path_part.substr(1);
  if (istarts_with(raw, "$hc/")) {
    t.websocket_path = true;
    raw.remove_prefix(4);
  } else if (iequals(raw, "$hc")) {
    t.websocket_path = true;
    raw = {};
  }
  if (raw.empty()) return target_error("no hybrid connection named in the path", path_part);
  auto decoded = percent_decode(raw, false);
  if (!decoded) return target_error("bad %-escape in the path", path_part);
  for (char c : *decoded) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
      return target_error("control character in the decoded path", path_part);
  }
  for (std::string_view rest = *decoded;;) {
    const auto slash = rest.find('/');
    if (rest.substr(0, slash) == "..") return target_error("'..' segment in the path", path_part);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  t.raw_path = std::string(raw);
  t.path = std::move(*decoded);
  return std::nullopt;
}

// The query parameters the relay reads before it knows the action. Node's reject URL has
// statusCode/statusDescription without the prefix (doc §5.3).
struct target_query {
  std::optional<std::string_view> action, bare_status, bare_description, hc_status, hc_description;
};

// The query: sb-hc-id, -token and -rendezvous into `t`; the rest of sb-hc-* into `q`; every other
// parameter into t.app_query. Later repeats of an sb-hc-* parameter win; unknown ones are dropped.
std::optional<error> parse_target_query(std::string_view query, hc_target& t, target_query& q) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (param.empty()) continue;
    const auto eq = param.find('=');
    const std::string_view name = param.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
    if (!istarts_with(name, hc_prefix)) {
      if (iequals(name, "statusCode")) q.bare_status = value;
      if (iequals(name, "statusDescription")) q.bare_description = value;
      if (!t.app_query.empty()) t.app_query += '&';
      t.app_query += param;
      continue;
    }
    const std::string_view key = name.substr(hc_prefix.size());
    auto decode = [&](std::string& out) -> std::optional<error> {
      auto v = percent_decode(value, true);
      if (!v)
        return error::bad_request("query parameter " + std::string(name) + ": bad %-escape in " +
                                  quote_for_message(value) + "; percent-encode the value");
      out = std::move(*v);
      return std::nullopt;
    };
    std::optional<error> failed;
    if (iequals(key, "action")) {
      q.action = value;
    } else if (iequals(key, "id")) {
      failed = decode(t.id);
      if (!failed) failed = check_id(t.id);
    } else if (iequals(key, "token")) {
      failed = decode(t.token);
    } else if (iequals(key, "rendezvous")) {
      failed = decode(t.rendezvous);
    } else if (iequals(key, "statusCode")) {
      q.hc_status = value;
    } else if (iequals(key, "statusDescription")) {
      q.hc_description = value;
    }
    if (failed) return failed;
  }
  return std::nullopt;
}

result<hc_action> parse_action(std::optional<std::string_view> action) {
  if (!action || iequals(*action, "connect")) return hc_action::connect;
  if (iequals(*action, "listen")) return hc_action::listen;
  if (iequals(*action, "accept")) return hc_action::accept;
  if (iequals(*action, "request")) return hc_action::request;
  return error::bad_request(
      "query parameter sb-hc-action: expected connect, listen, accept or request, got " +
      quote_for_message(*action) + "; leave it out to connect");
}

// The reject of an accept: sb-hc-* wins; the bare spelling only counts on an accept (a sender's
// own "statusCode" is app data).
std::optional<error> parse_reject(const target_query& q, hc_target& t) {
  const bool use_bare = !q.hc_status && t.action == hc_action::accept;
  const auto status = q.hc_status ? q.hc_status : (use_bare ? q.bare_status : std::nullopt);
  const auto description =
      q.hc_status ? q.hc_description : (use_bare ? q.bare_description : q.hc_description);
  if (status) {
    auto s = parse_reject_status(q.hc_status ? "sb-hc-statusCode" : "statusCode", *status);
    if (!s) return s.error();
    t.reject_status = *s;
  }
  if (description && t.reject_status != 0) {
    auto d = percent_decode(*description, true);
    if (!d)
      return error::bad_request("query parameter statusDescription: bad %-escape in " +
                                quote_for_message(*description) + "; percent-encode the description");
    t.reject_description = std::move(*d);
  }
  return std::nullopt;
}

}  // namespace

result<hc_target> parse_hc_target(std::string_view request_target) {
  // RFC 9112 §3.2: a request target is visible ASCII; anything else cannot be forwarded safely.
  for (char c : request_target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F)
      return target_error("a space, control or non-ASCII byte in the request target", request_target);
  }
  const auto qmark = request_target.find('?');
  std::string_view query =
      qmark == std::string_view::npos ? std::string_view{} : request_target.substr(qmark + 1);
  if (const auto hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);
  hc_target t;
  if (auto bad = parse_target_path(request_target.substr(0, qmark), t)) return std::move(*bad);
  target_query q;
  if (auto bad = parse_target_query(query, t, q)) return std::move(*bad);
  auto action = parse_action(q.action);
  if (!action) return action.error();
  t.action = *action;
  if (auto bad = parse_reject(q, t)) return std::move(*bad);
  return t;
}

bool is_segment_prefix(std::string_view prefix, std::string_view path) noexcept {
  if (prefix.size() > path.size() || !iequals(prefix, path.substr(0, prefix.size()))) return false;
  return prefix.size() == path.size() || path[prefix.size()] == '/' ||
         (!prefix.empty() && prefix.back() == '/');
}

std::string build_rendezvous_address(std::string_view host, std::uint16_t port, std::string_view raw_path,
                                     std::string_view app_query, hc_action action, std::string_view id,
                                     std::string_view rendezvous_key) {
  std::string out = "wss://" + authority_for(host, port, false) + "/$hc/" + std::string(raw_path) + "?";
  if (!app_query.empty()) out += std::string(app_query) + "&";
  out += "sb-hc-action=" + std::string(to_string(action)) + "&sb-hc-id=" + percent_encode(id) +
         "&sb-hc-rendezvous=" + percent_encode(rendezvous_key);
  return out;
}

std::string build_listen_url(std::string_view host, std::uint16_t port, std::string_view path,
                             std::string_view id) {
  return build_client_url(host, port, path, "listen", id);
}

std::string build_connect_url(std::string_view host, std::uint16_t port, std::string_view path,
                              std::string_view id) {
  return build_client_url(host, port, path, "connect", id);
}

std::string build_reject_url(std::string_view accept_address, int status, std::string_view description) {
  std::string out(accept_address);
  out += accept_address.find('?') == std::string_view::npos ? '?' : '&';
  out += "sb-hc-statusCode=" + std::to_string(status) +
         "&sb-hc-statusDescription=" + percent_encode(description);
  return out;
}

result<ws_url> parse_ws_url(std::string_view url) {
  auto bad = [&](std::string why) {
    return error::bad_request("URL " + std::move(why) + ", got " + quote_for_message(url) +
                              "; write wss://host[:port]/path or ws://host[:port]/path");
  };
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F)
      return bad("contains a space or control character");
  }
  ws_url out;
  std::string_view rest;
  if (istarts_with(url, "wss://")) {
    out.tls = true;
    out.port = 443;
    rest = url.substr(6);
  } else if (istarts_with(url, "ws://")) {
    out.tls = false;
    out.port = 80;
    rest = url.substr(5);
  } else {
    return bad("must start with wss:// or ws://");
  }
  const auto authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view target =
      authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (const auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  if (authority.find('@') != std::string_view::npos) return bad("must not carry user information");

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("has an unclosed '[' in its host");
    out.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("has text after ']' that is not a :port");
      port_text = after.substr(1);
      if (port_text.empty()) return bad("has an empty port");
    }
  } else {
    const auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad("has an empty port");
    }
  }
  if (out.host.empty()) return bad("has no host");
  if (!port_text.empty()) {
    const auto p = parse_int(port_text);
    if (!p || *p < 1 || *p > 65535) return bad("port must be 1..65535");
    out.port = static_cast<std::uint16_t>(*p);
  }
  out.target = target.empty() || target.front() != '/' ? "/" + std::string(target) : std::string(target);
  return out;
}

}  // namespace hc::proto
