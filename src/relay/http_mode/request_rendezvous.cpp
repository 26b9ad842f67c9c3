// relay/http_mode/request_rendezvous: run_request_rendezvous, the listener dialing the address of
// an HTTP-mode request in flight (protocol doc §6.2, §6.3): to fetch a request that was too large
// for its control channel, or to answer over a connection of its own (a response over 64 KiB).
// The address's key is claimed exactly once; the upgraded connection, not yet answered, goes to
// the caller's session, which sends the 101 and carries the exchange on it.
#include "proto/encoding.hpp"
#include "relay/gestures.hpp"
#include "relay/http_mode/request_exchange.hpp"
#include "relay/refuse.hpp"

namespace hc::relay {

net::task<> run_request_rendezvous(relay_context& ctx, incoming in) {
  // On a gateway host in.ns is null until the claimed request names its namespace.
  std::string shown_host = in.ns ? in.ns->host() : ctx.advertise_host;
  const auto invalid = proto::error::forbidden(
      "The request address is not valid: it was already used, or its request has ended (a request address "
      "works once, while its request waits for the listener)");
  auto exchange = in.target.rendezvous.empty() ? nullptr : ctx.requests.take(in.target.rendezvous);
  auto ns = !exchange ? nullptr : in.ns ? in.ns : ctx.entities.by_name(exchange->namespace_name());
  auto resolved = ns ? catalog::resolve(*ns, in.target.path) : std::nullopt;
  bool same_entity = exchange && ns && ns->record.name == exchange->namespace_name() && resolved &&
                     proto::iequals(resolved->entity->name(), exchange->entity_path());
  if (!same_entity) {
    // Guessing addresses costs allowance; a listener dialing late (its request ended) does not.
    if (!exchange && !ctx.requests.was_used(in.target.rendezvous))
      ctx.sources.record_failure(in.stream.remote_endpoint().address());
    if (exchange) {
      exchange_event lost;
      lost.text = "The listener answered on an address for another hybrid connection";
      exchange->deliver(std::move(lost));
    }
    co_await refuse(in.stream, invalid, shown_host, in.target.path, in.tracking_id);
    co_return;
  }
  exchange_event dialed;
  dialed.what = exchange_event::kind::rendezvous;
  dialed.leg_key = std::string(in.request.header("Sec-WebSocket-Key"));
  dialed.leg.emplace(std::move(in.stream), net::ws_role::server, std::move(in.leftover));
  // When the caller's session ended between the claim and now, the leg closes with the event.
  exchange->deliver(std::move(dialed));
}

}  // namespace hc::relay
