// relay/gestures: the entry points for each hybrid-connection gesture once connection.cpp has
// read the upgrade request and resolved the namespace: listen (listen.cpp, the control channel),
// connect (connect.cpp, a sender), accept/reject (accept.cpp, the listener's rendezvous), an
// HTTP-mode request's rendezvous (http_mode/request_rendezvous.cpp). Each
// takes ownership of the connection and runs on the connection's strand until it ends. The
// error answer they share is refuse.hpp.
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
// An HTTP-mode request's rendezvous (sb-hc-action=request): the listener dials the address of a
// request in flight (relay/http_mode/request_rendezvous.cpp).
net::task<> run_request_rendezvous(relay_context& ctx, incoming in);

// The one-shot address of an accept or a request: this node (--advertise), by default the
// namespace's host; ws:// with --insecure-plaintext.
std::string rendezvous_address(const relay_context& ctx, std::string_view ns_host,
                               const proto::hc_target& target, proto::hc_action action, std::string_view id,
                               std::string_view key);

// Called with a namespace before and after every catalog change: listeners of a hybrid
// connection that is gone get 1001; listeners whose token the current keys and rights no longer
// accept (a regenerated key, a deleted rule, Listen removed) get 1008. Any thread.
void recheck_listeners(const namespace_entry* before, const namespace_entry& after,
                       std::chrono::seconds grace);

}  // namespace hc::relay
