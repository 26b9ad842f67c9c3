// net/ws_channel: control frames and whole messages (see ws_channel.hpp).
#include "net/ws_channel.hpp"

namespace hc::net {
using proto::opcode;

task<control_answer> answer_control(ws_connection& ws, const proto::frame_header& h) {
  control_answer a;
  std::string payload;
  if (auto ec = co_await ws.read_control_payload(payload)) {
    a.what = control_answer::kind::lost;
    a.ec = ec;
    co_return a;
  }
  auto bytes = std::span(reinterpret_cast<std::uint8_t*>(payload.data()), payload.size());
  if (h.op == opcode::ping) {
    co_await ws.write_frame(opcode::pong, true, bytes);  // a failed write shows on the next read
  } else if (h.op == opcode::close) {
    auto info = proto::parse_close_payload(bytes);
    if (!info) {  // RFC 6455 §7.4, §8.1
      a.what = control_answer::kind::protocol_error;
      co_return a;
    }
    a.what = control_answer::kind::closed;
    a.close = std::move(*info);
    a.close_payload = std::move(payload);
  }
  co_return a;
}

task<channel_read> ws_channel::read_message() {
  channel_read out;
  bool in_message = false;  // a first fragment of the message being joined has been read
  for (;;) {
    auto [ec, h] = co_await ws_.read_header();
    if (ec) {
      out.what =
          ec == proto::errc::bad_request ? channel_read::kind::protocol_error : channel_read::kind::lost;
      out.ec = ec;
      co_return out;
    }
    ++frames_read_;
    if (proto::is_control(h.op)) {
      auto a = co_await answer_control(ws_, h);
      if (a.what == control_answer::kind::answered) continue;
      out.what = a.what == control_answer::kind::closed           ? channel_read::kind::closed
                 : a.what == control_answer::kind::protocol_error ? channel_read::kind::protocol_error
                                                                  : channel_read::kind::lost;
      out.close = std::move(a.close);
      out.close_payload = std::move(a.close_payload);
      out.ec = a.ec;
      co_return out;
    }
    bool continuation = h.op == opcode::continuation;
    if (skipping_) {  // the rest of a message too big (read_header discards an unread payload)
      if (!continuation) {
        out.what = channel_read::kind::protocol_error;
        co_return out;
      }
      skipping_ = !h.fin;
      continue;
    }
    if (continuation != in_message) {  // a continuation with nothing started, or a message inside one
      out.what = channel_read::kind::protocol_error;
      co_return out;
    }
    if (!continuation) out.op = h.op;
    if (out.data.size() + h.payload_length > max_message_bytes_) {
      skipping_ = !h.fin;
      out.what = channel_read::kind::too_big;
      out.data.clear();
      co_return out;
    }
    auto at = out.data.size();
    out.data.resize(at + std::size_t(h.payload_length));
    while (ws_.payload_remaining() > 0) {
      auto r = co_await ws_.read_payload(asio::buffer(out.data.data() + at, out.data.size() - at));
      if (r.ec) {
        out.what = channel_read::kind::lost;
        out.ec = r.ec;
        co_return out;
      }
      at += r.bytes;
    }
    if (h.fin) co_return out;
    in_message = true;
  }
}

}  // namespace hc::net
