// net/byte_stream_impl: the interface behind byte_stream, shared by its two implementations
// (plain TCP in byte_stream.cpp, TLS in tls_stream.cpp) and by the unit tests' in-memory stream
// (byte_stream::adopt). Private to net/ otherwise.
#pragma once
#include "net/byte_stream.hpp"

#include <optional>

namespace hc::net {

struct byte_stream::impl {
  virtual ~impl() = default;
  virtual tcp::socket& socket() = 0;
  virtual task<io_result> read_some(asio::mutable_buffer b) = 0;
  virtual task<io_result> write(std::span<const asio::const_buffer> bufs) = 0;
  virtual io_result read_available(asio::mutable_buffer b) = 0;
  // TCP half-close of our sending side; a TLS stream does nothing (it closes fully instead).
  virtual void shutdown_send() {}
  virtual bool is_tls() const = 0;
  // TLS only: the handshake as server, or as client verifying `host`.
  virtual task<error_code> handshake(bool as_server, std::string_view host) = 0;
  // TLS only: ALPN (byte_stream::offer_protocols, negotiated_protocol).
  virtual void offer_protocols(std::string_view wire_list) {}
  virtual std::string negotiated_protocol() const { return {}; }
  // Called before an orderly close: the application protocol (WebSocket Close, HTTP response)
  // has ended the conversation, so the TLS session stays resumable.
  virtual void mark_orderly_end() {}
  // Called by close() (orderly) and reset() (`with_reset`) before they close socket(): the TCP
  // implementations need nothing more; an in-memory test stream tells its peer and wakes its
  // pending operations, as closing a socket does.
  virtual void on_close(bool with_reset) {}

  // The transport under the stream: a socket (the defaults, byte_stream.cpp), or a stream of a
  // multiplexed connection (h2_session.cpp), which overrides all four.
  virtual bool is_open();
  virtual tcp::endpoint remote_endpoint();
  // Closes the socket: orderly (FIN), or with RST when `with_reset`.
  virtual void close_transport(bool with_reset);
  // SO_LINGER 0 until close(): a dropped or crashed owner's peer sees RST.
  virtual void reset_on_abandon();

  std::shared_ptr<void> attachment;              // byte_stream::attach: released on close or destruction
  std::optional<tcp::endpoint> reported_remote;  // byte_stream::set_remote_endpoint
};

// tls_stream.cpp
std::unique_ptr<byte_stream::impl> make_tls_impl(tcp::socket socket, asio::ssl::context& ctx);

}  // namespace hc::net
