// net/frame_relay: relay_tunnel, the relay's ws<->ws data path (see pump.hpp). Each direction
// reads a frame header, then streams the payload through a pooled buffer into one frame of the
// same opcode, FIN and length on the other leg (unmasked: the relay is the server on both legs).
// Ping is answered on the leg it came from; Pong is dropped; Close is forwarded with its code and
// reason and ends that direction only. Frames pass untouched (text is NOT checked for UTF-8: the
// protocol relays bytes end to end and the endpoints own their messages), but what the relay
// itself must understand is checked: a frame that breaks RFC 6455 (bad header, continuation
// without a start, a new message inside a fragmented one, a Close with a bad code or a reason
// that is not UTF-8) gets Close 1002 on its own leg and 1001 on the other.
#include "net/buffer_pool.hpp"
#include "net/deadline.hpp"
#include "net/limits.hpp"
#include "net/pump.hpp"
#include "net/ws_channel.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>

#include <optional>

namespace hc::net {
using proto::opcode;

std::string_view to_string(pump_end e) {
  switch (e) {
    case pump_end::closed:
      return "closed";
    case pump_end::closed_error:
      return "closed with error";
    case pump_end::source_lost:
      return "source lost";
    case pump_end::dest_lost:
      return "destination lost";
  }
  return "?";
}

namespace {

struct direction_result {
  pump_end end;
  error_code ec;
};

class frame_tunnel {
 public:
  frame_tunnel(ws_connection& app, ws_connection& agent, tunnel_counters& counters)
      : app_(app), agent_(agent), counters_(counters) {}

  task<tunnel_result> run() {
    using namespace asio::experimental::awaitable_operators;
    auto [up, down] = co_await (forward(app_, agent_, counters_.app_to_agent) &&
                                forward(agent_, app_, counters_.agent_to_app));
    if (abort_) abort_->disarm();
    tunnel_result r;
    r.app_to_agent = up.end;
    r.agent_to_app = down.end;
    r.error = first_cause(up.ec, down.ec);
    co_return r;
  }

 private:
  // A frame cut in the middle cannot be completed on the other leg: no Close is possible there,
  // so both connections end at the TCP level and both peers see an error, not a clean end.
  void close_both() {
    app_.stream().close();
    agent_.stream().close();
  }

  // From the first Close we write for an error, both connections are closed after
  // limits::close_echo_timeout whatever the peers do. Armed before that Close is written: a leg
  // that takes nothing cannot hold the tunnel.
  task<> arm_deadline() {
    auto ex = co_await asio::this_coro::executor;  // own statement: net/types.hpp
    if (!abort_) abort_.emplace(ex, limits::close_echo_timeout, [this] { close_both(); });
  }

  // The source is gone without a Close: the destination gets 1001 and the deadline to answer.
  task<> abandon(ws_connection& to) {
    co_await arm_deadline();
    co_await to.write_close(1001, "the other side of the tunnel disconnected");
  }

  // Close 1002 to the leg that broke the protocol, 1001 to the other.
  task<direction_result> protocol_error(ws_connection& from, ws_connection& to) {
    co_await arm_deadline();
    co_await from.write_close(1002, "WebSocket protocol error");
    co_await abandon(to);
    co_return direction_result{pump_end::source_lost, proto::make_error_code(proto::errc::bad_request)};
  }

  // The loop an idle direction waits in keeps a small frame: what a frame needs (the control
  // answer, the writer, the pooled buffer) lives in the coroutine that handles it, only then.
  task<direction_result> forward(ws_connection& from, ws_connection& to, std::atomic<std::uint64_t>& bytes) {
    bool mid_message = false;  // a data frame without FIN came: only continuations may follow
    for (;;) {
      // No readiness wait first: a header is read into a small buffer, and the pooled payload
      // buffer is taken only once a data frame has arrived (an idle leg holds none either way).
      auto [ec, h] = co_await from.read_header();
      if (ec == proto::errc::bad_request) co_return co_await protocol_error(from, to);
      if (ec) co_return co_await source_lost(to, ec);
      if (proto::is_control(h.op)) {
        auto end = co_await control_frame(from, to, h);
        if (end) co_return *end;
        continue;
      }
      if ((h.op == opcode::continuation) != mid_message) co_return co_await protocol_error(from, to);
      mid_message = !h.fin;
      auto end = co_await data_frame(from, to, h, bytes);
      if (end) co_return *end;
    }
  }

  task<direction_result> source_lost(ws_connection& to, error_code ec) {
    co_await abandon(to);
    co_return direction_result{pump_end::source_lost, ec};
  }

  // Ping answered on its own leg, Pong dropped (per-leg keep-alive); a Close is forwarded.
  task<std::optional<direction_result>> control_frame(ws_connection& from, ws_connection& to,
                                                      proto::frame_header h) {
    auto answer = co_await answer_control(from, h);
    switch (answer.what) {
      case control_answer::kind::answered:
        co_return std::nullopt;
      case control_answer::kind::protocol_error:
        co_return co_await protocol_error(from, to);
      case control_answer::kind::lost:
        co_return co_await source_lost(to, answer.ec);
      case control_answer::kind::closed:
        break;
    }
    bool normal = answer.normal_close();
    auto wec = co_await to.write_close_raw(std::move(answer.close_payload));
    if (wec) co_return direction_result{pump_end::dest_lost, wec};
    co_return direction_result{normal ? pump_end::closed : pump_end::closed_error, {}};
  }

  // One data frame, streamed through a pooled buffer into a frame of the same opcode, FIN and
  // length on the other leg.
  task<std::optional<direction_result>> data_frame(ws_connection& from, ws_connection& to,
                                                   proto::frame_header h, std::atomic<std::uint64_t>& bytes) {
    auto writer = co_await to.begin_frame(h.op, h.fin, h.payload_length);
    if (h.payload_length == 0) {
      if (auto wec = co_await writer.finish()) {
        close_both();
        co_return direction_result{pump_end::dest_lost, wec};
      }
      co_return std::nullopt;
    }
    pooled_buffer buffer;
    while (from.payload_remaining() > 0) {
      auto r = co_await from.read_payload(asio::buffer(buffer.data(), buffer.size()));
      if (r.ec) {
        close_both();
        co_return direction_result{pump_end::source_lost, r.ec};
      }
      if (auto wec = co_await writer.write(std::span(buffer.data(), r.bytes))) {
        close_both();
        co_return direction_result{pump_end::dest_lost, wec};
      }
      bytes.fetch_add(r.bytes, std::memory_order_relaxed);
    }
    co_return std::nullopt;
  }

  ws_connection& app_;
  ws_connection& agent_;
  tunnel_counters& counters_;
  std::optional<deadline> abort_;  // armed once a leg is lost: closes both if the other stalls
};

}  // namespace

task<tunnel_result> relay_tunnel(ws_connection& app_side, ws_connection& agent_side,
                                 tunnel_counters& counters) {
  frame_tunnel t(app_side, agent_side, counters);
  co_return co_await t.run();
}

}  // namespace hc::net
