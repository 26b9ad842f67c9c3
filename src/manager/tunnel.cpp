// manager/tunnel: endpoint first, then accept or reject, then splice (see tunnel.hpp).
//
// Order of the two dials: the endpoint is dialed first and the rendezvous only after it
// answered. Dialing both at once would save one endpoint connect time (on a LAN well under a
// millisecond), but once the rendezvous upgrade has succeeded the sender already has its 101 and
// can no longer be told "502: endpoint unreachable" with a reason; it would see an opened and
// at once closed stream. Being able to reject with a reason is worth the sub-millisecond cost.
#include "manager/tunnel.hpp"

#include "manager/endpoint_dial.hpp"
#include "net/http.hpp"
#include "proto/encoding.hpp"
#include "proto/hc_address.hpp"
#include "util/log.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <optional>

namespace hc::manager {
namespace asio = net::asio;
using clock = std::chrono::steady_clock;

namespace {

// The subprotocol the sender offered first (as .NET and Node listeners choose), or "".
std::string first_subprotocol(const proto::header_list& headers) {
  auto offered = net::find_header(headers, "Sec-WebSocket-Protocol");
  auto first = offered.substr(0, offered.find(','));
  while (!first.empty() && first.front() == ' ') first.remove_prefix(1);
  while (!first.empty() && first.back() == ' ') first.remove_suffix(1);
  return std::string(first);
}

// The sender's status line carries a reject's reason: one short printable ASCII line.
std::string status_line_text(std::string text) {
  for (auto& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = ' ';
  if (text.size() > 200) text.resize(200);
  return text;
}

std::string reject_reason(const tunnel_context& ctx, const std::string& error) {
  return status_line_text("endpoint " + ctx.endpoint.to_string() + " unreachable from hcm on " + ctx.machine +
                          ": " + error);
}

// The relay host's parent domain ("servicebus.windows.net" for "ns.servicebus.windows.net"), or
// "" when it has none a sibling could share: a single label, a two-label name (no siblings
// under a public suffix), or an IP literal.
std::string_view parent_domain(std::string_view host) {
  bool ip_literal = host.find(':') != std::string_view::npos ||
                    host.find_first_not_of("0123456789.") == std::string_view::npos;
  auto dot = host.find('.');
  if (ip_literal || dot == std::string_view::npos) return {};
  auto parent = host.substr(dot + 1);
  return parent.find('.') == std::string_view::npos ? std::string_view{} : parent;
}

// What the setup leaves for the tunnel's life: its two legs.
struct open_legs {
  net::ws_connection relay_leg;
  net::byte_stream endpoint_leg;
  clock::time_point started;
};

// Endpoint first, then accept or reject. Nullopt, with `summary` for the log, when no tunnel
// opened. Its own coroutine: what only the setup needs (the accept message, the error texts) is
// not kept in a frame for the tunnel's whole life.
net::task<std::optional<open_legs>> set_up(tunnel_context& ctx, proto::accept_message accept,
                                           std::string& summary) {
  if (auto why = foreign_accept_address(ctx.client.connection(), accept.address); !why.empty()) {
    const auto& relay = ctx.client.connection();
    spdlog::warn("accept {} refused: {} (hcm dials only its relay {}:{})", accept.id, why, relay.host,
                 relay.port);
    ctx.metrics->tunnel_outcome("foreign_address");
    // Never silence: the reject goes to the relay's own host with the accept's path and query
    // (its rendezvous key), so a relay that did send it answers its sender at once.
    auto url = proto::parse_ws_url(accept.address);
    if (!url) {
      summary = "not dialed: " + why;
      co_return std::nullopt;
    }
    auto own = std::string(url->tls ? "wss://" : "ws://") + relay.host + ":" + std::to_string(relay.port) +
               url->target;
    auto rejected = co_await ctx.client.dial_address(
        proto::build_reject_url(own, 502, status_line_text("hcm refused: " + why)));
    summary = "not dialed: " + why + "; rejected through the relay (" +
              (rejected.status ? std::to_string(rejected.status) : rejected.error) + ")";
    co_return std::nullopt;
  }
  auto started = clock::now();
  auto dialed_endpoint = co_await dial_endpoint(ctx.endpoint.host, ctx.endpoint.port, ctx.allow_link_local);
  if (dialed_endpoint.ec) {
    auto reason = reject_reason(ctx, dialed_endpoint.error);
    ctx.stats->set_last_error(reason);
    ctx.metrics->tunnel_outcome("endpoint_unreachable");
    auto rejected = co_await ctx.client.dial_address(proto::build_reject_url(accept.address, 502, reason));
    // The relay answers a reject with 410 Gone (protocol doc §5.3).
    summary = "rejected with 502 (" + reason + "); relay answered " +
              (rejected.status ? std::to_string(rejected.status) : rejected.error);
    co_return std::nullopt;
  }
  net::header_list headers;
  if (auto sub = first_subprotocol(accept.connect_headers); !sub.empty())
    headers.emplace_back("Sec-WebSocket-Protocol", sub);
  auto rendezvous = co_await ctx.client.dial_address(accept.address, std::move(headers));
  if (!rendezvous) {
    auto why =
        rendezvous.status ? std::to_string(rendezvous.status) + " " + rendezvous.reason : rendezvous.error;
    ctx.stats->set_last_error("accept " + accept.id + " failed: " + why);
    ctx.metrics->tunnel_outcome("rendezvous_failed");
    summary = "rendezvous failed: " + why;
    co_return std::nullopt;
  }
  ctx.metrics->tunnel_setup(std::chrono::duration<double>(clock::now() - started).count());
  ctx.metrics->tunnel_outcome("ok");
  ctx.stats->tunnels_total.fetch_add(1);
  co_return open_legs{std::move(*rendezvous.connection),
                      net::byte_stream::plain(std::move(dialed_endpoint.socket)), started};
}

net::task<std::string> carry(tunnel_context& ctx, open_legs legs) {
  ctx.stats->active_tunnels.fetch_add(1);
  // Nothing to ask of a tunnel when hcm stops: its two sides end it, the drain only waits for it.
  auto ex = co_await asio::this_coro::executor;
  auto member = ctx.tunnels ? ctx.tunnels->join(ex, [] {}) : net::task_group::membership();
  auto result = co_await net::splice(legs.relay_leg, legs.endpoint_leg, ctx.stats->bytes,
                                     net::tunnel_side::agent_side, ctx.keepalive);
  ctx.stats->active_tunnels.fetch_sub(1);
  legs.endpoint_leg.close();
  legs.relay_leg.stream().close();
  auto secs = std::chrono::duration<double>(clock::now() - legs.started).count();
  co_return "ended after " + std::to_string(secs).substr(0, 6) + " s: app->endpoint " +
      std::string(net::to_string(result.app_to_agent)) + ", endpoint->app " +
      std::string(net::to_string(result.agent_to_app)) +
      (result.error ? " (" + result.error.message() + ")" : "");
}

// Returns a one-line summary for the completion handler's log line.
net::task<std::string> run_tunnel(tunnel_context ctx, proto::accept_message accept) {
  std::string summary;
  auto legs = co_await set_up(ctx, std::move(accept), summary);
  if (!legs) co_return summary;
  auto carried = co_await carry(ctx, std::move(*legs));
  co_return carried;
}

}  // namespace

std::string foreign_accept_address(const proto::connection_string& relay, std::string_view address) {
  auto url = proto::parse_ws_url(address);
  if (!url) return "the accept address is not a ws:// or wss:// URL";
  auto shown = proto::quote_for_message(url->host, 100);
  if (proto::iequals(url->host, relay.host)) return {};  // this relay, or a node on its own port
  auto parent = parent_domain(relay.host);
  const auto& host = url->host;
  bool sibling = !parent.empty() && host.size() > parent.size() + 1 &&
                 host[host.size() - parent.size() - 1] == '.' &&
                 proto::iequals(std::string_view(host).substr(host.size() - parent.size()), parent);
  if (sibling && url->port == relay.port) return {};  // a gateway or node host beside the relay's
  return "the accept address names " + shown + ":" + std::to_string(url->port) +
         ", which is neither the relay " + relay.host + " nor a host under " +
         (parent.empty() ? relay.host : std::string(parent)) + " on port " + std::to_string(relay.port);
}

void spawn_tunnel(asio::any_io_executor io, tunnel_context ctx, proto::accept_message accept) {
  std::string id = accept.id;
  auto status = ctx.stats->snapshot();
  auto strand = asio::make_strand(io);
  asio::co_spawn(strand, run_tunnel(std::move(ctx), std::move(accept)),
                 [id, ns = status.ns, name = status.name](std::exception_ptr e, std::string summary) {
                   const util::log_fields about{id, ns, name, {}};
                   if (!e) {
                     util::log_event(spdlog::level::info, about, "tunnel {} [{}] {}", id, name, summary);
                     return;
                   }
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     util::log_event(spdlog::level::err, about, "tunnel {} [{}] failed: {}", id, name,
                                     ex.what());
                   }
                 });
}

}  // namespace hc::manager
