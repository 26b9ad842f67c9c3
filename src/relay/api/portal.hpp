// relay/api/portal: the web portal's static files (web/portal/*, embedded at build time) served by
// hcrelay at / and /portal/*. The pages sign in with a Manage key the user pastes, mint SAS
// tokens in the browser (WebCrypto HMAC-SHA256) and call /api/v1; the server never sees the key
// and sets no cookie. Responses carry a strict Content-Security-Policy (no inline script, no
// third-party origin). Pure: returns the response text, or nothing for other paths.
#pragma once
#include "net/http.hpp"

#include <optional>
#include <string>

namespace hc::relay {

// `path`: the request's path without the /$admin prefix (http_routes.cpp strips it).
std::optional<std::string> portal_response(const net::http_request& request, std::string_view path);

}  // namespace hc::relay
