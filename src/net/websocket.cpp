// net/websocket: frame reading and frame-atomic writing on a byte_stream (see websocket.hpp).
#include "net/websocket.hpp"

#include "net/deadline.hpp"

#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <array>
#include <cstring>

namespace hc::net {
using proto::frame_header;
using proto::opcode;

ws_connection::ws_connection(byte_stream stream, ws_role role, std::string already_read)
    : stream_(std::move(stream)), role_(role), pending_(std::move(already_read)) {}

task<error_code> ws_connection::fill(std::size_t at_least) {
  while (pending_.size() < at_least) {
    // Small: an idle connection keeps this read waiting for its next frame. A frame header is at
    // most 14 bytes; a payload beyond what arrives with it is read straight into the caller's buffer.
    std::array<char, 128> chunk;
    auto [ec, n] = co_await stream_.read_some(asio::buffer(chunk));
    if (ec) co_return ec;
    pending_.append(chunk.data(), n);
  }
  co_return error_code{};
}

// Its own coroutine: the sink buffer is then not part of read_header's frame, which an idle
// connection keeps while it waits for the next frame.
task<error_code> ws_connection::skip_payload() {
  std::array<std::uint8_t, 4096> sink;
  while (remaining_ > 0) {
    auto r = co_await read_payload(asio::buffer(sink));
    if (r.ec) co_return r.ec;
  }
  co_return error_code{};
}

task<std::pair<error_code, frame_header>> ws_connection::read_header() {
  if (remaining_ > 0) {  // a caller that stopped reading the previous payload early
    auto skipped = co_await skip_payload();
    if (skipped) co_return std::pair{skipped, frame_header{}};
  }
  for (;;) {
    auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(pending_.data()), pending_.size());
    auto decoded = proto::decode_frame_header(bytes);
    if (!decoded) co_return std::pair{proto::make_error_code(proto::errc::bad_request), frame_header{}};
    if (decoded->has_value()) {
      const auto& [header, used] = **decoded;
      bool must_be_masked = role_ == ws_role::server;
      if (header.masked != must_be_masked)
        co_return std::pair{proto::make_error_code(proto::errc::bad_request), frame_header{}};
      pending_.erase(0, used);
      current_ = header;
      remaining_ = header.payload_length;
      read_offset_ = 0;
      co_return std::pair{error_code{}, header};
    }
    if (auto ec = co_await fill(pending_.size() + 1)) co_return std::pair{ec, frame_header{}};
  }
}

task<io_result> ws_connection::read_payload(asio::mutable_buffer buffer) {
  if (remaining_ == 0 || buffer.size() == 0) co_return io_result{};
  std::size_t want = std::size_t(std::min<std::uint64_t>(remaining_, buffer.size()));
  auto* out = static_cast<std::uint8_t*>(buffer.data());
  std::size_t got = 0;
  if (!pending_.empty()) {
    got = std::min(want, pending_.size());
    std::memcpy(out, pending_.data(), got);
    pending_.erase(0, got);
  } else {
    auto [ec, n] = co_await stream_.read_some(asio::buffer(out, want));
    if (ec) co_return io_result{ec, 0};
    got = n;
  }
  if (current_.masked) proto::apply_mask(std::span(out, got), current_.mask, read_offset_);
  read_offset_ += got;
  remaining_ -= got;
  co_return io_result{{}, got};
}

task<error_code> ws_connection::read_control_payload(std::string& out) {
  out.resize(std::size_t(remaining_));
  std::size_t at = 0;
  while (remaining_ > 0) {
    auto r = co_await read_payload(asio::buffer(out.data() + at, out.size() - at));
    if (r.ec) co_return r.ec;
    at += r.bytes;
  }
  co_return error_code{};
}

task<error_code> ws_connection::send_locked(frame_header h, std::span<std::uint8_t> payload,
                                            std::uint64_t mask_offset, bool with_header) {
  if (h.masked) proto::apply_mask(payload, h.mask, mask_offset);
  std::array<std::uint8_t, proto::max_frame_header_bytes> head;
  std::size_t head_size = with_header ? proto::encode_frame_header(h, head) : 0;
  std::array<asio::const_buffer, 2> bufs{asio::buffer(head.data(), head_size),
                                         asio::buffer(payload.data(), payload.size())};
  auto r = co_await stream_.write(bufs);
  co_return r.ec;
}

task<error_code> ws_connection::write_frame(opcode op, bool fin, std::span<std::uint8_t> payload) {
  co_return co_await write_frame_within(op, fin, payload, std::chrono::steady_clock::duration::max());
}

task<error_code> ws_connection::write_frame_within(opcode op, bool fin, std::span<std::uint8_t> payload,
                                                   std::chrono::steady_clock::duration limit) {
  frame_header h;
  h.fin = fin;
  h.op = op;
  h.payload_length = payload.size();
  if (role_ == ws_role::client) {
    h.masked = true;
    h.mask = proto::new_mask_key();
  }
  co_await write_lock_->lock();
  if (close_sent_) {  // nothing may follow our Close (RFC 6455 §5.5.1)
    write_lock_->unlock();
    co_return error_code{};
  }
  if (op == opcode::close) close_sent_ = true;
  std::optional<deadline> too_slow;
  if (limit != std::chrono::steady_clock::duration::max()) {
    auto ex = co_await asio::this_coro::executor;  // own statement: net/types.hpp
    too_slow.emplace(ex, limit, [this] { stream_.close(); });
  }
  auto ec = co_await send_locked(h, payload, 0, true);
  write_lock_->unlock();
  if (too_slow && too_slow->expired()) ec = asio::error::timed_out;
  co_return ec;
}

task<error_code> ws_connection::write_text(std::string text) {
  co_return co_await write_frame(opcode::text, true,
                                 std::span(reinterpret_cast<std::uint8_t*>(text.data()), text.size()));
}

task<error_code> ws_connection::write_close_raw(std::string payload) {
  co_return co_await write_frame(opcode::close, true,
                                 std::span(reinterpret_cast<std::uint8_t*>(payload.data()), payload.size()));
}

task<error_code> ws_connection::write_close(std::uint16_t code, std::string_view reason) {
  co_return co_await write_close_raw(proto::build_close_payload(code, reason));
}

ws_connection::frame_writer::frame_writer(ws_connection& c, frame_header h) : conn_(&c), header_(h) {}

ws_connection::frame_writer::frame_writer(frame_writer&& o) noexcept
    : conn_(o.conn_), header_(o.header_), written_(o.written_), header_sent_(o.header_sent_) {
  o.conn_ = nullptr;
}

ws_connection::frame_writer::~frame_writer() {
  if (conn_) conn_->write_lock_->unlock();
}

task<error_code> ws_connection::frame_writer::write(std::span<std::uint8_t> piece) {
  // A frame begun after our Close (the lock is held from begin_frame on) is dropped as a whole.
  if (conn_->close_sent_) co_return error_code{};
  auto ec = co_await conn_->send_locked(header_, piece, written_, !header_sent_);
  header_sent_ = true;
  written_ += piece.size();
  co_return ec;
}

task<error_code> ws_connection::frame_writer::finish() {
  if (header_sent_) co_return error_code{};
  co_return co_await write({});
}

task<ws_connection::frame_writer> ws_connection::begin_frame(opcode op, bool fin, std::uint64_t length) {
  frame_header h;
  h.fin = fin;
  h.op = op;
  h.payload_length = length;
  if (role_ == ws_role::client) {
    h.masked = true;
    h.mask = proto::new_mask_key();
  }
  co_await write_lock_->lock();
  co_return frame_writer(*this, h);
}

std::string format_upgrade_response(std::string_view client_key, std::string_view subprotocol) {
  std::string out =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
      "Upgrade\r\nSec-WebSocket-Accept: ";
  out += proto::websocket_accept_key(client_key);
  out += "\r\n";
  if (!subprotocol.empty()) out.append("Sec-WebSocket-Protocol: ").append(subprotocol).append("\r\n");
  out += "\r\n";
  return out;
}

}  // namespace hc::net
