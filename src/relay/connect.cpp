// relay/connect: run_sender, one sender's connect gesture (protocol doc §4, §5), in steps:
// admit (the hybrid connection, Send unless the entity lets senders in without a token, someone
// listening), offer (an `accept` naming a one-shot rendezvous address, to one listener after
// another until one answers: a listener that cannot take the message or goes away before it
// answers passes the sender on; the whole offer ends after limits::rendezvous_timeout, 504), and
// open (101 to both legs). A listener's reject reaches the sender with its status (an error
// status: 502 for a 1xx/2xx). Once open, the tunnel gets a coroutine of its own (carry_tunnel)
// that owns both legs for the tunnel's whole life.
#include "net/clock.hpp"
#include "net/limits.hpp"
#include "net/pump.hpp"
#include "net/spawn.hpp"
#include "proto/control_messages.hpp"
#include "proto/encoding.hpp"
#include "relay/cluster/cluster_link.hpp"
#include "relay/gestures.hpp"
#include "relay/listener_choice.hpp"
#include "relay/listener_set.hpp"
#include "relay/model/authorizer.hpp"
#include "relay/refuse.hpp"
#include "util/log.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
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
    item = proto::trim_space(item);
    if (!item.empty()) ids.emplace_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return ids;
}

// Counts a tunnel, pending or open, in its listener's load (listener choice) until destroyed.
// A listener on another node (null) counts there, in its own node's heartbeat.
class listener_load {
 public:
  explicit listener_load(std::shared_ptr<listener> l) : listener_(std::move(l)) {
    if (listener_) listener_->active_tunnels.fetch_add(1);
  }
  listener_load(listener_load&&) noexcept = default;  // the moved-from one holds nothing
  ~listener_load() {
    if (listener_) listener_->active_tunnels.fetch_sub(1);
  }

 private:
  std::shared_ptr<listener> listener_;
};

// What admission decided about a sender.
struct sender_plan {
  std::shared_ptr<const hybrid_connection> entity;
  std::string id;                           // sb-hc-id, or the tracking id
  std::vector<std::string> allowed;         // Microsoft-Relay-AllowedListeners
  std::vector<std::string> disallowed;      // Microsoft-Relay-DisallowedListeners
  bool authorization_consumed = false;      // the Authorization header carried the token
  proto::accept_message accept;             // what each listener is offered (its address per offer)
  std::vector<cluster_listener> elsewhere;  // the entity's listeners on other nodes (--cluster)
};

// The listener that accepted, its rendezvous leg and what to answer it.
struct accepted_offer {
  rendezvous_outcome outcome;
  listener_load load;
  std::string listener_id;
};

// An accepted tunnel. It is carried by a coroutine of its own so that the frames of the request
// handling and of the connect gesture (several KiB each) are gone while the tunnel lives.
struct open_tunnel {
  net::ws_connection app_leg;
  net::ws_connection agent_leg;
  std::string id;
  std::string ns;
  std::string entity;
  std::string listener_id;
  listener_load load;
};

// Close 1001 on both legs (relay shutdown); the tunnel then ends as the peers answer. Shares
// the tunnel with carry_tunnel, which may end first.
net::task<> say_shutting_down(std::shared_ptr<open_tunnel> t) {
  co_await t->app_leg.write_close(1001, "The relay is shutting down");
  co_await t->agent_leg.write_close(1001, "The relay is shutting down");
}

net::task<> carry_tunnel(relay_context& ctx, std::shared_ptr<open_tunnel> tunnel) {
  auto ex = co_await net::asio::this_coro::executor;
  auto member = ctx.sessions.join(ex, [ex, weak = std::weak_ptr(tunnel)] {
    if (auto t = weak.lock()) net::asio::co_spawn(ex, say_shutting_down(t), net::asio::detached);
  });
  auto& t = *tunnel;
  auto flowing = ctx.metrics.tunnel_started(t.ns, t.entity);
  net::tunnel_end_guard metered(ctx.metrics, flowing);
  auto& counters = flowing->counters;
  auto counted =
      ctx.usage.tunnel(t.ns, t.entity, std::shared_ptr<const net::tunnel_counters>(flowing, &counters));
  auto result = co_await net::relay_tunnel(t.app_leg, t.agent_leg, counters);
  t.app_leg.stream().close();
  t.agent_leg.stream().close();
  util::log_event(spdlog::level::info, {t.id, t.ns, t.entity, t.listener_id},
                  "tunnel closed: {} hc={} app->agent {} ({} B) agent->app {} ({} B){}", t.id, t.entity,
                  net::to_string(result.app_to_agent), counters.app_to_agent.load(),
                  net::to_string(result.agent_to_app), counters.agent_to_app.load(),
                  result.error ? ": " + result.error.message() : "");
}

// Answers the sender `e`, counting `outcome` (for `entity` too when it is known).
net::task<> refuse_sender(relay_context& ctx, incoming& in, std::string_view outcome, const proto::error& e,
                          const hybrid_connection* entity = nullptr) {
  if (entity)
    ctx.metrics.sender_outcome(outcome, in.ns->record.name, entity->name());
  else
    ctx.metrics.sender_outcome(outcome);
  co_await refuse(in.stream, e, in.ns->host(), in.target.path, in.tracking_id);
}

// The hybrid connection, the sender's right to send to it, and someone listening; the accept
// message it would be offered with, no larger than a listener takes. Refuses the
// sender itself (nullopt) when one is missing or the message is too large (431).
net::task<std::optional<sender_plan>> admit(relay_context& ctx, incoming& in) {
  const auto& ns = *in.ns;
  auto resolved = catalog::resolve(ns, in.target.path);
  if (!resolved) {
    co_await refuse_sender(ctx, in, "not_found", proto::error::not_found("Endpoint does not exist"));
    co_return std::nullopt;
  }
  sender_plan plan;
  plan.entity = resolved->entity;
  if (plan.entity->record.requires_client_authorization) {
    auto token = token_from(in.request, in.target.token);
    auto auth = authorize(ns, plan.entity.get(), in.target.path, proto::rights::send, token, net::unix_now());
    if (!auth) {
      ctx.metrics.auth_failure("connect", auth.error().status);
      ctx.sources.record_failure(in.stream.remote_endpoint().address());
      co_await refuse_sender(ctx, in, auth.error().status == 401 ? "unauthorized" : "forbidden",
                             auth.error());
      co_return std::nullopt;
    }
    plan.authorization_consumed = token_source_of(in.request, in.target.token) == token_source::authorization;
  }
  plan.elsewhere = co_await listeners_elsewhere(ctx, ns, *plan.entity);
  if (plan.entity->live->count() == 0 && plan.elsewhere.empty()) {
    co_await refuse_sender(ctx, in, "no_listener",
                           proto::error::not_found("There are no listeners connected for the endpoint"),
                           plan.entity.get());
    co_return std::nullopt;
  }
  plan.id = in.target.id.empty() ? in.tracking_id : in.target.id;
  plan.allowed = id_list(in.request.header("Microsoft-Relay-AllowedListeners"));
  plan.disallowed = id_list(in.request.header("Microsoft-Relay-DisallowedListeners"));
  plan.accept.id = plan.id;
  plan.accept.connect_headers = headers_without_credentials(in.request, plan.authorization_consumed);
  auto remote = in.stream.remote_endpoint();
  plan.accept.remote = proto::remote_endpoint{remote.address().to_string(), remote.port()};
  plan.accept.address = rendezvous_address(ctx, in.ns->host(), in.target, proto::hc_action::accept, plan.id,
                                           std::string(32, '0'));  // every key has 32 hex digits
  if (auto size = proto::serialize(plan.accept).size(); size > net::limits::max_accept_message_bytes) {
    // Named, not a braced temporary inside co_await: net/types.hpp.
    const proto::error too_large{431, proto::errc::too_large,
                                 "The request's headers and id make an accept message of " +
                                     std::to_string(size) + " bytes; listeners take at most " +
                                     std::to_string(net::limits::max_accept_message_bytes) +
                                     ": send fewer or smaller headers"};
    co_await refuse_sender(ctx, in, "bad_request", too_large);
    co_return std::nullopt;
  }
  co_return plan;
}

// A listener's reject as the sender sees it: the listener's status when it is an error status,
// else 502 (a 1xx or 2xx cannot refuse an upgrade), with the listener's description.
std::string rejection_response(const rendezvous_outcome& r) {
  int status = r.reject_status >= 300 ? r.reject_status : 502;
  std::string body = r.reject_description;
  if (status != r.reject_status)
    body = "The listener rejected the connection with status " + std::to_string(r.reject_status) +
           ", which is not an error status: " + r.reject_description;
  return net::format_response(status, status_line_text(r.reject_description), {{"Connection", "close"}},
                              body);
}

// No listener took the sender: 504 when the window ran out, 502 when every listener offered it
// went away or could not take the message, 404 when none was there to offer it to.
net::task<> refuse_unplaced(relay_context& ctx, incoming& in, const sender_plan& plan, std::size_t offered,
                            bool timed_out) {
  if (timed_out) {
    auto window = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(net::limits::rendezvous_timeout).count());
    plan.entity->live->record(listener_set::outcome::timed_out,
                              "no listener answered within " + window + " s");
    util::log_event(spdlog::level::info, {plan.id, in.ns->record.name, plan.entity->name(), {}},
                    "sender {} hc={}: no listener answered within {} s ({} offered)", plan.id,
                    plan.entity->name(), window, offered);
    // Named, not a braced temporary inside co_await net/types.hpp.
    const proto::error too_late{504, proto::errc::timeout,
                                "The listener did not accept the connection within " + window + " seconds"};
    co_await refuse_sender(ctx, in, "timeout", too_late, plan.entity.get());
    co_return;
  }
  if (offered > 0) {
    const proto::error lost{502, proto::errc::bad_gateway,
                            "The listeners offered the connection (" + std::to_string(offered) +
                                ") went away or did not take the accept message in time"};
    co_await refuse_sender(ctx, in, "no_listener", lost, plan.entity.get());
    co_return;
  }
  auto text = plan.allowed.empty() && plan.disallowed.empty()
                  ? "There are no listeners connected for the endpoint"
                  : "None of the connected listeners meet the AllowedListeners/DisallowedListeners criteria";
  const auto none = proto::error::not_found(text);
  co_await refuse_sender(ctx, in, "no_listener", none, plan.entity.get());
}

// Sends the accept for rendezvous `key` to the target: written to our listener, or forwarded to
// the node that holds it. False when it could not be sent (the sender goes to another listener).
net::task<bool> send_offer(relay_context& ctx, const incoming& in, const sender_plan& plan,
                           const offer_target& target, const std::string& key,
                           const std::shared_ptr<pending_rendezvous>& pending) {
  auto accept = plan.accept;
  accept.address = rendezvous_address(ctx, in.ns->host(), in.target, proto::hc_action::accept, plan.id, key);
  auto message = proto::serialize(accept);
  if (!target.local) {
    const forwarded_accept forwarded{
        ctx.cluster->node_id(), in.ns->record.name, plan.entity->name(), target.remote.id, key,
        std::move(message)};
    bool taken = co_await ctx.cluster->forward(target.remote.node, forwarded);
    spdlog::debug("sender {}: accept for listener {} forwarded to node {}: {}", plan.id, target.remote.id,
                  target.remote.node, taken ? "taken" : "no such node");
    if (taken) ctx.metrics.cluster_accept("sent");
    co_return taken;
  }
  // From here on a listener that goes away passes the sender on.
  if (!target.local->expect_answer(key, pending)) co_return false;
  bool sent = co_await net::asio::co_spawn(target.local->executor(),
                                           target.local->send(proto::opcode::text, std::move(message)),
                                           net::asio::use_awaitable);
  co_return sent;
}

// Offers the sender to listeners until one accepts or rejects it, all within
// limits::rendezvous_timeout. Answers the sender itself (nullopt) unless a listener accepted.
// Listeners move between nodes (an agent whose node went away dials another): after one on another
// node was lost, Redis is asked again where the hybrid connection's listeners are.
net::task<std::optional<accepted_offer>> offer(relay_context& ctx, incoming& in, sender_plan& plan) {
  const auto& entity = *plan.entity;
  auto ex = co_await net::asio::this_coro::executor;
  auto until = std::chrono::steady_clock::now() + net::limits::rendezvous_timeout;

  tried_listeners tried;
  bool ask_again = false;
  while (std::chrono::steady_clock::now() < until) {
    if (ask_again) plan.elsewhere = co_await listeners_elsewhere(ctx, *in.ns, entity);
    auto chosen = choose_listener(*plan.entity, plan.elsewhere, plan.allowed, plan.disallowed, tried);
    if (!chosen) break;
    tried.add(*chosen);
    ask_again = !chosen->local;
    std::string key = proto::random_hex(16);  // 128-bit capability in the accept address
    auto pending = std::make_shared<pending_rendezvous>(ex, in.ns->record.name, entity.name());
    ctx.rendezvous.add(key, pending);
    bool sent = co_await send_offer(ctx, in, plan, *chosen, key, pending);
    if (!sent) {
      ctx.rendezvous.withdraw(key);
      continue;
    }
    listener_load load(chosen->local);
    // A silent listener keeps the sender listener_answer_timeout when another one could take it,
    // else the whole window (as with Azure: 504 after limits::rendezvous_timeout).
    auto move_on = std::chrono::steady_clock::now() + net::limits::listener_answer_timeout;
    auto elsewhere = [&] {
      return choose_listener(*plan.entity, plan.elsewhere, plan.allowed, plan.disallowed, tried).has_value();
    };
    auto outcome = co_await pending->wait(move_on, until, elsewhere, ctx.rendezvous, key);
    if (!outcome && std::chrono::steady_clock::now() < until) {
      util::log_event(
          spdlog::level::info, {plan.id, in.ns->record.name, entity.name(), chosen->id()},
          "sender {} hc={}: listener {} did not answer within {} s; offering to another", plan.id,
          entity.name(), chosen->id(),
          std::chrono::duration_cast<std::chrono::seconds>(net::limits::listener_answer_timeout).count());
      continue;
    }
    if (!outcome) break;
    if (outcome->listener_lost) {
      util::log_event(spdlog::level::info, {plan.id, in.ns->record.name, entity.name(), chosen->id()},
                      "sender {} hc={}: listener {} went away before answering; offering to another", plan.id,
                      entity.name(), chosen->id());
      continue;
    }
    if (!outcome->listener_leg) {
      entity.live->record(listener_set::outcome::rejected,
                          std::to_string(outcome->reject_status) + " " + outcome->reject_description);
      // hcm rejects with 502 when its endpoint does not answer (and Azure's HCM does the same).
      ctx.metrics.sender_outcome(outcome->reject_status == 502 ? "endpoint_unreachable" : "rejected",
                                 in.ns->record.name, entity.name());
      util::log_event(spdlog::level::info, {plan.id, in.ns->record.name, entity.name(), chosen->id()},
                      "sender {} hc={}: rejected by listener {}: {} {}", plan.id, entity.name(), chosen->id(),
                      outcome->reject_status, outcome->reject_description);
      auto text = rejection_response(*outcome);
      co_await in.stream.write(net::asio::buffer(text));
      in.stream.close();
      co_return std::nullopt;
    }
    co_return accepted_offer{std::move(*outcome), std::move(load), chosen->id()};
  }

  co_await refuse_unplaced(ctx, in, plan, tried.size(), std::chrono::steady_clock::now() >= until);
  co_return std::nullopt;
}

// Accepted: answers the listener, then the sender, with the same subprotocol and no extension.
// False (with both legs answered or closed) when either went away meanwhile.
net::task<bool> answer_both(incoming& in, accepted_offer& accepted) {
  auto& agent_leg = *accepted.outcome.listener_leg;
  const auto& subprotocol = accepted.outcome.subprotocol;
  auto to_listener = net::format_upgrade_response(accepted.outcome.listener_key, subprotocol);
  auto to_sender = net::format_upgrade_response(in.request.header("Sec-WebSocket-Key"), subprotocol);
  if (auto w = co_await agent_leg.stream().write(net::asio::buffer(to_listener)); w.ec) {
    const proto::error dropped{502, proto::errc::bad_gateway,
                               "The listener dropped the rendezvous connection"};
    co_await refuse(in.stream, dropped, in.ns->host(), in.target.path, in.tracking_id);
    co_return false;
  }
  if (auto w = co_await in.stream.write(net::asio::buffer(to_sender)); w.ec) {
    co_await agent_leg.write_close(1001, "The sender disconnected before the tunnel opened");
    agent_leg.stream().close();
    co_return false;
  }
  co_return true;
}

}  // namespace

net::task<> run_sender(relay_context& ctx, incoming in) {
  auto started = std::chrono::steady_clock::now();
  auto plan = co_await admit(ctx, in);
  if (!plan) co_return;
  auto accepted = co_await offer(ctx, in, *plan);
  if (!accepted) co_return;
  bool open = co_await answer_both(in, *accepted);
  if (!open) co_return;

  const auto& entity = *plan->entity;
  entity.live->record(listener_set::outcome::accepted);
  ctx.metrics.sender_outcome("accepted", in.ns->record.name, entity.name());
  ctx.metrics.setup_latency(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
                            in.ns->record.name, entity.name());
  util::log_event(spdlog::level::info, {plan->id, in.ns->record.name, entity.name(), accepted->listener_id},
                  "tunnel open: {} hc={} listener={} app={}", plan->id, entity.name(), accepted->listener_id,
                  in.stream.remote_address());

  auto ex = co_await net::asio::this_coro::executor;
  auto tunnel = std::make_shared<open_tunnel>(
      net::ws_connection(std::move(in.stream), net::ws_role::server, std::move(in.leftover)),
      std::move(*accepted->outcome.listener_leg), plan->id, in.ns->record.name, entity.name(),
      accepted->listener_id, std::move(accepted->load));
  net::asio::co_spawn(ex, carry_tunnel(ctx, std::move(tunnel)), net::log_failure("tunnel " + plan->id));
}

}  // namespace hc::relay
