// relay/listener_session: run_listener, one listener's control channel (protocol doc §3):
// authorize (Listen), take one of the 25 slots, answer 101, then read the listener's
// messages: renewToken (verified, extends the token deadline), Ping (answered), Close (echoed).
// Accept messages are written by sender sessions through listener::send_text on this strand.
// A frame that breaks RFC 6455 (bad header, stray continuation, bad Close payload) gets 1002.
// The token deadline is `se` + limits::token_grace; past it the channel is closed with 1008.
#include "net/limits.hpp"
#include "proto/control_messages.hpp"
#include "relay/authorizer.hpp"
#include "relay/gestures.hpp"
#include "relay/listener_registry.hpp"
#include "relay/rendezvous.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/this_coro.hpp>

namespace hc::relay {
namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Closes the channel with 1008 when the token's grace runs out.
void arm_token_deadline(std::optional<net::deadline>& timer, const std::shared_ptr<listener>& me,
                        std::int64_t expiry) {
  auto grace_end = std::chrono::seconds(expiry - unix_now()) + net::limits::token_grace;
  timer.reset();
  timer.emplace(me->executor(), grace_end,
                [me] { me->begin_close(1008, "The token has expired; send renewToken"); });
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
  auto auth = authorize(ns, entity.get(), entity->name(), proto::rights::listen,
                        token_from(in.request, in.target.token), unix_now());
  if (!auth) {
    ctx.metrics.auth_failure("listen", auth.error().status);
    ctx.sources.record_failure(in.stream.remote_endpoint().address());
    spdlog::info("listener refused: {} {} {}: {}", in.tracking_id, entity->name(), in.stream.remote_address(),
                 auth.error().message);
    co_await refuse(in.stream, auth.error(), ns.host(), entity->name(), in.tracking_id);
    co_return;
  }
  auto key = in.request.header("Sec-WebSocket-Key");
  if (key.empty()) {
    co_await refuse(in.stream,
                    proto::error::bad_request("The upgrade request has no Sec-WebSocket-Key header"),
                    ns.host(), entity->name(), in.tracking_id);
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
  if (!entity->live->add(me, net::limits::max_listeners_per_hc)) {
    co_await refuse(
        in.stream,
        proto::error::forbidden("Quota exceeded: hybrid connection '" + entity->name() + "' already has " +
                                std::to_string(net::limits::max_listeners_per_hc) +
                                " listeners, the maximum; stop one before adding another"),
        ns.host(), entity->name(), in.tracking_id);
    co_return;
  }
  auto upgrade = net::format_upgrade_response(key, {});
  if (auto w = co_await in.stream.write(net::asio::buffer(upgrade)); w.ec) {
    entity->live->remove(me.get());
    co_return;
  }
  me->channel.emplace(std::move(in.stream), net::ws_role::server, std::move(in.leftover));
  ctx.metrics.listener_connected();
  spdlog::info("listener connected: {} hc={} id={} from={} agent=\"{}\"", in.tracking_id, entity->name(),
               me->id(), me->remote_address(), me->agent());

  std::optional<net::deadline> token_deadline;
  arm_token_deadline(token_deadline, me, auth->expiry);
  std::string ending = "connection lost";
  std::string message;
  bool skipped_message = false;  // a message without FIN is being skipped: its continuations follow
  for (;;) {
    auto [ec, h] = co_await me->channel->read_header();
    if (ec) {
      if (ec == proto::errc::bad_request) {
        co_await me->channel->write_close(1002, "WebSocket protocol error");
        ending = "protocol error";
      }
      break;
    }
    if (h.op == proto::opcode::continuation && skipped_message) {  // the rest of a skipped message
      skipped_message = !h.fin;
      continue;
    }
    if (h.op == proto::opcode::continuation) {  // a continuation with no message started
      co_await me->channel->write_close(1002, "WebSocket protocol error");
      ending = "protocol error";
      break;
    }
    if (h.op == proto::opcode::text) {
      auto [rec, complete] = co_await read_text_message(*me, h, message);
      if (rec == proto::errc::bad_request) {
        co_await me->channel->write_close(1002, "WebSocket protocol error");
        ending = "protocol error";
        break;
      }
      if (rec) break;
      skipped_message = !complete;  // too large: 1009 is on its way, the rest is skipped
      if (!complete) continue;
      auto command = proto::parse_listener_command(message);
      if (!command) {
        spdlog::warn("listener {} sent an unreadable control message: {}", me->id(), command.error().message);
        continue;
      }
      if (auto* renew = std::get_if<proto::renew_token_message>(&*command)) {
        auto renewed =
            authorize(*in.ns, entity.get(), entity->name(), proto::rights::listen, renew->token, unix_now());
        if (!renewed) {
          ctx.metrics.auth_failure("renewToken", renewed.error().status);
          ctx.sources.record_failure(me->channel->stream().remote_endpoint().address());
          me->begin_close(1008, proto::close_reason("renewToken refused: " + renewed.error().message));
          continue;
        }
        arm_token_deadline(token_deadline, me, renewed->expiry);
      } else {
        spdlog::debug("listener {} sent unknown command '{}'", me->id(),
                      std::get<proto::unknown_command>(*command).name);
      }
      continue;
    }
    if (proto::is_control(h.op)) {
      std::string payload;
      if (co_await me->channel->read_control_payload(payload)) break;
      if (h.op == proto::opcode::ping) {
        co_await me->channel->write_frame(
            proto::opcode::pong, true,
            std::span(reinterpret_cast<std::uint8_t*>(payload.data()), payload.size()));
      } else if (h.op == proto::opcode::close) {
        auto info = proto::parse_close_payload(
            std::span(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()));
        if (!info) {  // a bad code or a reason that is not UTF-8 (RFC 6455 §7.4, §8.1)
          co_await me->channel->write_close(1002, "WebSocket protocol error");
          ending = "protocol error";
          break;
        }
        co_await me->channel->write_close_raw(std::move(payload));
        ending = "closed by listener";
        break;
      }
      continue;
    }
    // Binary frames (HTTP-mode response bodies) are not used by this relay yet: skip them.
    skipped_message = !h.fin;
  }
  token_deadline.reset();
  entity->live->remove(me.get());
  // Senders whose accept this listener never answered learn it now, not after 30 s.
  for (auto& [key, weak] : me->take_unanswered()) {
    auto pending = weak.lock();
    if (!pending || !ctx.rendezvous.take(key)) continue;  // answered, or already timed out
    rendezvous_outcome gone;
    gone.reject_status = 502;
    gone.reject_description = "The listener disconnected before it accepted the connection";
    pending->deliver(std::move(gone));
  }
  me->closing.reset();
  me->channel->stream().close();
  me->channel.reset();
  ctx.metrics.listener_disconnected();
  spdlog::info("listener disconnected: {} hc={} id={}: {}", in.tracking_id, entity->name(), me->id(), ending);
}

}  // namespace hc::relay
