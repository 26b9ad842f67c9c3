// manager/web_ui: the local web UI (what Microsoft's HCM window shows) and /metrics, served by
// net::http_server on 127.0.0.1: GET / (table), GET /connections/NS/NAME (details), POST /connections ("Enter
// manually": form field connectionString, same checks as `hcm add`), GET /api/connections
// (JSON), GET /metrics. Requests whose Host is not a loopback name, and POSTs from another
// origin, are refused (DNS rebinding and cross-site form posts could otherwise add a relay).
// The handler runs on each HTTP connection's strand; the backend functions must be thread-safe.
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
};

net::http_handler make_ui_handler(ui_backend backend);

// HTML text escaping.
std::string html_escape(std::string_view text);

}  // namespace hc::manager
