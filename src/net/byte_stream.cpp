// net/byte_stream: the plain TCP implementation and the byte_stream wrapper; the TLS
// implementation lives in tls_stream.cpp.
#include "net/byte_stream.hpp"

#include "net/byte_stream_impl.hpp"

#include <boost/asio/write.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>

namespace hc::net {

namespace {

void set_nodelay(tcp::socket& s) {
  error_code ignored;  // a socket that is already closed fails later, on its first read
  s.set_option(tcp::no_delay(true), ignored);
}

struct plain_impl final : byte_stream::impl {
  explicit plain_impl(tcp::socket s) : socket_(std::move(s)) {
    error_code ignored;                   // a socket that cannot switch fails on its first operation instead
    socket_.non_blocking(true, ignored);  // for read_available; asio's async operations do not mind
  }
  tcp::socket& socket() override { return socket_; }
  task<io_result> read_some(asio::mutable_buffer b) override {
    auto [ec, n] = co_await socket_.async_read_some(b, use_tuple);
    co_return io_result{eof_or_reset(ec), n};
  }
  task<io_result> write(std::span<const asio::const_buffer> bufs) override {
    auto [ec, n] = co_await asio::async_write(socket_, bufs, use_tuple);
    co_return io_result{ec, n};
  }
  io_result read_available(asio::mutable_buffer b) override {
    error_code ec;
    std::size_t n = socket_.read_some(b, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return io_result{};
    return io_result{eof_or_reset(ec), n};
  }
  void shutdown_send() override {
    error_code ignored;  // the peer may already be gone; the next read reports that
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    send_shut_down_ = true;
  }
  bool is_tls() const override { return false; }
  task<error_code> handshake(bool, std::string_view) override {
    co_return asio::error::operation_not_supported;
  }

 private:
  // Linux reports a peer's RST once, to whichever call comes first: when a concurrent write took
  // it, this read sees 0 bytes as if the peer had sent FIN. The socket state tells them apart:
  // after a RST it is CLOSED, after a FIN CLOSE_WAIT (CLOSED as well once our own FIN crossed
  // theirs, hence the shutdown check). A tunnel must pass a reset on as a reset, never as a
  // clean end of stream.
  error_code eof_or_reset(error_code ec) {
    if (ec != asio::error::eof || send_shut_down_) return ec;
    tcp_info info{};
    socklen_t len = sizeof info;
    if (::getsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_INFO, &info, &len) == 0 &&
        info.tcpi_state == TCP_CLOSE)
      return asio::error::connection_reset;
    return ec;
  }

  tcp::socket socket_;
  bool send_shut_down_ = false;
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
  return byte_stream(make_tls_impl(std::move(socket), ctx));
}

byte_stream byte_stream::adopt(std::unique_ptr<impl> implementation) {
  return byte_stream(std::move(implementation));
}

task<error_code> byte_stream::tls_accept() {
  return impl_->handshake(true, {});
}

void byte_stream::offer_protocols(std::string_view wire_list) {
  impl_->offer_protocols(wire_list);
}

std::string byte_stream::negotiated_protocol() const {
  return impl_ ? impl_->negotiated_protocol() : std::string();
}

task<error_code> byte_stream::tls_connect(std::string_view host) {
  return impl_->handshake(false, host);
}

task<io_result> byte_stream::read_some(asio::mutable_buffer buffer) {
  return impl_->read_some(buffer);
}

task<io_result> byte_stream::write(std::span<const asio::const_buffer> buffers) {
  return impl_->write(buffers);
}

task<io_result> byte_stream::write(asio::const_buffer buffer) {
  std::array<asio::const_buffer, 1> one{buffer};
  co_return co_await impl_->write(one);
}

io_result byte_stream::read_available(asio::mutable_buffer buffer) {
  return impl_->read_available(buffer);
}

void byte_stream::shutdown_send() {
  impl_->shutdown_send();
}

void byte_stream::reset_on_abandon() {
  impl_->reset_on_abandon();
}

void byte_stream::close() {
  if (!impl_) return;
  impl_->mark_orderly_end();
  impl_->on_close(false);
  impl_->close_transport(false);
  impl_->attachment.reset();
}

void byte_stream::attach(std::shared_ptr<void> resource) {
  impl_->attachment = std::move(resource);
}

void byte_stream::reset() {
  if (!impl_) return;
  impl_->on_close(true);
  impl_->close_transport(true);
  impl_->attachment.reset();
}

bool byte_stream::is_open() const {
  return impl_ && impl_->is_open();
}
bool byte_stream::is_tls() const {
  return impl_ && impl_->is_tls();
}
tcp::socket& byte_stream::socket() {
  return impl_->socket();
}

tcp::endpoint byte_stream::remote_endpoint() const {
  return impl_->reported_remote ? *impl_->reported_remote : impl_->remote_endpoint();
}

void byte_stream::set_remote_endpoint(const tcp::endpoint& client) {
  impl_->reported_remote = client;
}

std::string byte_stream::remote_address() const {
  auto ep = remote_endpoint();
  if (ep == tcp::endpoint{}) return {};
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

// --- the socket-backed defaults of byte_stream::impl ---

bool byte_stream::impl::is_open() {
  return socket().is_open();
}

tcp::endpoint byte_stream::impl::remote_endpoint() {
  error_code ec;
  auto ep = socket().remote_endpoint(ec);
  return ec ? tcp::endpoint{} : ep;
}

void byte_stream::impl::close_transport(bool with_reset) {
  error_code ignored;  // closing an already-closed socket is not an error worth reporting
  if (with_reset) {
    socket().set_option(asio::socket_base::linger(true, 0), ignored);
  } else {
    socket().set_option(asio::socket_base::linger(false, 0), ignored);  // undo reset_on_abandon
    socket().shutdown(tcp::socket::shutdown_both, ignored);
  }
  socket().close(ignored);
}

void byte_stream::impl::reset_on_abandon() {
  error_code ignored;  // a socket that is already closed fails on its next operation instead
  socket().set_option(asio::socket_base::linger(true, 0), ignored);
}

}  // namespace hc::net
