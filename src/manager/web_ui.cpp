// manager/web_ui: routes and pages of the local web UI (see web_ui.hpp). Pages are the embedded
// web/hcm/layout.html with a body built here; every value is HTML-escaped.
#include "manager/web_ui.hpp"

#include "proto/runtime_info.hpp"

#include "manager/add_connection.hpp"
#include "manager/select_page.hpp"
#include "proto/encoding.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <vector>

#include <optional>
#include <string_view>

namespace hc::web {
extern const std::string_view hcm_layout_html;  // web/hcm/layout.html, see cmake/embed.cmake
}

namespace hc::manager {

std::string html_escape(std::string_view text) {
  return proto::xml_escape(text);
}

namespace {

std::string page(std::string_view title, const std::string& body) {
  std::string html(web::hcm_layout_html);
  auto put = [&](std::string_view key, const std::string& value) {
    if (auto at = html.find(key); at != std::string::npos) html.replace(at, key.size(), value);
  };
  put("{{title}}", html_escape(title));
  put("{{body}}", body);
  return html;
}

std::string respond(int status, std::string_view content_type, std::string_view body,
                    net::header_list extra = {}) {
  net::header_list headers{{"Content-Type", std::string(content_type)},
                           {"Cache-Control", "no-store"},
                           {"X-Content-Type-Options", "nosniff"},
                           {"X-Frame-Options", "DENY"},
                           {"Referrer-Policy", "no-referrer"}};  // a ?token= URL never leaves in a Referer
  headers.insert(headers.end(), extra.begin(), extra.end());
  return net::format_response(status, net::reason_phrase(status), headers, body);
}

std::string html_response(int status, std::string_view title, const std::string& body) {
  return respond(status, "text/html; charset=utf-8", page(title, body));
}

std::string link_to(const connection_view& v) {
  return "/connections/" + proto::percent_encode(v.entry.ns) + "/" + proto::percent_encode(v.entry.name);
}

std::string status_cell(const connection_view& v) {
  auto s = "<span class=\"" + html_escape(v.live.status) + "\">" + html_escape(v.live.status) + "</span>";
  if (!v.live.reason.empty()) s += "<div class=\"reason\">" + html_escape(v.live.reason) + "</div>";
  return s;
}

const char* add_form =
    "<h2>Enter manually</h2>"
    "<form method=\"post\" action=\"/connections\">"
    "<p>Paste the hybrid connection's gateway (listener) connection string:</p>"
    "<textarea name=\"connectionString\" required "
    "placeholder=\"Endpoint=sb://NAMESPACE.example.net/;SharedAccessKeyName=defaultListener;"
    "SharedAccessKey=...;EntityPath=NAME\"></textarea>"
    "<p><button type=\"submit\">Add</button></p></form>";

// A row's Restart and Remove buttons: same-origin POSTs (refused from any other site).
std::string row_actions(const connection_view& v) {
  auto action = [&](std::string_view verb, std::string_view label, std::string_view confirm) {
    return "<form method=\"post\" class=\"inline\" action=\"" + html_escape(link_to(v)) + "/" +
           std::string(verb) + "\"" +
           (confirm.empty() ? "" : " onsubmit=\"return confirm('" + std::string(confirm) + "')\"") +
           "><button type=\"submit\" name=\"" + std::string(verb) + "\">" + std::string(label) +
           "</button></form>";
  };
  return action("restart", "Restart", "") +
         action("remove", "Remove", "Remove this hybrid connection from hcm? Its tunnels end.");
}

// The connection table (the index page refreshes it every 5 s from /connections-table).
std::string connections_table(const std::vector<connection_view>& views) {
  if (views.empty()) return "<p>No hybrid connections are configured yet.</p>";
  std::string body =
      "<table><tr><th>Name</th><th>Namespace</th><th>Status</th><th>Endpoint</th><th>Listeners</th>"
      "<th>Active tunnels</th><th></th></tr>";
  for (auto& v : views) {
    body += "<tr data-name=\"" + html_escape(v.entry.name) + "\"><td>" + html_escape(v.entry.name) +
            "</td><td>" + html_escape(v.entry.ns) + "</td><td>" + status_cell(v) + "</td><td>" +
            html_escape(v.live.endpoint.empty() ? "-" : v.live.endpoint) + "</td><td>" +
            (v.live.listeners < 0 ? "-" : std::to_string(v.live.listeners)) + "</td><td>" +
            std::to_string(v.live.active_tunnels) + "</td><td><a href=\"" + html_escape(link_to(v)) +
            "\">details</a> " + row_actions(v) + "</td></tr>";
  }
  return body + "</table>";
}

// Replaces the table with a fresh one every 5 s (the page's own cookie authorizes the GET).
const char* refresh_script =
    "<script>setInterval(async()=>{try{const r=await fetch('/connections-table');"
    "if(r.ok)document.getElementById('connections').innerHTML=await r.text();}catch(e){}},5000);</script>";

std::string index_page(const std::vector<connection_view>& views, const std::string& config_dir) {
  return "<h1>Hybrid connections</h1><div id=\"connections\">" + connections_table(views) + "</div>" +
         select_section(config_dir) + add_form + refresh_script;
}

std::string details_page(const connection_view& v) {
  std::string body = "<h1>" + html_escape(v.entry.ns) + " / " + html_escape(v.entry.name) + "</h1>";
  if (!v.endpoint_warning.empty())
    body += "<div class=\"warning\">" + html_escape(v.endpoint_warning) + "</div>";
  auto row = [&](std::string_view k, const std::string& val, bool raw = false) {
    body += "<dt>" + std::string(k) + "</dt><dd>" + (raw ? val : html_escape(val)) + "</dd>";
  };
  body += "<dl>";
  row("Status", status_cell(v), true);
  row("Endpoint", v.live.endpoint.empty() ? "(unknown)" : v.live.endpoint);
  for (const auto& [label, value] : detail_fields(v)) row(label, value);
  body += "</dl><p><a href=\"/\">Back to the list</a></p>";
  return body;
}

// application/x-www-form-urlencoded: every value of `field`, decoded (a badly escaped one is "").
std::vector<std::string> form_values(std::string_view body, std::string_view field) {
  std::vector<std::string> values;
  while (!body.empty()) {
    auto amp = body.find('&');
    auto pair = body.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == field && eq != std::string_view::npos)
      values.push_back(proto::percent_decode(pair.substr(eq + 1), true).value_or(""));
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return values;
}

// The first value of `field` ("" when absent).
std::string form_field(std::string_view body, std::string_view field) {
  auto values = form_values(body, field);
  return values.empty() ? std::string() : values.front();
}

bool loopback_host(std::string_view host) {
  auto name = host.substr(0, host.rfind(':'));
  if (host.starts_with("[")) name = host.substr(0, host.find(']') + 1);
  return name == "127.0.0.1" || name == "localhost" || name == "[::1]";
}

// Defence in depth behind the token: a browser's cross-site request is refused even if it
// carried the cookie (SameSite=Strict already keeps it from doing so). Our pages' own forms come
// with `Origin: null` (their Referrer-Policy is no-referrer), so null counts only when the browser
// itself says same-origin in Sec-Fetch-Site, which no page can set.
bool same_origin(const net::http_request& r) {
  auto origin = r.header("Origin");
  auto site = r.header("Sec-Fetch-Site");
  if (origin.empty()) return site != "cross-site";
  if (origin == "null") return site == "same-origin";
  return origin == "http://" + std::string(r.header("Host"));
}

// ---- the UI token (see web_ui.hpp). Reading goes behind it too, not only changes: the pages
// show the namespaces, relay, rule names and private endpoints that connections.json (0600)
// keeps from other users of the host, and an open page would hand them out again. /metrics alone
// stays open for Prometheus, which holds no cookie; it shows counters, no endpoints or relays.

const std::string token_advice =
    "run `hcm ui-url` on this host (as the user the service runs as) and open the URL it prints, or send "
    "the token from CONFIG_DIR/ui-token as `Authorization: Bearer TOKEN`";

std::string cookie_name(const ui_backend& b) {
  return "hcm_token_" + std::to_string(b.port);
}

// The value of `name` in a Cookie header ("" when absent).
std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    auto pair = proto::trim_space(header.substr(0, semi));
    if (auto eq = pair.find('='); eq != std::string_view::npos && pair.substr(0, eq) == name)
      return pair.substr(eq + 1);
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return {};
}

// The token a request presents, from the Authorization header or else the cookie ("" = none).
std::string_view presented_token(const net::http_request& r, const ui_backend& b) {
  auto auth = r.header("Authorization");
  if (proto::istarts_with(auth, "Bearer ")) return proto::trim_space(auth.substr(7));
  return cookie_value(r.header("Cookie"), cookie_name(b));
}

// Why a request presenting `presented` may not see or change anything, as a response; nullopt
// when the token is good.
std::optional<std::string> refusal(std::string_view presented, const ui_backend& b, std::string_view method) {
  if (!presented.empty() && proto::constant_time_equals(presented, b.token)) return std::nullopt;
  int status = presented.empty() ? 401 : 403;
  auto text = std::string(presented.empty() ? "this hcm web UI needs its access token: "
                                            : "the access token does not match this hcm: ") +
              token_advice;
  net::header_list extra{{"WWW-Authenticate", "Bearer realm=\"hcm\""}};
  if (method == "GET")
    return respond(status, "text/html; charset=utf-8",
                   page("Access token needed", "<div class=\"error\">" + html_escape(text) + ".</div>"),
                   extra);
  return respond(status, "text/plain", text + "\n", extra);
}

// A visit with ?token=: a good token becomes the cookie and the browser goes on to the same path
// without it (out of the address bar and history); a bad one is refused like any request.
std::string token_visit(const net::http_request& r, const ui_backend& b, std::string_view path,
                        std::string_view token) {
  auto decoded = proto::percent_decode(token, true).value_or("");
  if (auto refused = refusal(decoded.empty() ? "-" : decoded, b, r.method)) return *refused;
  bool local_path = path.starts_with("/") && !path.starts_with("//");  // never a redirect elsewhere
  return respond(303, "text/plain", "",
                 {{"Location", local_path ? std::string(path) : "/"},
                  {"Set-Cookie", cookie_name(b) + "=" + b.token + "; Path=/; HttpOnly; SameSite=Strict"}});
}

// The value of `name` in the target's query ("" when absent; nullopt when there is no such key).
std::optional<std::string_view> query_value(std::string_view target, std::string_view name) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  auto query = target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// /connections/{ns}/{name}[/{verb}], decoded ("" for a part that is missing or badly escaped;
// all empty for a longer path).
struct connection_target {
  std::string ns, name, verb;
};
connection_target connection_path(std::string_view path) {
  auto rest = path.substr(std::string_view("/connections/").size());
  std::vector<std::string> parts;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    parts.push_back(proto::percent_decode(rest.substr(0, slash)).value_or(""));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (parts.size() > 3) return {};  // nothing is named so: 404
  parts.resize(3);
  return {parts[0], parts[1], parts[2]};
}

// 200 "ready" when every configured hybrid connection is Connected; else 503 with how many are
// not (no names: like /metrics, this page needs no token).
std::string readiness(const std::vector<connection_view>& views) {
  if (views.empty())
    return respond(503, "text/plain", "not ready: no hybrid connection is configured (hcm add)\n");
  auto down =
      std::count_if(views.begin(), views.end(), [](const auto& v) { return v.live.status != "Connected"; });
  if (down == 0) return respond(200, "text/plain", "ready\n");
  return respond(503, "text/plain",
                 "not ready: " + std::to_string(down) + " of " + std::to_string(views.size()) +
                     " hybrid connections are not Connected (hcm list says which and why)\n");
}

}  // namespace

net::http_handler make_ui_handler(ui_backend backend) {
  return [b = std::move(backend)](const net::http_request& r) -> net::task<std::string> {
    if (!loopback_host(r.header("Host")))
      co_return respond(421, "text/plain", "use http://127.0.0.1:PORT/\n");
    std::string_view path = r.target;
    path = path.substr(0, path.find('?'));
    if (r.method == "GET" && path == "/metrics")
      co_return respond(200, "text/plain; version=0.0.4; charset=utf-8", b.metrics());
    if (r.method == "GET" && path == "/healthz") co_return respond(200, "text/plain", "ok\n");
    if (r.method == "GET" && path == "/readyz") co_return readiness(b.views());
    if (auto token = query_value(r.target, "token"); token && r.method == "GET")
      co_return token_visit(r, b, path, *token);
    if (auto refused = refusal(presented_token(r, b), b, r.method)) co_return *refused;
    if (r.method != "GET" && !same_origin(r))
      co_return respond(403, "text/plain", "cross-origin changes are refused\n");
    if (r.method == "GET" && path == "/")
      co_return html_response(200, "Connections", index_page(b.views(), b.config_dir));
    if (r.method == "GET" && path == "/api/connections") {
      boost::json::array arr;
      for (auto& v : b.views()) arr.push_back(to_json(v));
      co_return respond(200, "application/json", boost::json::serialize(arr));
    }
    if (r.method == "GET" && path == "/connections-table")
      co_return respond(200, "text/html; charset=utf-8", connections_table(b.views()));
    if (path == "/select" && (r.method == "GET" || r.method == "POST")) {
      ui_page shown;  // g++ 12: no co_await inside ?: (net/types.hpp)
      if (r.method == "GET")
        shown = co_await select_page(b.config_dir, b.tls, b.plaintext);
      else
        shown = co_await add_selected(b.config_dir, b.tls, b.plaintext, form_values(r.body, "pick"));
      co_return html_response(shown.status, shown.title, shown.body);
    }
    if (r.method == "POST" && path.starts_with("/connections/")) {
      auto [ns, name, verb] = connection_path(path);
      bool done = verb == "remove"    ? remove_connection(b.config_dir, ns, name)
                  : verb == "restart" ? restart_connection(b.config_dir, ns, name)
                                      : false;
      if (verb != "remove" && verb != "restart") co_return respond(404, "text/plain", "not found\n");
      auto what = html_escape(ns + "/" + name);
      if (!done)
        co_return html_response(404, "Not found",
                                "<div class=\"error\">No connection " + what +
                                    " is configured.</div><p><a href=\"/\">Back</a></p>");
      co_return html_response(
          200, verb == "remove" ? "Removed" : "Restarting",
          "<div class=\"ok\">" +
              std::string(verb == "remove"
                              ? "Removed " + what + ": the service lets it go within a second."
                              : "Restarting " + what + ": the service reconnects it within a second.") +
              "</div><p><a href=\"/\">Back to the list</a></p>");
    }
    if (r.method == "GET" && path.starts_with("/connections/")) {
      auto [ns, name, verb] = connection_path(path);
      for (auto& v : b.views())
        if (v.entry.ns == ns && v.entry.name == name)
          co_return html_response(200, v.entry.name, details_page(v));
      co_return html_response(404, "Not found",
                              "<div class=\"error\">No connection " + html_escape(ns) + "/" +
                                  html_escape(name) + " is configured.</div><p><a href=\"/\">Back</a></p>");
    }
    if (r.method == "POST" && path == "/connections") {
      auto text = form_field(r.body, "connectionString");
      auto added = co_await add_connection(b.config_dir, text, b.tls, b.plaintext);
      if (!added.ok)
        co_return html_response(
            400, "Not added",
            "<div class=\"error\">Not added: " + html_escape(added.error) + "</div>" + add_form);
      std::string body = "<div class=\"ok\">" + std::string(added.replaced ? "Updated " : "Added ") +
                         html_escape(added.entry.ns + "/" + added.entry.name) +
                         ". The service attaches it within a second.</div>";
      for (auto& w : added.warnings) body += "<div class=\"warning\">" + html_escape(w) + "</div>";
      co_return html_response(200, "Added", body + "<p><a href=\"/\">Back to the list</a></p>");
    }
    co_return respond(r.method == "GET" || r.method == "POST" ? 404 : 405, "text/plain", "not found\n");
  };
}

}  // namespace hc::manager
