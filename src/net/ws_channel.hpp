// net/ws_channel: the WebSocket chores every reader of a connection shares, written once:
// answering Ping with Pong, reading and checking a Close, and joining a fragmented message up to
// a size limit (with Ping/Pong/Close between its fragments). The pumps (frame_relay, tcp_splice)
// stream data frames themselves and call answer_control for the control frames between them;
// the control channels (relay/listen, manager/runner) read whole messages with ws_channel.
// Neither writes a Close: what to answer (echo, forward, 1002, 1009) is the caller's decision.
// Runs on the connection's strand, like the ws_connection it reads.
#pragma once
#include "net/websocket.hpp"

#include <cstdint>
#include <string>

namespace hc::net {

// What a control frame turned out to be once handled.
struct control_answer {
  enum class kind {
    answered,        // a Ping got its Pong, or a Pong was read (nothing to do)
    closed,          // the peer sent a valid Close: `close`, and `close_payload` as received
    protocol_error,  // a Close with a code that may not be sent or a reason that is not UTF-8
    lost,            // the connection failed while reading the payload: `ec`
  };
  kind what = kind::answered;
  proto::close_info close;
  std::string close_payload;  // to echo or forward untouched
  error_code ec;
  bool normal_close() const { return what == kind::closed && (close.code == 1000 || close.code == 1005); }
};

// `h` is a control frame's header just read from `ws`; reads its payload and answers a Ping.
task<control_answer> answer_control(ws_connection& ws, const proto::frame_header& h);

// What ws_channel::read_message found next.
struct channel_read {
  enum class kind {
    message,         // a whole data message: `op` (text or binary) and `data`
    closed,          // the peer's Close (as control_answer)
    too_big,         // the message would pass the limit; its remaining fragments are skipped
    protocol_error,  // a bad frame header, a stray continuation, a message inside another, bad Close
    lost,            // the connection failed: `ec`
  };
  kind what = kind::message;
  proto::opcode op = proto::opcode::text;
  std::string data;
  proto::close_info close;
  std::string close_payload;
  error_code ec;
};

class ws_channel {
 public:
  ws_channel(ws_connection& ws, std::size_t max_message_bytes)
      : ws_(ws), max_message_bytes_(max_message_bytes) {}

  // Reads until a whole data message, a Close or an error; Pings on the way are answered.
  task<channel_read> read_message();
  // For a keep-alive loop: counts the Ping it is about to send and returns how many Pings before
  // it went by with no frame at all from the peer (any frame proves it alive). Call once per Ping.
  int count_ping() {
    if (frames_read_ != frames_at_last_ping_) {
      frames_at_last_ping_ = frames_read_;
      unanswered_pings_ = 0;
    }
    return unanswered_pings_++;
  }

 private:
  ws_connection& ws_;
  std::size_t max_message_bytes_;
  std::uint64_t frames_read_ = 0;
  std::uint64_t frames_at_last_ping_ = 0;
  int unanswered_pings_ = 0;
  bool skipping_ = false;  // inside a message that is too big: its continuations follow
};

}  // namespace hc::net
