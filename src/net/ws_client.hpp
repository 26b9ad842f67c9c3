// net/ws_client: dialing out. One function opens TCP (TCP_NODELAY), TLS (SNI, host-name
// verification) and the WebSocket upgrade under one deadline, and reports failures as values a
// person can read ("TLS handshake with relay.example:443 failed: certificate verify failed").
// Also a plain HTTPS request for hcctl and hcm's runtime-info GET. Used by hcm, hcconnect,
// hcctl and the tests; the relay itself never dials.
#pragma once
#include "net/http.hpp"
#include "net/tls.hpp"
#include "net/websocket.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace hc::net {

struct dial_request {
  std::string url;      // wss://host[:port]/path?query or ws://...
  header_list headers;  // extra request headers (ServiceBusAuthorization, Sec-WebSocket-Protocol, ...)
  tls_context tls;      // required for wss:// and https://
  std::chrono::steady_clock::duration timeout = std::chrono::seconds(20);
};

struct dial_result {
  std::optional<ws_connection> connection;  // set on 101
  int status = 0;                           // HTTP status (101 on success, 0 when none arrived)
  std::string reason;                       // the status line's reason phrase (Azure puts details here)
  header_list headers;                      // response headers
  std::string error;                        // what went wrong, in words, when no connection
  explicit operator bool() const { return connection.has_value(); }
};

// `preopened`: a connection to the URL's host and port already opened (warm_pool): no connect,
// no handshake.
task<dial_result> dial_websocket(dial_request request, std::optional<byte_stream> preopened = {});

// TCP (directly or through the egress proxy) and TLS to host:port within `limit`, offering the
// ALPN list `alpn` (wire form, net/tls.hpp; empty: none). nullopt with `error` naming the hop that
// failed.
task<std::optional<byte_stream>> open_tls_connection(const std::string& host, std::uint16_t port,
                                                     const tls_context& tls,
                                                     std::chrono::steady_clock::duration limit,
                                                     std::string_view alpn, std::string& error);

struct http_call {
  std::string method = "GET";
  std::string url;  // https://host[:port]/target or http://...
  header_list headers;
  std::string body;
  tls_context tls;
  std::chrono::steady_clock::duration timeout = std::chrono::seconds(20);
};

struct http_call_result {
  std::optional<http_response> response;
  std::string error;  // transport failure in words when there is no response
};

task<http_call_result> call_http(http_call call);

// Connects TCP to host:port (all resolved addresses in turn) with TCP_NODELAY set. With
// `allowed`, only the addresses it accepts are tried (checked after resolving, before any
// connect); when it accepts none the result is asio::error::access_denied.
using address_filter = std::function<bool(const asio::ip::address&)>;
task<std::pair<error_code, tcp::socket>> connect_tcp(const std::string& host, std::uint16_t port,
                                                     const address_filter& allowed = {});

}  // namespace hc::net
