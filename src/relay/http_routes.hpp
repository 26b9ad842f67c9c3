// relay/http_routes: requests that are not WebSocket gestures: the runtime-info GET (protocol
// doc §7), the management API (/api/v1, management_api.cpp), /metrics and /healthz. Each
// handler returns the full response text; connection.cpp writes it.
#pragma once
#include "net/http.hpp"
#include "relay/context.hpp"

#include <string>

namespace hc::relay {

// `ns` may be null when the Host header names no namespace (only /metrics and /healthz work then).
net::task<std::string> handle_http(relay_context& ctx, const net::http_request& request,
                                   std::shared_ptr<const namespace_entry> ns, const std::string& tracking_id);

net::task<std::string> handle_management(relay_context& ctx, const net::http_request& request,
                                         const namespace_entry& ns, const std::string& tracking_id);

}  // namespace hc::relay
