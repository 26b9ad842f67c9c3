// relay/http_mode/relayed_request: an HTTP request to a hybrid connection's path, relayed to one
// of its listeners and answered by it (protocol doc §6). Runs in the caller's connection session
// (relay/connection.cpp) once the routing rule (relay/http_routes) has said the request is data.
#pragma once
#include "net/http.hpp"
#include "proto/hc_address.hpp"
#include "relay/context.hpp"

#include <memory>
#include <string>

namespace hc::relay {

// The caller's request as connection.cpp read it: the head is read, the body not yet.
struct relayed_call {
  net::byte_stream& stream;
  std::string& leftover;
  net::http_request& request;
  net::request_reader& reader;
  std::shared_ptr<const namespace_entry> ns;
  proto::hc_target target;
  std::shared_ptr<const hybrid_connection> entity;  // the one target names (resolved by the routing rule)
  std::string tracking_id;
  net::asio::ip::address source;
  bool last_on_connection = false;  // the connection's last allowed request: answered with Connection: close
};

// Answers the caller (the listener's response, or the relay's error status with a sentence).
// True when the caller's connection may carry another request.
net::task<bool> relay_http_request(relay_context& ctx, relayed_call& call);

}  // namespace hc::relay
