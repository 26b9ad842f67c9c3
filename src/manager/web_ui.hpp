// manager/web_ui: the local web UI (what Microsoft's HCM window shows) and /metrics, served by
// net::http_server on 127.0.0.1: GET / (table), GET /connections/NS/NAME (details), POST
// /connections ("Enter manually": form field connectionString, same checks as `hcm add`), GET and
// POST /select ("Select" after `hcm login`, manager/select_page), GET
// /api/connections (JSON), GET /metrics. Everything but /metrics needs the UI token
// (manager/ui_token): a visit to any page with ?token=T sets it as an HttpOnly, SameSite=Strict
// cookie and redirects to the page without it; scripts send `Authorization: Bearer T`. Requests
// whose Host is not a loopback name, and changes from another origin, are refused as well (DNS
// rebinding, cross-site form posts). The handler runs on each HTTP connection's strand; the
// backend functions must be thread-safe.
#pragma once
#include "manager/views.hpp"
#include "net/http_server.hpp"
#include "net/tls.hpp"

#include <functional>

namespace hc::manager {

struct ui_backend {
  std::function<std::vector<connection_view>()> views;
  std::function<std::string()> metrics;
  std::string config_dir;
  net::tls_context tls;
  bool plaintext = false;
  std::string token;   // the UI token (64 hex digits), compared in constant time
  std::uint16_t port;  // the UI's port: the cookie's name carries it (cookies ignore ports)
};

net::http_handler make_ui_handler(ui_backend backend);

// HTML text escaping.
std::string html_escape(std::string_view text);

}  // namespace hc::manager
