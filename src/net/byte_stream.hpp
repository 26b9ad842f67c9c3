// net/byte_stream: one TCP connection, plain or TLS, behind a non-template interface so the
// concrete OpenSSL stream type is compiled once (byte_stream.cpp) and nowhere else.
// A byte_stream is owned by exactly one session coroutine at a time (moved, never shared); at
// most one read and one write may be pending, both from the owner's strand.
#pragma once
#include "net/types.hpp"

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace boost::asio::ssl {
class context;
}

namespace hc::net {

class byte_stream {
 public:
  byte_stream() = default;
  byte_stream(byte_stream&&) noexcept;
  byte_stream& operator=(byte_stream&&) noexcept;
  ~byte_stream();

  // Takes a connected socket; sets TCP_NODELAY (the first bytes of a tunnel must not wait).
  static byte_stream plain(tcp::socket socket);
  // Wraps the socket in TLS; call tls_accept or tls_connect before any read or write.
  static byte_stream tls(tcp::socket socket, asio::ssl::context& ctx);
  struct impl;
  // Wraps an implementation of byte_stream_impl.hpp: for in-memory test streams.
  static byte_stream adopt(std::unique_ptr<impl> implementation);

  task<error_code> tls_accept();
  // Before tls_connect: the ALPN list to offer (wire form, net/tls.hpp); after either handshake:
  // the protocol ALPN chose, "" when none.
  void offer_protocols(std::string_view wire_list);
  std::string negotiated_protocol() const;
  // SNI and host-name verification (DNS name or IP literal) against `host`.
  task<error_code> tls_connect(std::string_view host);

  // Reads at least one byte unless an error (eof at end of stream). A peer's reset is an error
  // here even when a concurrent write took the kernel's one report of it (see byte_stream.cpp).
  task<io_result> read_some(asio::mutable_buffer buffer);
  // Writes every byte of every buffer, gathered into as few syscalls as the layer allows.
  task<io_result> write(std::span<const asio::const_buffer> buffers);
  task<io_result> write(asio::const_buffer buffer);
  // Whatever can be read without waiting (0 bytes when nothing is there yet); eof and errors as
  // read_some reports them.
  io_result read_available(asio::mutable_buffer buffer);

  // TCP half-close of our sending side (plain streams; a TLS stream closes fully instead).
  void shutdown_send();
  // Until close(): if this process dies (kill -9, crash) or drops the stream without close(),
  // the kernel ends the connection with RST (SO_LINGER 0), so the peer never takes a cut stream
  // for a complete one. Tunnels arm it on their TCP side (pump.hpp).
  void reset_on_abandon();
  // Closes the connection with an orderly FIN (also when reset_on_abandon armed RST); pending
  // operations complete with operation_aborted.
  void close();
  // Closes with RST (SO_LINGER 0) so the peer sees an error rather than a clean end.
  void reset();

  // Keeps `resource` (e.g. the server's count of this connection) until the stream is closed or
  // destroyed, wherever the stream moves meanwhile. One per stream.
  void attach(std::shared_ptr<void> resource);

  bool is_open() const;
  bool is_tls() const;
  explicit operator bool() const { return impl_ != nullptr; }
  // "ip:port" of the peer, or "" when unknown.
  std::string remote_address() const;
  tcp::endpoint remote_endpoint() const;
  // From now on the peer is `client`: the one a trusted load balancer named (PROXY protocol)
  // rather than the balancer's own address.
  void set_remote_endpoint(const tcp::endpoint& client);
  tcp::socket& socket();

 private:
  explicit byte_stream(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace hc::net
