// relay/gestures: the entry points for each hybrid-connection gesture once connection.cpp has
// read the upgrade request and resolved the namespace: listen (control channel), connect
// (sender), accept/reject (the listener's rendezvous). Each takes ownership of the connection
// and runs on the connection's strand until it ends. Also the error answer they all share.
#pragma once
#include "net/http.hpp"
#include "proto/hc_address.hpp"
#include "relay/context.hpp"

#include <memory>
#include <string>

namespace hc::relay {

struct incoming {
  net::byte_stream stream;
  std::string leftover;  // bytes read past the request head (first frames)
  net::http_request request;
  std::shared_ptr<const namespace_entry> ns;
  proto::hc_target target;
  std::string tracking_id;
};

net::task<> run_listener(relay_context& ctx, incoming in);
net::task<> run_sender(relay_context& ctx, incoming in);
net::task<> run_accept(relay_context& ctx, incoming in);

// Called with a namespace before and after every catalog change: listeners of a hybrid
// connection that is gone get 1001; listeners whose token the current keys and rights no longer
// accept (a regenerated key, a deleted rule, Listen removed) get 1008. Any thread.
void recheck_listeners(const namespace_entry* before, const namespace_entry& after);

// "HTTP/1.1 {status} {description}" with the Azure-style tracking description as the reason
// phrase and the body, and Connection: close.
std::string error_response(const proto::error& e, std::string_view ns_host, std::string_view path,
                           std::string_view tracking_id);
// Writes error_response and closes the stream.
net::task<> refuse(net::byte_stream& stream, const proto::error& e, std::string_view ns_host,
                   std::string_view path, std::string_view tracking_id);

// A reason phrase safe for a status line: one line of printable ASCII, at most 512 bytes.
std::string status_line_text(std::string_view text);

}  // namespace hc::relay
