// relay/connection: serve_connection, the life of one accepted TCP connection up to the point
// where it becomes a gesture: TLS handshake and request head under one deadline
// (limits::handshake_timeout), namespace by Host header, then either a hybrid-connection
// WebSocket gesture (gestures.hpp) or plain HTTP (http_routes.hpp, keep-alive loop).
#pragma once
#include "net/tls.hpp"
#include "relay/context.hpp"

namespace hc::relay {

// `tls` is null with --insecure-plaintext. Runs on the connection's own strand.
net::task<> serve_connection(relay_context& ctx, net::tls_context tls, net::tcp::socket socket);

}  // namespace hc::relay
