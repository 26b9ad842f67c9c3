// tests/unit/memory_stream: an in-memory byte_stream for unit tests of the data path, on one
// io_context, single-threaded and deterministic. make_memory_stream gives the byte_stream the code
// under test uses and a memory_peer the test drives synchronously: it sends bytes, FIN or RST,
// scripts faults (fail the Nth read or write, stall), and observes what the stream did (the bytes
// it wrote, FIN, RST, close). Also the WebSocket frames a test sends and reads back (proto/ws_frame).
#pragma once
#include "net/byte_stream_impl.hpp"
#include "proto/ws_frame.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace hc::net::in_memory {

// What both ends share: bytes each way, how each end ended, the scripted faults.
struct memory_link {
  explicit memory_link(asio::io_context& io)
      : io(io), wake_stream(io, std::chrono::steady_clock::time_point::max()) {}

  asio::io_context& io;
  std::string to_stream;          // sent by the peer, not yet read by the stream
  std::string from_stream;        // everything the stream wrote (the peer keeps it all)
  bool peer_fin = false;          // the peer half-closed: the stream reads eof once to_stream is empty
  bool peer_reset = false;        // the peer reset: the stream's reads and writes fail
  bool stream_fin = false;        // the stream half-closed or closed orderly
  bool stream_reset = false;      // the stream ended with RST (byte_stream::reset)
  bool stream_closed = false;     // close() or reset(): pending and later operations are aborted
  bool stalled = false;           // the stream's reads and writes wait until it is closed
  bool peer_not_reading = false;  // the stream's writes wait until it is closed; reads go on
  int reads = 0;                  // read_some calls so far
  int writes = 0;                 // write calls so far
  int fail_read_at = 0;           // read_some call (1-based) that fails with read_error; 0 = none
  int fail_write_at = 0;          // write call (1-based) that fails with write_error; 0 = none
  error_code read_error;
  error_code write_error;
  // Never expires: cancel() wakes every operation of the stream waiting on it (at most one read
  // and one write), which then look at the state again.
  asio::steady_timer wake_stream;
};

// The stream end, as byte_stream sees it.
class memory_stream_impl final : public byte_stream::impl {
 public:
  explicit memory_stream_impl(std::shared_ptr<memory_link> link)
      : link_(std::move(link)), socket_(link_->io) {}

  tcp::socket& socket() override { return socket_; }  // never opened: its calls fail and are ignored

  task<io_result> read_some(asio::mutable_buffer b) override {
    auto& l = *link_;
    if (++l.reads == l.fail_read_at) co_return io_result{l.read_error, 0};
    for (;;) {
      if (l.stream_closed) co_return io_result{asio::error::operation_aborted, 0};
      if (!l.stalled) {
        if (l.peer_reset) co_return io_result{asio::error::connection_reset, 0};
        if (!l.to_stream.empty()) co_return io_result{{}, take(b)};
        if (l.peer_fin) co_return io_result{asio::error::eof, 0};
      }
      co_await l.wake_stream.async_wait(use_tuple);
    }
  }

  task<io_result> write(std::span<const asio::const_buffer> bufs) override {
    auto& l = *link_;
    if (++l.writes == l.fail_write_at) co_return io_result{l.write_error, 0};
    while ((l.stalled || l.peer_not_reading) && !l.stream_closed)
      co_await l.wake_stream.async_wait(use_tuple);
    if (l.stream_closed) co_return io_result{asio::error::operation_aborted, 0};
    if (l.peer_reset) co_return io_result{asio::error::connection_reset, 0};
    if (l.stream_fin) co_return io_result{asio::error::broken_pipe, 0};
    std::size_t n = 0;
    for (const auto& b : bufs) {
      l.from_stream.append(static_cast<const char*>(b.data()), b.size());
      n += b.size();
    }
    co_return io_result{{}, n};
  }

  io_result read_available(asio::mutable_buffer b) override {
    auto& l = *link_;
    if (l.stream_closed) return io_result{asio::error::operation_aborted, 0};
    if (l.stalled) return io_result{};
    if (l.peer_reset) return io_result{asio::error::connection_reset, 0};
    if (!l.to_stream.empty()) return io_result{{}, take(b)};
    if (l.peer_fin) return io_result{asio::error::eof, 0};
    return io_result{};
  }

  void shutdown_send() override { link_->stream_fin = true; }
  bool is_tls() const override { return false; }
  task<error_code> handshake(bool, std::string_view) override {
    co_return asio::error::operation_not_supported;
  }

  void on_close(bool with_reset) override {
    auto& l = *link_;
    if (l.stream_closed) return;  // as for a socket: only the first close counts
    l.stream_closed = true;
    (with_reset ? l.stream_reset : l.stream_fin) = true;
    l.wake_stream.cancel();
  }

 private:
  std::size_t take(asio::mutable_buffer b) {
    auto& pending = link_->to_stream;
    std::size_t n = std::min(b.size(), pending.size());
    std::memcpy(b.data(), pending.data(), n);
    pending.erase(0, n);
    return n;
  }

  std::shared_ptr<memory_link> link_;
  tcp::socket socket_;
};

// The test's end. Every call acts at once; the stream's operations see it when the io_context
// runs next.
class memory_peer {
 public:
  explicit memory_peer(std::shared_ptr<memory_link> link) : link_(std::move(link)) {}

  void send(std::string_view bytes) {
    link_->to_stream.append(bytes);
    link_->wake_stream.cancel();
  }
  void send_fin() {
    link_->peer_fin = true;
    link_->wake_stream.cancel();
  }
  // RST: the stream's reads fail with connection_reset (bytes not yet read are lost), its writes too.
  void reset_now() {
    link_->peer_reset = true;
    link_->wake_stream.cancel();
  }
  // The stream's reads and writes from now on wait until the stream is closed.
  void stall() { link_->stalled = true; }
  // The peer sends (what it sent and sends is read) but takes nothing: the stream's writes wait
  // until it is closed.
  void stop_reading() { link_->peer_not_reading = true; }
  // The stream's nth read_some (counted from 1; read_available does not count) fails with `ec`.
  void fail_read(int nth, error_code ec = asio::error::connection_reset) {
    link_->fail_read_at = nth;
    link_->read_error = ec;
  }
  // The stream's nth write (counted from 1) fails with `ec` and writes nothing.
  void fail_write(int nth, error_code ec = asio::error::broken_pipe) {
    link_->fail_write_at = nth;
    link_->write_error = ec;
  }

  // What the stream did: every byte it wrote; FIN (shutdown_send or close) unless it reset; RST;
  // close() or reset().
  const std::string& received() const { return link_->from_stream; }
  bool saw_fin() const { return link_->stream_fin && !link_->stream_reset; }
  bool saw_reset() const { return link_->stream_reset; }
  bool stream_closed() const { return link_->stream_closed; }

 private:
  std::shared_ptr<memory_link> link_;
};

struct memory_stream_pair {
  byte_stream stream;
  memory_peer peer;
};

inline memory_stream_pair make_memory_stream(asio::io_context& io) {
  auto link = std::make_shared<memory_link>(io);
  return {byte_stream::adopt(std::make_unique<memory_stream_impl>(link)), memory_peer(link)};
}

// --- WebSocket frames, as a peer sends and reads them ---

// A client's frames are masked (fixed key: tests need no randomness), a server's are not.
inline std::string frame_bytes(proto::opcode op, bool fin, std::string_view payload, bool masked) {
  proto::frame_header h;
  h.op = op;
  h.fin = fin;
  h.masked = masked;
  h.mask = {0x12, 0x34, 0x56, 0x78};
  h.payload_length = payload.size();
  std::array<std::uint8_t, proto::max_frame_header_bytes> head;
  std::size_t head_size = proto::encode_frame_header(h, head);
  std::string out(reinterpret_cast<const char*>(head.data()), head_size);
  std::string body(payload);
  if (masked)
    proto::apply_mask(std::span(reinterpret_cast<std::uint8_t*>(body.data()), body.size()), h.mask, 0);
  return out + body;
}

inline std::string close_frame_bytes(std::uint16_t code, std::string_view reason, bool masked) {
  return frame_bytes(proto::opcode::close, true, proto::build_close_payload(code, reason), masked);
}

struct seen_frame {
  proto::opcode op;
  bool fin;
  bool masked;
  std::string payload;  // unmasked
};

// The whole frames in `bytes`, in order; a frame cut short at the end is left out (`cut` says so).
inline std::vector<seen_frame> frames_in(std::string_view bytes, bool* cut = nullptr) {
  std::vector<seen_frame> frames;
  for (;;) {
    auto span = std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    auto decoded = proto::decode_frame_header(span);
    if (!decoded || !decoded->has_value() ||
        bytes.size() < (*decoded)->header_bytes + (*decoded)->header.payload_length) {
      if (cut) *cut = !bytes.empty();
      return frames;
    }
    const auto& [h, used] = **decoded;
    std::string payload(bytes.substr(used, std::size_t(h.payload_length)));
    if (h.masked)
      proto::apply_mask(std::span(reinterpret_cast<std::uint8_t*>(payload.data()), payload.size()), h.mask,
                        0);
    frames.push_back(seen_frame{h.op, h.fin, h.masked, std::move(payload)});
    bytes.remove_prefix(used + std::size_t(h.payload_length));
  }
}

}  // namespace hc::net::in_memory
