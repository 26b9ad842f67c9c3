// relay/listen: run_listener, one listener's control channel (protocol doc §3), in
// steps: admit (Listen, one of the 25 slots, 101), serve (read the listener's messages while a
// keep-alive pings it) and leave (its unanswered senders are passed on to other listeners).
// Messages: renewToken (checked against the current keys and rights, extends the token
// deadline), Ping (answered), Close (echoed). Accept messages are written by sender sessions
// through listener::send on this strand. A frame that breaks RFC 6455 (bad header, stray
// continuation, bad Close payload) gets 1002; a text message that is not UTF-8 gets 1007.
// The token deadline is `se` + limits::token_grace; past it the channel is closed with 1008.
// recheck_listeners closes listeners whose token a key or rule change has made invalid.
#include "net/clock.hpp"
#include "net/limits.hpp"
#include "proto/control_messages.hpp"
#include "relay/model/authorizer.hpp"
#include "relay/gestures.hpp"
#include "relay/listener_set.hpp"
#include "relay/rendezvous.hpp"
#include "relay/refuse.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace hc::relay {
namespace {

constexpr auto grace_seconds =
    std::chrono::duration_cast<std::chrono::seconds>(net::limits::token_grace).count();

// Closes the channel with 1008 when the token's grace runs out.
void arm_token_deadline(std::optional<net::deadline>& timer, const std::shared_ptr<listener>& me,
                        std::int64_t expiry) {
  auto grace_end = std::chrono::seconds(expiry - net::unix_now()) + net::limits::token_grace;
  timer.reset();
  timer.emplace(me->executor(), grace_end,
                [me] { me->begin_close(1008, "The token has expired; send renewToken"); });
}

// A listener's token against the namespace as it is now: keys regenerated, rules deleted or
// rights removed since the listener connected count; expiry within the grace does not (the
// token deadline owns expiry).
proto::result<authorization> authorize_listener(const namespace_entry& ns, const hybrid_connection& entity,
                                                std::string_view token) {
  return authorize(ns, &entity, entity.name(), proto::rights::listen, token, net::unix_now() - grace_seconds);
}

// Reads one whole text message (continuation frames joined), at most max_control_text_bytes.
// Returns false (and starts a 1009 close) when it is too large.
net::task<std::pair<net::error_code, bool>> read_text_message(listener& me, const proto::frame_header& first,
                                                              std::string& out) {
  auto& ch = *me.channel;
  out.clear();
  proto::frame_header h = first;
  for (;;) {
    if (out.size() + h.payload_length > net::limits::max_control_text_bytes) {
      me.begin_close(1009, "Control messages are limited to 64 KiB");
      co_return std::pair{net::error_code{}, false};
    }
    std::size_t at = out.size();
    out.resize(at + std::size_t(h.payload_length));
    while (ch.payload_remaining() > 0) {
      auto r = co_await ch.read_payload(net::asio::buffer(out.data() + at, out.size() - at));
      if (r.ec) co_return std::pair{r.ec, false};
      at += r.bytes;
    }
    if (h.fin) co_return std::pair{net::error_code{}, true};
    auto [ec, next] = co_await ch.read_header();
    if (ec) co_return std::pair{ec, false};
    if (next.op != proto::opcode::continuation)
      co_return std::pair{proto::make_error_code(proto::errc::bad_request), false};
    h = next;
  }
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
    arm_token_deadline(token_deadline_, me_, token_expiry);
    auto ended = co_await (read_loop() || keep_alive());
    token_deadline_.reset();
    co_return std::visit([](std::string& why) { return std::move(why); }, ended);
  }

 private:
  net::task<std::string> protocol_error(std::uint16_t code, std::string_view reason, const char* ending) {
    co_await me_->channel->write_close(code, reason);
    co_return ending;
  }

  net::task<std::string> read_loop() {
    auto& ch = *me_->channel;
    std::string message;
    bool skipped_message = false;  // a message without FIN is being skipped: its continuations follow
    for (;;) {
      auto [ec, h] = co_await ch.read_header();
      if (ec == proto::errc::bad_request)
        co_return co_await protocol_error(1002, "WebSocket protocol error", "protocol error");
      if (ec) co_return "connection lost";
      me_->unanswered_pings = 0;                                     // any frame proves the listener alive
      if (h.op == proto::opcode::continuation && skipped_message) {  // the rest of a skipped message
        skipped_message = !h.fin;
        continue;
      }
      if (h.op == proto::opcode::continuation)  // a continuation with no message started
        co_return co_await protocol_error(1002, "WebSocket protocol error", "protocol error");
      if (h.op == proto::opcode::text) {
        auto [rec, complete] = co_await read_text_message(*me_, h, message);
        if (rec == proto::errc::bad_request)
          co_return co_await protocol_error(1002, "WebSocket protocol error", "protocol error");
        if (rec) co_return "connection lost";
        skipped_message = !complete;  // too large: 1009 is on its way, the rest is skipped
        if (!complete) continue;
        if (!proto::is_utf8(message))  // RFC 6455 §8.1: the relay is this message's endpoint
          co_return co_await protocol_error(1007, "Control messages must be UTF-8 text", "invalid UTF-8");
        on_command(message);
        continue;
      }
      if (proto::is_control(h.op)) {
        std::string payload;
        if (co_await ch.read_control_payload(payload)) co_return "connection lost";
        if (h.op == proto::opcode::ping) {
          co_await ch.write_frame(proto::opcode::pong, true,
                                  std::span(reinterpret_cast<std::uint8_t*>(payload.data()), payload.size()));
        } else if (h.op == proto::opcode::close) {
          auto info = proto::parse_close_payload(
              std::span(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()));
          if (!info)  // a bad code or a reason that is not UTF-8 (RFC 6455 §7.4, §8.1)
            co_return co_await protocol_error(1002, "WebSocket protocol error", "protocol error");
          co_await ch.write_close_raw(std::move(payload));
          co_return "closed by listener";
        }
        continue;
      }
      // Binary frames (HTTP-mode response bodies) are not used by this relay yet: skip them.
      skipped_message = !h.fin;
    }
  }

  void on_command(std::string_view message) {
    auto command = proto::parse_listener_command(message);
    if (!command) {
      spdlog::warn("listener {} sent an unreadable control message: {}", me_->id(), command.error().message);
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
    arm_token_deadline(token_deadline_, me_, renewed->expiry);
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
      if (me_->unanswered_pings >= 2) {
        me_->channel->stream().close();
        co_return "no answer to 2 keep-alive pings";
      }
      ++me_->unanswered_pings;
      bool sent = co_await me_->send(proto::opcode::ping, no_payload);
      if (!sent && !me_->closing) co_return "a keep-alive ping could not be sent";
    }
  }

  relay_context& ctx_;
  std::string ns_name_;
  std::string entity_name_;
  std::shared_ptr<listener> me_;
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
  return authorize_listener(*ns, *now->entity, token);
}

// Senders whose accept this listener never answered are passed on to another listener now, not
// after 30 s.
void pass_on_unanswered(relay_context& ctx, listener& me) {
  for (auto& [key, weak] : me.take_unanswered()) {
    auto pending = weak.lock();
    if (!pending || !ctx.rendezvous.withdraw(key)) continue;  // answered, or already timed out
    rendezvous_outcome gone;
    gone.listener_lost = true;
    pending->deliver(std::move(gone));
  }
}

}  // namespace

net::task<> run_listener(relay_context& ctx, incoming in) {
  const auto& ns = *in.ns;
  auto resolved = catalog::resolve(ns, in.target.path);
  if (!resolved || !resolved->suffix.empty()) {
    co_await refuse(in.stream, proto::error::not_found("Endpoint does not exist"), ns.host(), in.target.path,
                    in.tracking_id);
    co_return;
  }
  auto entity = resolved->entity;
  auto token = token_from(in.request, in.target.token);
  auto auth = authorize(ns, entity.get(), entity->name(), proto::rights::listen, token, net::unix_now());
  if (!auth) {
    ctx.metrics.auth_failure("listen", auth.error().status);
    ctx.sources.record_failure(in.stream.remote_endpoint().address());
    spdlog::info("listener refused: {} {} {}: {}", in.tracking_id, entity->name(), in.stream.remote_address(),
                 auth.error().message);
    co_await refuse(in.stream, auth.error(), ns.host(), entity->name(), in.tracking_id);
    co_return;
  }
  auto agent = in.request.header("Relay-User-Agent");
  if (agent.empty()) agent = in.request.header("User-Agent");
  // co_await gets its own statement: g++ 12 destroys string temporaries that share a full
  // expression with a co_await twice (double free; GCC PR 99576).
  auto strand = co_await net::asio::this_coro::executor;
  std::string listener_id = in.target.id.empty() ? proto::new_tracking_id() : in.target.id;
  auto me = std::make_shared<listener>(strand, std::move(listener_id), in.stream.remote_address(),
                                       std::string(agent));
  me->set_token(std::move(token));
  if (!entity->live->add(me, net::limits::max_listeners_per_hc)) {
    co_await refuse(
        in.stream,
        proto::error::forbidden("Quota exceeded: hybrid connection '" + entity->name() + "' already has " +
                                std::to_string(net::limits::max_listeners_per_hc) +
                                " listeners, the maximum; stop one before adding another"),
        ns.host(), entity->name(), in.tracking_id);
    co_return;
  }
  auto still = authorize_after_joining(ctx, ns.record.name, *entity, me->token());
  if (!still) {
    entity->live->remove(me.get());
    co_await refuse(in.stream, still.error(), ns.host(), entity->name(), in.tracking_id);
    co_return;
  }
  auto upgrade = net::format_upgrade_response(in.request.header("Sec-WebSocket-Key"), {});
  if (auto w = co_await in.stream.write(net::asio::buffer(upgrade)); w.ec) {
    entity->live->remove(me.get());
    co_return;
  }
  me->channel.emplace(std::move(in.stream), net::ws_role::server, std::move(in.leftover));
  ctx.metrics.listener_connected();
  spdlog::info("listener connected: {} hc={} id={} from={} agent=\"{}\"", in.tracking_id, entity->name(),
               me->id(), me->remote_address(), me->agent());

  auto member = ctx.sessions.join(strand, [weak = std::weak_ptr(me)] {
    if (auto l = weak.lock()) l->begin_close(1001, "The relay is shutting down");
  });
  control_channel channel(ctx, ns.record.name, entity->name(), me);
  auto ending = co_await channel.serve(auth->expiry);

  entity->live->remove(me.get());
  pass_on_unanswered(ctx, *me);
  me->closing.reset();
  // The channel object stays with the listener (a send queued on this strand may still hold
  // it); its socket closes now.
  me->channel->stream().close();
  ctx.metrics.listener_disconnected();
  spdlog::info("listener disconnected: {} hc={} id={}: {}", in.tracking_id, entity->name(), me->id(), ending);
}

void recheck_listeners(const namespace_entry* before, const namespace_entry& after) {
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
      auto still = authorize_listener(after, *now->second, l->token());
      if (still) continue;
      spdlog::info("listener {} hc={}: its authorization no longer holds, closing: {}", l->id(),
                   now->second->name(), still.error().message);
      l->begin_close(1008, proto::close_reason("Authorization revoked: " + still.error().message));
    }
  }
}

}  // namespace hc::relay
