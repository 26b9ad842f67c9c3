// net/h2_session: one HTTP/2 connection (nghttp2, compiled only in h2_session.cpp) over a
// byte_stream, driven from Asio, carrying many streams: the relay serves WebSockets over
// extended CONNECT (RFC 8441) and plain requests on them, hcm and hcconnect open one stream per
// tunnel leg. Frames of every stream that are ready together leave in one write. Each stream
// has its own flow-control window, given back as its reader consumes, so one stream whose
// reader stalls stops only that stream (the connection window is given back on arrival). A lost
// connection ends each open stream as a reset, never as a clean end.
//
// Thread-safe: the connection's read and write loops run on the executor given to start();
// streams may be used from any strand (one reader and one writer at a time per stream), their
// state guarded by the session's mutex.
#pragma once
#include "net/byte_stream.hpp"
#include "net/http.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace hc::net {

struct h2_stream_state;
class h2_session;

// One stream: the data of one request and its response, or of one tunnel leg.
class h2_stream {
 public:
  h2_stream() = default;
  explicit h2_stream(std::shared_ptr<h2_stream_state> s) : s_(std::move(s)) {}

  // The peer's head: a server stream's request (":method", ":path", ... first, then the
  // fields), a client stream's response (":status" first) once response_head() returned.
  const header_list& peer_head() const;
  // The same, moved out (a server that has read what it needs keeps no copy for the stream's life).
  header_list take_peer_head();
  // Server: whether the peer's END_STREAM has arrived (with the head: a request without body).
  bool peer_ended() const;
  // Server: sends the response head once; the data written afterwards is its body.
  void respond(int status, const header_list& fields);
  // Client: waits for the response head; nullopt when the stream or the connection ended first.
  task<std::optional<int>> response_head();

  // Data, as byte_stream reads and writes it. eof after the peer's END_STREAM; connection_reset
  // after its RST_STREAM or when the connection is lost; operation_aborted after our close().
  task<io_result> read_some(asio::mutable_buffer b);
  io_result read_available(asio::mutable_buffer b);
  // Queues every byte; returns once the stream's queue is short again (the peer reads).
  task<io_result> write(std::span<const asio::const_buffer> bufs);
  // END_STREAM after the queued data (our half-close).
  void end();
  // Orderly close: END_STREAM after the queued data, nothing more read; a peer still sending is
  // told with RST_STREAM(NO_ERROR) once our END_STREAM is out.
  void close();
  // RST_STREAM(CANCEL): the peer's reads fail.
  void reset();
  bool is_open() const;

  tcp::endpoint remote_endpoint() const;
  bool over_tls() const;
  asio::any_io_executor executor() const;  // the connection's
  explicit operator bool() const { return s_ != nullptr; }

 private:
  std::shared_ptr<h2_stream_state> s_;
};

// The stream as a byte_stream (read, write, shutdown_send = END_STREAM, close, reset), so the
// WebSocket and HTTP code above works unchanged; dropping it without close() resets the stream.
byte_stream as_byte_stream(h2_stream stream);

struct h2_options {
  bool server = false;
  // Server: SETTINGS_MAX_CONCURRENT_STREAMS for the peer's streams.
  std::uint32_t max_concurrent_streams = 4096;
  // Each stream's receive window (bytes a peer may send before our reader consumes).
  std::uint32_t stream_window = 256 * 1024;
  // Client: a PING when the connection was silent this long; lost when the next one also goes
  // unanswered. Zero: none.
  std::chrono::steady_clock::duration keepalive = std::chrono::seconds(20);
  // Server: a connection with no stream for this long is closed (GOAWAY). Zero: never.
  std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(0);
  // A write of ours (one batch, about 64 KiB) that the peer's TCP has not taken in this long
  // loses the connection (each open stream a reset): a peer that stops reading cannot hold it,
  // or the streams waiting on it. A healthy peer reads its connection whatever its streams'
  // readers do (they have their own windows), so only a hung or hostile peer or a dead path (or
  // one under ~2 KiB/s) stalls this long. Zero: never.
  std::chrono::steady_clock::duration write_timeout = std::chrono::seconds(30);
};

class h2_session : public std::enable_shared_from_this<h2_session> {
 public:
  // Starts the connection on `connection` (TLS, h2 chosen by ALPN, or plaintext with prior
  // knowledge): sends the preface and SETTINGS (a server: ENABLE_CONNECT_PROTOCOL) and runs the
  // read and write loops on `ex` until the connection ends.
  static std::shared_ptr<h2_session> start(asio::any_io_executor ex, byte_stream connection,
                                           h2_options options);
  ~h2_session();

  // Server: the next stream the peer opened, with its request head complete; nullopt once the
  // connection has ended.
  task<std::optional<h2_stream>> next_stream();

  // Client: waits for the server's SETTINGS; false when the connection ended first.
  task<bool> ready();
  // Whether the server's SETTINGS allow extended CONNECT (RFC 8441). After ready().
  bool accepts_websocket() const;
  // Client: opens a stream with `head` (pseudo-header fields ":method", ":path", ... first).
  // An empty stream when the connection cannot take one more (ended, going away, full).
  h2_stream open(const header_list& head);

  // Streams open now; whether new streams may be opened (not lost, not going away, not full).
  std::size_t open_streams() const;
  bool usable() const;
  // GOAWAY, then the connection closes once the write loop has sent it; open streams are reset.
  void shut_down();

  struct core;

 private:
  explicit h2_session(std::shared_ptr<core> c);
  std::shared_ptr<core> core_;
};

}  // namespace hc::net
