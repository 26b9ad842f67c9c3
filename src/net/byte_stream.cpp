// net/byte_stream: the two concrete stream types (tcp::socket and ssl::stream<tcp::socket>)
// behind byte_stream's virtual interface. This is the one translation unit that instantiates
// the OpenSSL stream's async operations.
#include "net/byte_stream.hpp"

#include "net/tls.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

namespace hc::net {

struct byte_stream::impl {
  virtual ~impl() = default;
  virtual tcp::socket& socket() = 0;
  virtual task<io_result> read_some(asio::mutable_buffer b) = 0;
  virtual task<io_result> write(std::span<const asio::const_buffer> bufs) = 0;
  virtual bool has_buffered_input() const { return false; }
  virtual bool is_tls() const = 0;
  // Called before an orderly close: the application protocol (WebSocket Close, HTTP response)
  // has ended the conversation, so the TLS session stays resumable.
  virtual void mark_orderly_end() {}
};

namespace {

void set_nodelay(tcp::socket& s) {
  error_code ignored;  // a socket that is already closed fails later, on its first read
  s.set_option(tcp::no_delay(true), ignored);
}

struct plain_impl final : byte_stream::impl {
  explicit plain_impl(tcp::socket s) : socket_(std::move(s)) {}
  tcp::socket& socket() override { return socket_; }
  task<io_result> read_some(asio::mutable_buffer b) override {
    auto [ec, n] = co_await socket_.async_read_some(b, use_tuple);
    co_return io_result{ec, n};
  }
  task<io_result> write(std::span<const asio::const_buffer> bufs) override {
    auto [ec, n] = co_await asio::async_write(socket_, bufs, use_tuple);
    co_return io_result{ec, n};
  }
  bool is_tls() const override { return false; }
  tcp::socket socket_;
};

struct tls_impl final : byte_stream::impl {
  tls_impl(tcp::socket s, asio::ssl::context& ctx) : stream_(std::move(s), ctx) {}
  tcp::socket& socket() override { return stream_.next_layer(); }
  task<io_result> read_some(asio::mutable_buffer b) override {
    auto [ec, n] = co_await stream_.async_read_some(b, use_tuple);
    co_return io_result{ec, n};
  }
  task<io_result> write(std::span<const asio::const_buffer> bufs) override {
    auto [ec, n] = co_await asio::async_write(stream_, bufs, use_tuple);
    co_return io_result{ec, n};
  }
  // Decrypted bytes (SSL_pending) are not enough: one socket read can bring several TLS records,
  // and those after the first wait undecrypted in the BIO pair asio feeds OpenSSL through. The
  // socket is then no longer readable, so a wait on it would sleep on data already here.
  bool has_buffered_input() const override {
    SSL* ssl = const_cast<asio::ssl::stream<tcp::socket>&>(stream_).native_handle();
    return SSL_pending(ssl) > 0 || SSL_has_pending(ssl) || BIO_ctrl_pending(SSL_get_rbio(ssl)) > 0;
  }
  bool is_tls() const override { return true; }
  // Without this OpenSSL treats the session as broken when the SSL object is freed and refuses to
  // resume it (or any ticket it brought).
  void mark_orderly_end() override { SSL_set_shutdown(stream_.native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN); }
  asio::ssl::stream<tcp::socket> stream_;
};

}  // namespace

byte_stream::byte_stream(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
byte_stream::byte_stream(byte_stream&&) noexcept = default;
byte_stream& byte_stream::operator=(byte_stream&&) noexcept = default;
byte_stream::~byte_stream() = default;

byte_stream byte_stream::plain(tcp::socket socket) {
  set_nodelay(socket);
  return byte_stream(std::make_unique<plain_impl>(std::move(socket)));
}

byte_stream byte_stream::tls(tcp::socket socket, asio::ssl::context& ctx) {
  set_nodelay(socket);
  return byte_stream(std::make_unique<tls_impl>(std::move(socket), ctx));
}

task<error_code> byte_stream::tls_accept() {
  auto& s = static_cast<tls_impl&>(*impl_).stream_;
  auto [ec] = co_await s.async_handshake(asio::ssl::stream_base::server, use_tuple);
  co_return ec;
}

task<error_code> byte_stream::tls_connect(std::string_view host) {
  auto& s = static_cast<tls_impl&>(*impl_).stream_;
  std::string name(host);
  SSL* ssl = s.native_handle();
  error_code parse_ec;
  auto ip = asio::ip::make_address(name, parse_ec);
  if (parse_ec) {
    // SNI only for DNS names (RFC 6066 forbids IP literals); verify the name against the SAN.
    SSL_set_tlsext_host_name(ssl, name.c_str());
    SSL_set1_host(ssl, name.c_str());
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip.to_string().c_str());
  }
  error_code port_ec;
  auto remote = s.next_layer().remote_endpoint(port_ec);
  prepare_client_session(ssl, name + ":" + std::to_string(remote.port()));
  auto [ec] = co_await s.async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (!ec) spdlog::debug("TLS to {}:{}: {} handshake", name, remote.port(), SSL_session_reused(ssl) ? "resumed" : "full");
  co_return ec;
}

task<io_result> byte_stream::read_some(asio::mutable_buffer buffer) { return impl_->read_some(buffer); }

task<io_result> byte_stream::write(std::span<const asio::const_buffer> buffers) { return impl_->write(buffers); }

task<io_result> byte_stream::write(asio::const_buffer buffer) {
  std::array<asio::const_buffer, 1> one{buffer};
  co_return co_await impl_->write(one);
}

task<error_code> byte_stream::wait_readable() {
  if (impl_->has_buffered_input()) co_return error_code{};
  auto [ec] = co_await impl_->socket().async_wait(tcp::socket::wait_read, use_tuple);
  co_return ec;
}

void byte_stream::shutdown_send() {
  error_code ignored;  // the peer may already be gone; the next read reports that
  if (!impl_->is_tls()) impl_->socket().shutdown(tcp::socket::shutdown_send, ignored);
}

void byte_stream::close() {
  if (!impl_) return;
  impl_->mark_orderly_end();
  error_code ignored;  // closing an already-closed socket is not an error worth reporting
  impl_->socket().shutdown(tcp::socket::shutdown_both, ignored);
  impl_->socket().close(ignored);
}

void byte_stream::reset() {
  if (!impl_) return;
  error_code ignored;  // as in close()
  impl_->socket().set_option(asio::socket_base::linger(true, 0), ignored);
  impl_->socket().close(ignored);
}

bool byte_stream::is_open() const { return impl_ && impl_->socket().is_open(); }
bool byte_stream::is_tls() const { return impl_ && impl_->is_tls(); }
tcp::socket& byte_stream::socket() { return impl_->socket(); }

tcp::endpoint byte_stream::remote_endpoint() const {
  error_code ec;
  auto ep = impl_->socket().remote_endpoint(ec);
  return ec ? tcp::endpoint{} : ep;
}

std::string byte_stream::remote_address() const {
  error_code ec;
  auto ep = impl_->socket().remote_endpoint(ec);
  if (ec) return {};
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace hc::net
