// relay/listen: run_listener, one listener's control channel (protocol doc §3), in
// steps: admit (Listen, one of the 25 slots, 101), serve (read the listener's messages while a
// keep-alive pings it) and leave (its unanswered senders are passed on to other listeners).
// Messages: renewToken (checked against the current keys and rights, extends the token
// deadline), response (an HTTP-mode answer: handed to the waiting caller with the binary message
// that follows it when it announces a body), Ping (answered), Close (echoed). Accept and request
// messages are written by sender and caller sessions through listener::send on this strand. A frame that
// breaks RFC 6455 (bad header, stray continuation, bad Close payload) gets 1002; a text message that is not
// UTF-8 gets 1007. The token deadline is `se` + --token-grace (5 min); past it the channel is closed with
// 1008. recheck_listeners closes listeners whose token a key or rule change has made invalid.
#include "net/clock.hpp"
#include "net/limits.hpp"
#include "net/ws_channel.hpp"
#include "proto/control_messages.hpp"
#include "relay/cluster/cluster_link.hpp"
#include "relay/gestures.hpp"
#include "relay/http_mode/request_exchange.hpp"
#include "relay/listener_set.hpp"
#include "relay/model/authorizer.hpp"
#include "relay/refuse.hpp"
#include "relay/rendezvous.hpp"
#include "util/log.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace hc::relay {
namespace {

// Closes the channel with 1008 when the token's grace (--token-grace) runs out.
void arm_token_deadline(std::optional<net::deadline>& timer, const std::shared_ptr<listener>& me,
                        std::int64_t expiry, std::chrono::seconds grace) {
  auto grace_end = std::chrono::seconds(expiry - net::unix_now()) + grace;
  timer.reset();
  timer.emplace(me->executor(), grace_end,
                [me] { me->begin_close(1008, "The token has expired; send renewToken"); });
}

// A listener's token against the namespace as it is now: keys regenerated, rules deleted or
// rights removed since the listener connected count; expiry within the grace does not (the
// token deadline owns expiry).
proto::result<authorization> authorize_listener(const namespace_entry& ns, const hybrid_connection& entity,
                                                std::string_view token, std::chrono::seconds grace) {
  return authorize(ns, &entity, entity.name(), proto::rights::listen, token, net::unix_now() - grace.count());
}

// One control channel from 101 to its end.
class control_channel {
 public:
  control_channel(relay_context& ctx, std::string ns_name, std::string entity_name,
                  std::shared_ptr<listener> me)
      : ctx_(ctx), ns_name_(std::move(ns_name)), entity_name_(std::move(entity_name)), me_(std::move(me)) {}

  // Reads until the channel ends while keep_alive pings it; returns why it ended.
  net::task<std::string> serve(std::int64_t token_expiry) {
    using namespace net::asio::experimental::awaitable_operators;
    arm_token_deadline(token_deadline_, me_, token_expiry, ctx_.settings.token_grace);
    auto ended = co_await (read_loop() || keep_alive());
    token_deadline_.reset();
    end_body("it disconnected before the response body");
    co_return std::visit([](std::string& why) { return std::move(why); }, ended);
  }

 private:
  net::task<std::string> protocol_error(std::uint16_t code, std::string_view reason, const char* ending) {
    co_await me_->channel->write_close(code, reason);
    co_return ending;
  }

  net::task<std::string> read_loop() {
    for (;;) {
      auto read = co_await reader_.read_message();
      switch (read.what) {
        case net::channel_read::kind::lost:
          co_return "connection lost";
        case net::channel_read::kind::protocol_error:
          co_return co_await protocol_error(1002, "WebSocket protocol error", "protocol error");
        case net::channel_read::kind::closed:
          co_await me_->channel->write_close_raw(std::move(read.close_payload));
          co_return "closed by listener";
        case net::channel_read::kind::too_big:  // the rest of it is skipped
          if (read.op == proto::opcode::binary) {
            end_body(
                "its response body on the control channel is over 64 KiB; larger bodies go over the "
                "request's rendezvous connection");
            continue;
          }
          me_->begin_close(1009, "Control messages are limited to 64 KiB");
          continue;
        case net::channel_read::kind::message:
          if (read.op == proto::opcode::binary) {
            on_body(std::move(read.data));
            continue;
          }
          if (!proto::is_utf8(read.data))  // RFC 6455 §8.1: the relay is this message's endpoint
            co_return co_await protocol_error(1007, "Control messages must be UTF-8 text", "invalid UTF-8");
          if (body_expected_) end_body("it sent a control message where the response body was due");
          on_command(read.data);
          continue;
      }
    }
  }

  // The binary message after a response that announced a body; any other is ignored (hyco-https
  // sends an empty one after a response without a body).
  void on_body(std::string data) {
    if (!body_expected_) {
      if (!data.empty())
        spdlog::debug("listener {} sent a binary message nobody expects; ignored", me_->id());
      return;
    }
    body_expected_ = false;
    if (auto r = std::exchange(body_for_, nullptr)) {
      exchange_event body;
      body.what = exchange_event::kind::body;
      body.text = std::move(data);
      r->deliver(std::move(body));
    }
  }

  // The body that was due will not come: its caller gets 502 with `why`.
  void end_body(std::string why) {
    body_expected_ = false;
    if (auto r = std::exchange(body_for_, nullptr)) {
      spdlog::info("listener {}: request {}: {}", me_->id(), r->id(), why);
      exchange_event lost;
      lost.text = "The listener broke the HTTP mode protocol: " + why;
      r->deliver(std::move(lost));
    }
  }

  void on_response(proto::response_message response) {
    auto r = me_->take_request(response.request_id);
    if (!r)
      spdlog::info("listener {} answered request {}, which is not one of its requests in flight; ignored",
                   me_->id(), proto::printable(response.request_id));
    body_expected_ = response.body;  // the body of an ignored response is skipped too
    if (response.body) body_for_ = r;
    if (!r) return;
    exchange_event head;
    head.what = exchange_event::kind::head;
    head.head = std::move(response);
    r->deliver(std::move(head));
  }

  void on_command(std::string_view message) {
    auto command = proto::parse_listener_command(message);
    if (!command) {
      spdlog::warn("listener {} sent an unreadable control message: {}", me_->id(), command.error().message);
      return;
    }
    if (auto* response = std::get_if<proto::response_message>(&*command)) {
      on_response(std::move(*response));
      return;
    }
    auto* renew = std::get_if<proto::renew_token_message>(&*command);
    if (!renew) {
      spdlog::debug("listener {} sent unknown command '{}'", me_->id(),
                    std::get<proto::unknown_command>(*command).name);
      return;
    }
    // Against the keys and rights as they are now, not as they were when the listener connected.
    auto ns = ctx_.entities.by_name(ns_name_);
    auto resolved = ns ? catalog::resolve(*ns, entity_name_) : std::nullopt;
    if (!resolved) return;  // deleted: the deletion closes this channel
    auto renewed = authorize(*ns, resolved->entity.get(), entity_name_, proto::rights::listen, renew->token,
                             net::unix_now());
    if (!renewed) {
      spdlog::info("listener {} hc={}: renewToken refused, closing: {}", me_->id(), entity_name_,
                   renewed.error().message);
      ctx_.metrics.auth_failure("renewToken", renewed.error().status);
      ctx_.sources.record_failure(me_->channel->stream().remote_endpoint().address());
      me_->begin_close(1008, proto::close_reason("renewToken refused: " + renewed.error().message));
      return;
    }
    me_->set_token(renew->token);
    arm_token_deadline(token_deadline_, me_, renewed->expiry, ctx_.settings.token_grace);
  }

  // Pings every ctx.listener_keepalive; a listener that has sent nothing since the last two
  // pings, or does not take a ping in time (listener::send), is dropped.
  net::task<std::string> keep_alive() {
    net::asio::steady_timer every(me_->executor());
    const std::string no_payload;
    for (;;) {
      every.expires_after(ctx_.settings.listener_keepalive);
      auto [ec] = co_await every.async_wait(net::use_tuple);
      if (ec) co_return "stopped";
      if (me_->closing) continue;  // a Close is out: its own deadline ends the channel
      if (reader_.count_ping() >= 2) {
        me_->channel->stream().close();
        co_return "no answer to 2 keep-alive pings";
      }
      bool sent = co_await me_->send(proto::opcode::ping, no_payload);
      if (!sent && !me_->closing) co_return "a keep-alive ping could not be sent";
    }
  }

  relay_context& ctx_;
  std::string ns_name_;
  std::string entity_name_;
  std::shared_ptr<listener> me_;
  net::ws_channel reader_{*me_->channel, proto::max_control_message_bytes};
  bool body_expected_ = false;                  // a response announced a body: the next binary message
  std::shared_ptr<request_exchange> body_for_;  // whose body it is (null: an ignored response's)
  std::optional<net::deadline> token_deadline_;
};

// The keys may have changed between a listener's first check and its joining the set (and
// recheck_listeners may have run in between): the token against the namespace as it is now, and
// the hybrid connection still the one it joined.
proto::result<authorization> authorize_after_joining(relay_context& ctx, const std::string& ns_name,
                                                     const hybrid_connection& joined,
                                                     const std::string& token) {
  auto ns = ctx.entities.by_name(ns_name);
  auto now = ns ? catalog::resolve(*ns, joined.name()) : std::nullopt;
  if (!now || !now->suffix.empty() || now->entity->live != joined.live)
    return proto::error::not_found("Endpoint does not exist");
  return authorize_listener(*ns, *now->entity, token, ctx.settings.token_grace);
}

// Senders whose accept this listener never answered are passed on to another listener now, not
// after 30 s.
void pass_on_unanswered(relay_context& ctx, listener& me) {
  for (auto& [key, weak] : me.take_unanswered()) {
    auto pending = weak.lock();
    if (pending && !pending->forwarded_from().empty() && ctx.cluster) {  // a sender on another node
      ctx.cluster->report_lost(pending->forwarded_from(), key, "listener " + me.id() + " went away");
      continue;
    }
    if (!pending || !ctx.rendezvous.withdraw(key)) continue;  // answered, or already timed out
    rendezvous_outcome gone;
    gone.listener_lost = true;
    pending->deliver(std::move(gone));
  }
}

// A listener past admit: in its hybrid connection's set, 101 sent, its channel open.
struct admitted_listener {
  std::shared_ptr<const hybrid_connection> entity;
  std::shared_ptr<listener> me;
  std::int64_t token_expiry = 0;
};

// The hybrid connection, Listen, one of its listener places, 101. Answers the listener itself
// (nullopt) when it is refused.
net::task<std::optional<admitted_listener>> admit(relay_context& ctx, incoming& in) {
  const auto& ns = *in.ns;
  auto resolved = catalog::resolve(ns, in.target.path);
  if (!resolved || !resolved->suffix.empty()) {
    co_await refuse(in.stream, proto::error::not_found("Endpoint does not exist"), ns.host(), in.target.path,
                    in.tracking_id);
    co_return std::nullopt;
  }
  auto entity = resolved->entity;
  auto token = token_from(in.request, in.target.token);
  auto auth = authorize(ns, entity.get(), entity->name(), proto::rights::listen, token, net::unix_now());
  if (!auth) {
    ctx.metrics.auth_failure("listen", auth.error().status);
    ctx.sources.record_failure(in.stream.remote_endpoint().address());
    util::log_event(spdlog::level::info, {in.tracking_id, ns.record.name, entity->name(), in.target.id},
                    "listener refused: {} {} {}: {}", in.tracking_id, entity->name(),
                    in.stream.remote_address(), auth.error().message);
    co_await refuse(in.stream, auth.error(), ns.host(), entity->name(), in.tracking_id);
    co_return std::nullopt;
  }
  auto agent = in.request.header("Relay-User-Agent");
  if (agent.empty()) agent = in.request.header("User-Agent");
  auto strand = co_await net::asio::this_coro::executor;  // own statement: net/types.hpp
  std::string listener_id = in.target.id.empty() ? proto::new_tracking_id() : in.target.id;
  auto me = std::make_shared<listener>(strand, std::move(listener_id), in.stream.remote_address(),
                                       std::string(agent));
  me->set_token(std::move(token));
  const auto quota_exceeded =
      proto::error::forbidden("Quota exceeded: hybrid connection '" + entity->name() + "' already has " +
                              std::to_string(net::limits::max_listeners_per_hc) +
                              " listeners, the maximum; stop one before adding another");
  if (!entity->live->add(me, net::limits::max_listeners_per_hc)) {
    co_await refuse(in.stream, quota_exceeded, ns.host(), entity->name(), in.tracking_id);
    co_return std::nullopt;
  }
  // The limit holds across the cluster; while Redis is away, per node (the heartbeat enters the
  // listener when it is back).
  const auto cluster_name = cluster_entity(ns.record.name, entity->name());
  auto withdraw = [&] {
    entity->live->remove(me.get());
    if (ctx.cluster) ctx.cluster->leave(cluster_name, me->id());
  };
  if (ctx.cluster) {
    auto joined = co_await ctx.cluster->join(cluster_name, me->id(), net::limits::max_listeners_per_hc);
    if (joined == cluster_link::join_result::full) {
      entity->live->remove(me.get());
      co_await refuse(in.stream, quota_exceeded, ns.host(), entity->name(), in.tracking_id);
      co_return std::nullopt;
    }
  }
  auto still = authorize_after_joining(ctx, ns.record.name, *entity, me->token());
  if (!still) {
    withdraw();
    co_await refuse(in.stream, still.error(), ns.host(), entity->name(), in.tracking_id);
    co_return std::nullopt;
  }
  auto upgrade = net::format_upgrade_response(in.request.header("Sec-WebSocket-Key"), {});
  if (auto w = co_await in.stream.write(net::asio::buffer(upgrade)); w.ec) {
    withdraw();
    co_return std::nullopt;
  }
  me->channel.emplace(std::move(in.stream), net::ws_role::server, std::move(in.leftover));
  co_return admitted_listener{std::move(entity), std::move(me), auth->expiry};
}

// The channel has ended: out of the set, its unanswered senders passed on, its socket closed.
void leave(relay_context& ctx, const std::string& ns_name, admitted_listener& a) {
  a.entity->live->remove(a.me.get());
  if (ctx.cluster) ctx.cluster->leave(cluster_entity(ns_name, a.entity->name()), a.me->id());
  pass_on_unanswered(ctx, *a.me);
  for (auto& r : a.me->take_requests()) {
    exchange_event lost;
    lost.text = "The listener disconnected before it answered the request";
    lost.from = a.me.get();
    r->deliver(std::move(lost));
  }
  a.me->closing.reset();
  // The channel object stays with the listener (a send queued on its strand may still hold it);
  // its socket closes now.
  a.me->channel->stream().close();
  ctx.metrics.listener_disconnected();
}

}  // namespace

net::task<> run_listener(relay_context& ctx, incoming in) {
  auto admitted = co_await admit(ctx, in);
  if (!admitted) co_return;
  const auto& me = admitted->me;
  const auto& hc_name = admitted->entity->name();
  ctx.metrics.listener_connected();
  auto counted = ctx.usage.listener(in.ns->record.name, hc_name);  // connection-hours until it leaves
  const util::log_fields about{in.tracking_id, in.ns->record.name, hc_name, me->id()};
  util::log_event(spdlog::level::info, about, "listener connected: {} hc={} id={} from={} agent=\"{}\"",
                  in.tracking_id, hc_name, me->id(), me->remote_address(), me->agent());

  auto member = ctx.sessions.join(me->executor(), [weak = std::weak_ptr(me)] {
    if (auto l = weak.lock()) l->begin_close(1001, "The relay is shutting down");
  });
  control_channel channel(ctx, in.ns->record.name, hc_name, me);
  auto ending = co_await channel.serve(admitted->token_expiry);

  leave(ctx, in.ns->record.name, *admitted);
  util::log_event(spdlog::level::info, about, "listener disconnected: {} hc={} id={}: {}", in.tracking_id,
                  hc_name, me->id(), ending);
}

void recheck_listeners(const namespace_entry* before, const namespace_entry& after,
                       std::chrono::seconds grace) {
  if (!before) return;
  bool namespace_rules_changed =
      before->rules.size() != after.rules.size() ||
      !std::equal(before->rules.begin(), before->rules.end(), after.rules.begin(),
                  [](const auth_rule& a, const auth_rule& b) { return a.record == b.record; });
  for (const auto& [key, old_entity] : before->hybrid_connections) {
    auto now = after.hybrid_connections.find(key);
    if (now == after.hybrid_connections.end()) {
      old_entity->live->close_all(1001, "The hybrid connection was deleted");
      continue;
    }
    if (now->second == old_entity && !namespace_rules_changed) continue;  // nothing it depends on changed
    for (const auto& l : now->second->live->snapshot()) {
      auto still = authorize_listener(after, *now->second, l->token(), grace);
      if (still) continue;
      util::log_event(spdlog::level::info, {{}, after.record.name, now->second->name(), l->id()},
                      "listener {} hc={}: its authorization no longer holds, closing: {}", l->id(),
                      now->second->name(), still.error().message);
      l->begin_close(1008, proto::close_reason("Authorization revoked: " + still.error().message));
    }
  }
}

}  // namespace hc::relay
