// relay/connection: serve_connection, the life of one accepted TCP connection up to the point
// where it becomes a gesture: TLS handshake and request head under one deadline
// (limits::handshake_timeout), namespace by Host header, then either a hybrid-connection
// WebSocket gesture (gestures.hpp) or plain HTTP (http_routes.hpp, keep-alive loop: idle timeout
// and requests per connection from relay_settings). A source that has used up its
// failed-authentication allowance gets 429 here, before each request is looked at.
#pragma once
#include "net/tls.hpp"
#include "relay/context.hpp"
#include "relay/http_routes.hpp"

namespace hc::relay {

// `tls` is null with --insecure-plaintext. `client` is the peer: the socket's, or the one a
// trusted load balancer named (--proxy-protocol). `handshake` is the source's handshake place
// (source_limits), given back once the request head is read; `connection` its open-connection
// place, held until the socket closes; `role` what the address it came to serves
// (http_routes.hpp). Runs on the connection's own strand.
net::task<> serve_connection(relay_context& ctx, net::tls_context tls, net::tcp::socket socket,
                             net::tcp::endpoint client, source_limits::slot handshake,
                             source_limits::slot connection, port_role role);

}  // namespace hc::relay
