// net/websocket: one WebSocket connection over a byte_stream using our own frame codec
// (proto/ws_frame), so that reads and writes are independent: a Close can be received and
// forwarded while our own sending side stays open (half-close). Frames are read header first,
// then payload in caller-sized pieces (no whole-message buffering). Writes are frame-atomic
// under a write lock; one reader and several writers may be active, all on the owner's strand.
#pragma once
#include "net/async_mutex.hpp"
#include "net/byte_stream.hpp"
#include "proto/ws_frame.hpp"

#include <chrono>
#include <optional>
#include <span>
#include <string>

namespace hc::net {

// A server reads masked frames and writes unmasked ones; a client the reverse.
enum class ws_role { server, client };

class ws_connection {
 public:
  ws_connection(byte_stream stream, ws_role role, std::string already_read = {});
  ws_connection(ws_connection&&) noexcept = default;
  ws_connection& operator=(ws_connection&&) noexcept = default;

  // --- reading (one reader at a time) ---
  // The next frame's header. A protocol violation (wrong masking, bad header) is reported as
  // proto::errc::bad_request; the caller answers it with Close 1002.
  task<std::pair<error_code, proto::frame_header>> read_header();
  // Up to `buffer.size()` bytes of the current frame's payload, unmasked. 0 bytes when the
  // payload is finished.
  task<io_result> read_payload(asio::mutable_buffer buffer);
  std::uint64_t payload_remaining() const { return remaining_; }
  // Reads a whole control-frame payload (at most 125 bytes) into `out`.
  task<error_code> read_control_payload(std::string& out);

  // --- writing (frame-atomic) ---
  // One whole frame. For a client, `payload` is masked in place (the caller gives up its bytes).
  task<error_code> write_frame(proto::opcode op, bool fin, std::span<std::uint8_t> payload);
  // The same, but a write that takes longer than `limit` once it has the connection (queued
  // frames ahead of it do not count) closes the stream and returns timed_out: for peers that
  // must not hold a writer (a listener that stops reading its control channel).
  task<error_code> write_frame_within(proto::opcode op, bool fin, std::span<std::uint8_t> payload,
                                      std::chrono::steady_clock::duration limit);
  task<error_code> write_text(std::string text);
  task<error_code> write_close(std::uint16_t code, std::string_view reason);
  task<error_code> write_close_raw(std::string payload);  // forwards a Close payload as received

  // Streams one frame of known length in pieces: the header goes out with the first piece.
  class frame_writer {
   public:
    frame_writer(frame_writer&&) noexcept;
    ~frame_writer();
    // Writes `piece` (masked in place for a client). The pieces must add up to the length given.
    task<error_code> write(std::span<std::uint8_t> piece);
    // Sends a header not yet sent (zero-length frames).
    task<error_code> finish();

   private:
    friend class ws_connection;
    frame_writer(ws_connection& c, proto::frame_header h);
    ws_connection* conn_;
    proto::frame_header header_;
    std::uint64_t written_ = 0;  // payload bytes written so far (mask offset for a client)
    bool header_sent_ = false;
  };
  task<frame_writer> begin_frame(proto::opcode op, bool fin, std::uint64_t length);

  byte_stream& stream() { return stream_; }
  ws_role role() const { return role_; }
  // Whether we have sent a Close: nothing but the peer's Close may follow (later frames are
  // dropped, and writing them reports success).
  bool close_sent() const { return close_sent_; }

 private:
  task<error_code> fill(std::size_t at_least);
  task<error_code> skip_payload();
  task<error_code> send_locked(proto::frame_header h, std::span<std::uint8_t> payload,
                               std::uint64_t mask_offset, bool with_header);

  byte_stream stream_;
  ws_role role_;
  std::string pending_;            // bytes read past the last header (payload start or next frame)
  proto::frame_header current_{};  // header of the frame whose payload is being read
  std::uint64_t remaining_ = 0;    // payload bytes of current_ not yet handed out
  std::uint64_t read_offset_ = 0;  // payload bytes of current_ already handed out (mask offset)
  std::unique_ptr<async_mutex> write_lock_ = std::make_unique<async_mutex>();
  bool close_sent_ = false;
};

// The 101 response for a server-side upgrade; `subprotocol` is echoed only when non-empty.
std::string format_upgrade_response(std::string_view client_key, std::string_view subprotocol);

}  // namespace hc::net
