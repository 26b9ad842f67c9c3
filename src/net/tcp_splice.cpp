// net/tcp_splice: splice, the ws<->tcp data path of hcm and hcconnect (see pump.hpp). TCP bytes
// become binary frames (one per read, up to limits::pump_buffer_bytes); frames of any data
// opcode become TCP bytes. A normal Close (1000/1005) becomes a TCP half-close and TCP EOF a
// Close 1000; an error Close or a lost leg resets the TCP connection and sends Close 1011, so a
// cut stream is never mistaken for a complete one, not even when this process is killed (the
// TCP side is armed with SO_LINGER 0 until the caller's close()). The leg is pinged on a timer
// (Azure's load balancers cut idle connections) and a leg that stops answering is lost.
#include "net/buffer_pool.hpp"
#include "net/deadline.hpp"
#include "net/limits.hpp"
#include "net/pump.hpp"
#include "net/ws_channel.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <array>
#include <cstring>
#include <optional>
#include <tuple>

namespace hc::net {
using proto::opcode;

namespace {

// The first read of each burst from the TCP side (see tcp_to_ws).
constexpr std::size_t first_read_bytes = 1024;

struct direction_result {
  pump_end end;
  error_code ec;
};

class tcp_tunnel {
 public:
  tcp_tunnel(ws_connection& ws, byte_stream& tcp, tunnel_counters& counters, tunnel_side tcp_side,
             std::chrono::steady_clock::duration keepalive)
      : ws_(ws),
        tcp_(tcp),
        keepalive_(keepalive),
        tcp_is_app_(tcp_side == tunnel_side::app_side),
        tcp_to_ws_bytes_(tcp_is_app_ ? counters.app_to_agent : counters.agent_to_app),
        ws_to_tcp_bytes_(tcp_is_app_ ? counters.agent_to_app : counters.app_to_agent) {}

  task<tunnel_result> run() {
    using namespace asio::experimental::awaitable_operators;
    // Should this process die mid-stream, the TCP peer sees RST rather than the FIN the kernel
    // would otherwise send for us; the caller's close() after a clean end restores the FIN.
    tcp_.reset_on_abandon();
    auto ex = co_await asio::this_coro::executor;  // own statement: net/types.hpp
    pinger_.emplace(ex);
    auto ended = co_await (carry() && keep_alive());  // flattened: (from_tcp, from_ws, keep-alive)
    const auto& from_tcp = std::get<0>(ended);
    const auto& from_ws = std::get<1>(ended);
    if (abort_) abort_->disarm();
    tunnel_result r;
    r.app_to_agent = tcp_is_app_ ? from_tcp.end : from_ws.end;
    r.agent_to_app = tcp_is_app_ ? from_ws.end : from_tcp.end;
    r.error = std::get<2>(ended) ? std::get<2>(ended) : first_cause(from_tcp.ec, from_ws.ec);
    co_return r;
  }

 private:
  // Both directions; the keep-alive stops once they have ended.
  task<std::tuple<direction_result, direction_result>> carry() {
    using namespace asio::experimental::awaitable_operators;
    auto both = co_await (tcp_to_ws() && ws_to_tcp());
    carried_ = true;
    pinger_->cancel();
    co_return both;
  }

  // Pings the leg every keepalive_ while it is open. When nothing at all came back between one
  // Ping and the next tick, the leg is lost: the TCP side is reset and the WebSocket closed, which
  // ends both directions; returns timed_out then.
  task<error_code> keep_alive() {
    bool pinged = false;
    for (;;) {
      pinger_->expires_after(keepalive_);
      co_await pinger_->async_wait(use_tuple);
      if (carried_) co_return error_code{};
      if (pinged && !heard_) {
        tcp_.reset();
        ws_.stream().close();
        co_return make_error_code(asio::error::timed_out);
      }
      heard_ = false;
      pinged = !ws_.close_sent();  // after our Close, its echo deadline owns the end
      if (pinged) co_await ws_.write_frame(opcode::ping, true, {});
    }
  }

  // Sends an error Close and gives the WebSocket peer limits::close_echo_timeout to answer it.
  // The deadline runs from before the write: a peer that takes nothing cannot hold the tunnel.
  task<> close_with_error(std::uint16_t code, std::string reason) {
    auto ex = co_await asio::this_coro::executor;  // own statement: net/types.hpp
    if (!abort_)
      abort_.emplace(ex, limits::close_echo_timeout, [this] {
        ws_.stream().close();
        tcp_.reset();
      });
    co_await ws_.write_close(code, reason);
  }
  task<> tcp_failed(const error_code& ec) {
    return close_with_error(1011, "TCP connection failed: " + ec.message());
  }

  // The WebSocket peer broke the protocol: TCP is reset, the peer gets 1002.
  task<direction_result> protocol_error() {
    tcp_.reset();
    co_await close_with_error(1002, "WebSocket protocol error");
    co_return direction_result{pump_end::source_lost, proto::make_error_code(proto::errc::bad_request)};
  }

  // A quiet connection waits in a small read held by this frame (asio tries it at once and parks
  // it otherwise: no pooled buffer held and no epoll_ctl per message). A read that fills it
  // means more is waiting: that goes into a pooled buffer and out in the same frame.
  task<direction_result> tcp_to_ws() {
    for (;;) {
      std::array<std::uint8_t, first_read_bytes> first;
      auto r = co_await tcp_.read_some(asio::buffer(first));
      if (r.ec) co_return co_await tcp_ended(r.ec);
      if (r.bytes < first.size()) {
        auto failed = co_await forward(first.data(), r.bytes);
        if (failed) co_return *failed;
        continue;
      }
      pooled_buffer buffer;
      std::memcpy(buffer.data(), first.data(), r.bytes);
      auto more = tcp_.read_available(asio::buffer(buffer.data() + r.bytes, buffer.size() - r.bytes));
      auto failed = co_await forward(buffer.data(), r.bytes + more.bytes);
      if (failed) co_return *failed;
      if (more.ec) co_return co_await tcp_ended(more.ec);
    }
  }

  // TCP bytes out as one binary frame; a lost WebSocket leg resets the TCP side.
  task<std::optional<direction_result>> forward(std::uint8_t* data, std::size_t n) {
    auto ec = co_await ws_.write_frame(opcode::binary, true, std::span(data, n));
    if (ec) {
      tcp_.reset();
      co_return direction_result{pump_end::dest_lost, ec};
    }
    tcp_to_ws_bytes_.fetch_add(n, std::memory_order_relaxed);
    co_return std::nullopt;
  }

  // The TCP side ended: EOF becomes Close 1000, an error Close 1011.
  task<direction_result> tcp_ended(error_code ec) {
    if (ec == asio::error::eof) {
      co_await ws_.write_close(1000, "");
      co_return direction_result{pump_end::closed, {}};
    }
    if (!ws_.close_sent()) {
      co_await tcp_failed(ec);
    }
    co_return direction_result{pump_end::source_lost, ec};
  }

  // The loop an idle direction waits in keeps a small frame: a frame's control answer or pooled
  // buffer lives in the coroutine that handles it, only then.
  task<direction_result> ws_to_tcp() {
    for (;;) {
      // The header is read into a small buffer; the pooled one is taken only for a payload.
      auto [ec, h] = co_await ws_.read_header();
      heard_ = true;
      if (ec == proto::errc::bad_request) co_return co_await protocol_error();
      if (ec) {
        tcp_.reset();
        co_return direction_result{pump_end::source_lost, ec};
      }
      if (proto::is_control(h.op)) {
        auto end = co_await control_frame(h);
        if (end) co_return *end;
        continue;
      }
      auto end = co_await data_to_tcp();
      if (end) co_return *end;
    }
  }

  task<std::optional<direction_result>> control_frame(proto::frame_header h) {
    auto answer = co_await answer_control(ws_, h);
    switch (answer.what) {
      case control_answer::kind::answered:
        co_return std::nullopt;
      case control_answer::kind::lost:
        tcp_.reset();
        co_return direction_result{pump_end::source_lost, answer.ec};
      case control_answer::kind::protocol_error:
        co_return co_await protocol_error();
      case control_answer::kind::closed:
        break;
    }
    if (answer.normal_close()) {
      tcp_.shutdown_send();
      co_return direction_result{pump_end::closed, {}};
    }
    tcp_.reset();  // the far side failed: the local peer must see an error, not EOF
    co_await ws_.write_close_raw(std::move(answer.close_payload));
    co_return direction_result{pump_end::closed_error, {}};
  }

  // A data frame's payload out to TCP through a pooled buffer.
  task<std::optional<direction_result>> data_to_tcp() {
    pooled_buffer buffer;
    while (ws_.payload_remaining() > 0) {
      auto r = co_await ws_.read_payload(asio::buffer(buffer.data(), buffer.size()));
      if (r.ec) {
        tcp_.reset();
        co_return direction_result{pump_end::source_lost, r.ec};
      }
      auto w = co_await tcp_.write(asio::buffer(buffer.data(), r.bytes));
      if (w.ec) {
        co_await tcp_failed(w.ec);
        co_return direction_result{pump_end::dest_lost, w.ec};
      }
      ws_to_tcp_bytes_.fetch_add(r.bytes, std::memory_order_relaxed);
    }
    co_return std::nullopt;
  }

  ws_connection& ws_;
  byte_stream& tcp_;
  std::chrono::steady_clock::duration keepalive_;
  std::optional<asio::steady_timer> pinger_;  // keep_alive's timer; carry() cancels it
  bool carried_ = false;                      // both directions have ended
  bool heard_ = false;                        // a frame came from the leg since the last Ping
  bool tcp_is_app_;  // the TCP side is the app (hcconnect), not the agent's endpoint (hcm)
  std::atomic<std::uint64_t>& tcp_to_ws_bytes_;
  std::atomic<std::uint64_t>& ws_to_tcp_bytes_;
  std::optional<deadline> abort_;  // armed after an error Close: closes both if the peer stalls
};

}  // namespace

task<tunnel_result> splice(ws_connection& ws, byte_stream& tcp, tunnel_counters& counters,
                           tunnel_side tcp_side, std::chrono::steady_clock::duration keepalive) {
  tcp_tunnel t(ws, tcp, counters, tcp_side, keepalive);
  co_return co_await t.run();
}

}  // namespace hc::net
