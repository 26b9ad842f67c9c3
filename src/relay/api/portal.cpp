// relay/api/portal: the embedded portal files (see portal.hpp).
#include "relay/api/portal.hpp"

#include <string_view>

namespace hc::web {
extern const std::string_view portal_index_html;  // generated from web/portal/*
extern const std::string_view portal_app_js;
extern const std::string_view portal_style_css;
}  // namespace hc::web

namespace hc::relay {

std::optional<std::string> portal_response(const net::http_request& request, std::string_view path) {
  std::string_view body, type;
  if (path == "/" || path == "/portal" || path == "/portal/") {
    body = web::portal_index_html;
    type = "text/html; charset=utf-8";
  } else if (path == "/portal/app.js") {
    body = web::portal_app_js;
    type = "text/javascript; charset=utf-8";
  } else if (path == "/portal/style.css") {
    body = web::portal_style_css;
    type = "text/css; charset=utf-8";
  } else {
    return std::nullopt;
  }
  if (request.method != "GET" && request.method != "HEAD")
    return net::format_response(405, {}, {{"Allow", "GET"}}, "the portal's files take GET\n");
  return net::format_response(
      200, {},
      {{"Content-Type", std::string(type)},
       {"Cache-Control", "no-cache"},
       {"X-Content-Type-Options", "nosniff"},
       {"X-Frame-Options", "DENY"},
       {"Referrer-Policy", "no-referrer"},
       {"Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"}},
      body);
}

}  // namespace hc::relay
