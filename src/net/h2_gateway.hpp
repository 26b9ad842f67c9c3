// net/h2_gateway: a server's HTTP/2 stream seen as an HTTP/1.1 connection carrying one request,
// so the relay's request handling (routing, gestures, relayed requests, its own pages) serves
// both protocols with one code path. Reading gives the request head in HTTP/1.1 form (an
// extended CONNECT with :protocol websocket, RFC 8441, becomes a WebSocket upgrade; :authority
// the Host; a body of unknown length chunked), then the body or the WebSocket frames. Writing
// takes the HTTP/1.1 response the handler writes and sends its head as HEADERS (101 becomes 200,
// connection-level fields dropped, a chunked body unchunked) and the rest as DATA.
#pragma once
#include "net/h2_session.hpp"

namespace hc::net {

// `stream`: a server stream whose request head arrived (h2_session::next_stream). A request the
// gateway cannot express (CONNECT without :protocol websocket, no :path) is answered here with
// its status and a sentence, and the byte_stream reads eof.
byte_stream as_http1_exchange(h2_stream stream);

}  // namespace hc::net
