// relay/http_routes: the routing rule for requests that are not WebSocket gestures (relayed_target
// picks the ones that are data for a hybrid connection, relay/http_mode carries them), and the
// relay's own answers: the runtime-info GET (protocol doc §7), the management API (/api/v1,
// api/router.cpp), /metrics and /healthz. Each handler returns the full response text;
// connection.cpp writes it. A body is read only by a
// route that takes one, after the caller is authorized (x.read_body); a failed authorization on
// any route counts against the source (source_limits).
#pragma once
#include "net/http.hpp"
#include "proto/hc_address.hpp"
#include "relay/context.hpp"

#include <functional>
#include <optional>
#include <string>

namespace hc::relay {

// What a listening address serves: everything (one address, the default); the public part only
// (gestures, relayed requests, the runtime-info GET, /healthz for load balancers) when
// --admin-listen took the rest; or the relay's own pages only (management API, portal, /metrics,
// /healthz) on the --admin-listen address.
enum class port_role { everything, public_only, admin_only };

// The answer (404, naming the address that serves it) for a request `role` does not serve, once
// the request is known not to be a gesture or a relayed request (public_only), or whatever it is
// (admin_only: gestures and relayed requests too); nullopt when it is served here.
std::optional<std::string> refused_by_role(port_role role, const net::http_request& request, bool relayed);

// Reads the request's body into request.body, at most `max_bytes`; the error (413, 400) when it
// cannot, or when the connection is lost.
using body_reader = std::function<net::task<std::optional<proto::error>>(std::size_t max_bytes)>;

// One request and what the connection knows about it.
struct http_exchange {
  const net::http_request& request;           // its body is empty until read_body
  std::shared_ptr<const namespace_entry> ns;  // null when the Host header names no namespace
  std::string tracking_id;
  net::asio::ip::address source;  // the client's address (source_limits)
  body_reader read_body;
};

// "No namespace is served at host ...": names only the host asked for, never the ones served.
std::string no_namespace_text(std::string_view host);

// The routing rule's data branch: the parsed target and the hybrid connection when the request
// goes to one of its listeners; nullopt when it is the relay's (handle_http answers).
struct relayed_route {
  proto::hc_target target;
  std::shared_ptr<const hybrid_connection> entity;
};
std::optional<relayed_route> relayed_target(const net::http_request& request, const namespace_entry* ns);

// Without a namespace only /metrics and /healthz work.
net::task<std::string> handle_http(relay_context& ctx, http_exchange& x);
// x.ns is not null; `path` is the request's path without the /$admin prefix (/api/v1/...).
net::task<std::string> handle_management(relay_context& ctx, http_exchange& x, std::string_view path);

}  // namespace hc::relay
