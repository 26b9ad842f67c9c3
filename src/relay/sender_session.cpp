// relay/sender_session: run_sender, one sender's connect gesture (protocol doc §4, §5): authorize
// (Send, unless the entity lets senders in without a token), pick a listener, send it an
// `accept` naming a one-shot rendezvous address, hold the sender's upgrade until the listener
// accepts (101 to both, then the tunnel), rejects (its status to the sender) or the 30 s
// window ends (504). Once open, the tunnel gets a coroutine of its own (carry_tunnel) that owns
// both legs for the tunnel's whole life.
#include "net/limits.hpp"
#include "net/log.hpp"
#include "net/pump.hpp"
#include "proto/control_messages.hpp"
#include "proto/encoding.hpp"
#include "relay/authorizer.hpp"
#include "relay/gestures.hpp"
#include "relay/listener_registry.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

namespace hc::relay {
namespace {

std::vector<std::string> id_list(std::string_view header) {
  std::vector<std::string> ids;
  std::size_t start = 0;
  while (start <= header.size()) {
    auto comma = header.find(',', start);
    auto item =
        header.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) ids.emplace_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return ids;
}

// Every header the sender supplied, minus the relay's own authorization headers.
proto::header_list connect_headers(const net::http_request& request) {
  proto::header_list out;
  for (const auto& [k, v] : request.headers)
    if (!is_relay_auth_header(k)) out.emplace_back(k, v);
  return out;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Counts a tunnel, pending or open, in its listener's load (listener choice) until destroyed.
class listener_load {
 public:
  explicit listener_load(std::shared_ptr<listener> l) : listener_(std::move(l)) {
    listener_->active_tunnels.fetch_add(1);
  }
  listener_load(listener_load&&) noexcept = default;  // the moved-from one holds nothing
  ~listener_load() {
    if (listener_) listener_->active_tunnels.fetch_sub(1);
  }
  const listener& get() const { return *listener_; }

 private:
  std::shared_ptr<listener> listener_;
};

// An accepted tunnel. It is carried by a coroutine of its own so that the frames of the request
// handling and of the connect gesture (several KiB each) are gone while the tunnel lives.
struct open_tunnel {
  net::ws_connection app_leg;
  net::ws_connection agent_leg;
  std::string id;
  std::string entity;
  listener_load load;
};

net::task<> carry_tunnel(relay_context& ctx, open_tunnel t) {
  net::tunnel_counters counters;
  auto result = co_await net::relay_tunnel(t.app_leg, t.agent_leg, counters);
  t.app_leg.stream().close();
  t.agent_leg.stream().close();
  ctx.metrics.tunnel_ended(counters.app_to_agent.load(), counters.agent_to_app.load());
  spdlog::info("tunnel closed: {} hc={} app->agent {} ({} B) agent->app {} ({} B){}", t.id, t.entity,
               net::to_string(result.app_to_agent), counters.app_to_agent.load(),
               net::to_string(result.agent_to_app), counters.agent_to_app.load(),
               result.error ? ": " + result.error.message() : "");
}

}  // namespace

net::task<> run_sender(relay_context& ctx, incoming in) {
  auto started = std::chrono::steady_clock::now();
  const auto& ns = *in.ns;
  auto resolved = catalog::resolve(ns, in.target.path);
  if (!resolved) {
    ctx.metrics.sender_outcome("not_found");
    co_await refuse(in.stream, proto::error::not_found("Endpoint does not exist"), ns.host(), in.target.path,
                    in.tracking_id);
    co_return;
  }
  auto entity = resolved->entity;
  if (entity->record.requires_client_authorization) {
    auto auth = authorize(ns, entity.get(), in.target.path, proto::rights::send,
                          token_from(in.request, in.target.token), unix_now());
    if (!auth) {
      ctx.metrics.auth_failure("connect", auth.error().status);
      ctx.sources.record_failure(in.stream.remote_endpoint().address());
      ctx.metrics.sender_outcome(auth.error().status == 401 ? "unauthorized" : "forbidden");
      co_await refuse(in.stream, auth.error(), ns.host(), in.target.path, in.tracking_id);
      co_return;
    }
  }
  auto sender_key = std::string(in.request.header("Sec-WebSocket-Key"));
  if (sender_key.empty() || in.request.header("Sec-WebSocket-Version") != "13") {
    ctx.metrics.sender_outcome("bad_request");
    co_await refuse(in.stream,
                    proto::error::bad_request(
                        "The upgrade request needs Sec-WebSocket-Key and Sec-WebSocket-Version: 13"),
                    ns.host(), in.target.path, in.tracking_id);
    co_return;
  }
  auto allowed = id_list(in.request.header("Microsoft-Relay-AllowedListeners"));
  auto disallowed = id_list(in.request.header("Microsoft-Relay-DisallowedListeners"));
  if (entity->live->count() == 0) {
    ctx.metrics.sender_outcome("no_listener");
    co_await refuse(in.stream, proto::error::not_found("There are no listeners connected for the endpoint"),
                    ns.host(), in.target.path, in.tracking_id);
    co_return;
  }

  auto ex = co_await net::asio::this_coro::executor;
  std::string id = in.target.id.empty() ? in.tracking_id : in.target.id;
  std::string key = proto::random_hex(16);  // 128-bit capability in the accept address
  auto pending = std::make_shared<pending_rendezvous>(ex, entity->name());
  ctx.rendezvous.add(key, pending);

  proto::accept_message accept;
  accept.address = proto::build_accept_address(ctx.public_host, ctx.public_port, in.target.raw_path,
                                               in.target.app_query, id, key);
  if (!ctx.tls) accept.address.replace(0, 3, "ws");  // wss:// -> ws:// with --insecure-plaintext
  accept.id = id;
  accept.connect_headers = connect_headers(in.request);
  auto remote = in.stream.remote_endpoint();
  accept.remote = proto::remote_endpoint{remote.address().to_string(), remote.port()};
  auto message = proto::serialize(accept);

  // Offer the connection to listeners until one takes the accept message.
  std::vector<const listener*> tried;
  std::shared_ptr<listener> chosen;
  for (;;) {
    chosen = entity->live->pick(allowed, disallowed, tried);
    if (!chosen) break;
    bool sent = co_await net::asio::co_spawn(chosen->executor(), chosen->send_text(message),
                                             net::asio::use_awaitable);
    if (sent) {
      chosen->expect_answer(key, pending);
      break;
    }
    tried.push_back(chosen.get());
  }
  if (!chosen) {
    ctx.rendezvous.take(key);
    ctx.metrics.sender_outcome("no_listener");
    auto text =
        allowed.empty() && disallowed.empty()
            ? "There are no listeners connected for the endpoint"
            : "None of the connected listeners meet the AllowedListeners/DisallowedListeners criteria";
    co_await refuse(in.stream, proto::error::not_found(text), ns.host(), in.target.path, in.tracking_id);
    co_return;
  }
  listener_load load(chosen);

  auto outcome = co_await pending->wait(std::chrono::steady_clock::now() + net::limits::rendezvous_timeout,
                                        ctx.rendezvous, key);
  if (!outcome) {
    entity->live->record(hc_live::outcome::timed_out, "the listener did not answer within 30 s");
    ctx.metrics.sender_outcome("timeout");
    spdlog::info("sender {} hc={}: listener {} did not answer within 30 s", id, entity->name(), chosen->id());
    // Named, not a braced temporary inside co_await: g++ 12 destroys such temporaries twice.
    const proto::error timed_out{504, proto::errc::timeout,
                                 "The listener did not accept the connection within 30 seconds"};
    co_await refuse(in.stream, timed_out, ns.host(), in.target.path, in.tracking_id);
    co_return;
  }
  if (!outcome->listener_leg) {
    entity->live->record(hc_live::outcome::rejected,
                         std::to_string(outcome->reject_status) + " " + outcome->reject_description);
    ctx.metrics.sender_outcome("rejected");
    spdlog::info("sender {} hc={}: rejected by listener {}: {} {}", id, entity->name(), chosen->id(),
                 outcome->reject_status, outcome->reject_description);
    auto text = net::format_response(outcome->reject_status, status_line_text(outcome->reject_description),
                                     {{"Connection", "close"}}, outcome->reject_description);
    co_await in.stream.write(net::asio::buffer(text));
    in.stream.close();
    co_return;
  }

  // Accepted: answer the listener, then the sender, with the same subprotocol and no extension.
  auto& agent_leg = *outcome->listener_leg;
  std::string subprotocol = outcome->subprotocol;
  auto to_listener = net::format_upgrade_response(outcome->listener_key, subprotocol);
  auto to_sender = net::format_upgrade_response(sender_key, subprotocol);
  if (auto w = co_await agent_leg.stream().write(net::asio::buffer(to_listener)); w.ec) {
    const proto::error dropped{502, proto::errc::bad_gateway,
                               "The listener dropped the rendezvous connection"};
    co_await refuse(in.stream, dropped, ns.host(), in.target.path, in.tracking_id);
    co_return;
  }
  if (auto w = co_await in.stream.write(net::asio::buffer(to_sender)); w.ec) {
    co_await agent_leg.write_close(1001, "The sender disconnected before the tunnel opened");
    agent_leg.stream().close();
    co_return;
  }
  entity->live->record(hc_live::outcome::accepted);
  ctx.metrics.sender_outcome("accepted");
  ctx.metrics.setup_latency(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  ctx.metrics.tunnel_started();
  spdlog::info("tunnel open: {} hc={} listener={} app={}", id, entity->name(), chosen->id(),
               remote.address().to_string());

  open_tunnel tunnel{net::ws_connection(std::move(in.stream), net::ws_role::server, std::move(in.leftover)),
                     std::move(agent_leg), id, entity->name(), std::move(load)};
  net::asio::co_spawn(ex, carry_tunnel(ctx, std::move(tunnel)), net::log_failure("tunnel " + id));
}

}  // namespace hc::relay
