// relay/accept: run_accept, the listener's answer to an `accept` (protocol doc §5.2,
// §5.3): it dials the one-shot address, which we claim from the rendezvous table exactly once.
// A plain upgrade accepts: the upgraded-but-unanswered connection goes to the waiting sender
// session, which answers both legs. With sb-hc-statusCode (or Node's statusCode) it rejects:
// the listener gets 410 Gone (success) and the sender gets that status and description.
#include "proto/encoding.hpp"
#include "relay/gestures.hpp"
#include "relay/refuse.hpp"

#include <spdlog/spdlog.h>

namespace hc::relay {
namespace {

std::string first_token(std::string_view list) {
  auto item = list.substr(0, list.find(','));
  while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
  while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
  return std::string(item);
}

rendezvous_outcome rejection(int status, std::string description) {
  rendezvous_outcome r;
  r.reject_status = status;
  r.reject_description = std::move(description);
  return r;
}

}  // namespace

std::string rendezvous_address(const relay_context& ctx, std::string_view ns_host,
                               const proto::hc_target& target, proto::hc_action action, std::string_view id,
                               std::string_view key) {
  std::string_view host = ctx.advertise_host.empty() ? ns_host : std::string_view(ctx.advertise_host);
  auto address = proto::build_rendezvous_address(host, ctx.advertise_port, target.raw_path, target.app_query,
                                                 action, id, key);
  if (!ctx.tls) address.replace(0, 3, "ws");  // wss:// -> ws:// with --insecure-plaintext
  return address;
}

net::task<> run_accept(relay_context& ctx, incoming in) {
  // On a gateway host in.ns is null until the claimed sender names its namespace.
  std::string shown_host = in.ns ? in.ns->host() : ctx.advertise_host;
  auto invalid = proto::error::forbidden(
      "The accept address is not valid: it was already used or has expired (an accept address works once, "
      "within 30 "
      "seconds of the accept message)");
  if (in.target.rendezvous.empty()) {
    ctx.sources.record_failure(in.stream.remote_endpoint().address());  // guessing addresses costs allowance
    co_await refuse(in.stream, invalid, shown_host, in.target.path, in.tracking_id);
    co_return;
  }
  auto pending = ctx.rendezvous.take(in.target.rendezvous);
  if (!pending) {
    // A listener answering after its sender went elsewhere is late, not guessing addresses.
    if (!ctx.rendezvous.was_withdrawn(in.target.rendezvous))
      ctx.sources.record_failure(in.stream.remote_endpoint().address());
    co_await refuse(in.stream, invalid, shown_host, in.target.path, in.tracking_id);
    co_return;
  }
  auto ns = in.ns ? in.ns : ctx.entities.by_name(pending->namespace_name());
  if (!ns || ns->record.name != pending->namespace_name()) {
    pending->deliver(rejection(502, "The listener answered on an address for another namespace"));
    co_await refuse(in.stream, invalid, shown_host, in.target.path, in.tracking_id);
    co_return;
  }
  auto resolved = catalog::resolve(*ns, in.target.path);
  if (!resolved || !proto::iequals(resolved->entity->name(), pending->entity_path())) {
    pending->deliver(rejection(502, "The listener answered on an address for another hybrid connection"));
    co_await refuse(in.stream, invalid, shown_host, in.target.path, in.tracking_id);
    co_return;
  }
  if (in.target.reject_status != 0) {
    auto gone = net::format_response(410, "Gone", {{"Connection", "close"}});
    co_await in.stream.write(net::asio::buffer(gone));
    in.stream.close();
    pending->deliver(rejection(in.target.reject_status, in.target.reject_description));
    co_return;
  }
  rendezvous_outcome accepted;  // connection.cpp has checked the upgrade and its key
  accepted.listener_key = std::string(in.request.header("Sec-WebSocket-Key"));
  accepted.subprotocol = first_token(in.request.header("Sec-WebSocket-Protocol"));
  accepted.listener_leg.emplace(std::move(in.stream), net::ws_role::server, std::move(in.leftover));
  pending->deliver(std::move(accepted));
}

}  // namespace hc::relay
