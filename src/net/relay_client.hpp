// net/relay_client: what an agent (hcm, hcconnect, test peers) needs to talk to a relay as a
// client of the published protocol, given a connection string: SAS tokens for the entity
// (audience http://host/entity, port dropped as .NET does), the listen / connect URLs, dialing
// them, and the runtime-info GET that yields the hybrid connection's endpoint metadata.
// Works the same against hcrelay and Azure Relay. Stateless apart from the TLS context.
#pragma once
#include "net/limits.hpp"
#include "net/ws_client.hpp"
#include "proto/connection_string.hpp"
#include "proto/runtime_info.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace hc::net {

class relay_client {
 public:
  // `plaintext`: ws:// and http:// (a relay run with --insecure-plaintext).
  relay_client(proto::connection_string cs, tls_context tls, bool plaintext = false);

  const proto::connection_string& connection() const { return cs_; }
  const std::string& entity() const { return cs_.entity_path; }
  // A token valid for `lifetime`, or the connection string's own SharedAccessSignature.
  std::string token(std::chrono::seconds lifetime = std::chrono::hours(1)) const;
  std::int64_t token_expiry(std::chrono::seconds lifetime = std::chrono::hours(1)) const;

  std::string listen_url(std::string_view id = {}) const;
  std::string connect_url(std::string_view id = {}) const;

  // Opens the listener control channel (token in the ServiceBusAuthorization header, valid for
  // `token_lifetime`).
  task<dial_result> listen(std::string_view id = {}, std::string_view user_agent = "hcrelay",
                           std::chrono::seconds token_lifetime = std::chrono::hours(1)) const;
  // Opens a sender connection; extra headers go to the listener in connectHeaders.
  task<dial_result> connect(header_list extra = {}, std::string_view id = {}) const;
  // Dials an accept address as given (no token: the address is the capability).
  task<dial_result> dial_address(const std::string& address, header_list extra = {}) const;

  // For the program that makes tunnels (call once; copies of this client share what it sets up):
  // every dial goes on a stream of the node's HTTP/2 connections (net/h2_pool, up to
  // `http2_connections` of them, shared with the process's other clients of the node; 0: never),
  // or, with a relay that speaks only HTTP/1.1, starts on one of limits::warm_pool_size TCP+TLS
  // connections opened ahead of time. stop_warm() ends the warm connections.
  void keep_warm(asio::any_io_executor ex, std::size_t http2_connections = limits::h2_pool_connections);
  void stop_warm() const;

  struct runtime_info_result {
    std::optional<proto::runtime_info> info;
    int status = 0;     // HTTP status (0: no answer)
    std::string error;  // in words, when no info
  };
  task<runtime_info_result> runtime_info() const;

 private:
  proto::connection_string cs_;
  // Dials with a pre-opened connection when the pool has one for the URL's host and port; a
  // pre-opened connection the relay has meanwhile dropped costs one fresh retry, not a failure.
  task<dial_result> dial(dial_request request) const;

  tls_context tls_;
  bool plaintext_;
  struct links;  // the HTTP/2 pool and the warm connections, shared by copies
  std::shared_ptr<links> links_;
};

}  // namespace hc::net
