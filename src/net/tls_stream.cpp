// net/tls_stream: TLS on a TCP socket with OpenSSL driven directly: the SSL object reads and
// writes the (non-blocking) socket itself, and the coroutine waits for readiness when OpenSSL
// asks. Unlike asio's ssl::stream there are no per-connection record buffers (2 x 17 KiB) and
// no copy through a BIO pair: with SSL_MODE_RELEASE_BUFFERS an idle connection holds only the
// SSL object, and bytes go straight between the socket and the caller's buffer.
// One reader and one writer may be active at once, both on the owner's strand.
#include "net/byte_stream_impl.hpp"
#include "net/tls.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <array>
#include <csignal>
#include <mutex>
#include <cerrno>
#include <cstring>

namespace hc::net {
namespace {

// Gathered writes: a small first buffer (a WebSocket frame header) is sent in one TLS record
// together with the start of the next buffer rather than as a record of its own.
constexpr std::size_t coalesce_limit = 1024;
constexpr std::size_t coalesce_record = 4096;

class tls_impl final : public byte_stream::impl {
 public:
  tls_impl(tcp::socket socket, asio::ssl::context& ctx) : socket_(std::move(socket)), ssl_(SSL_new(ctx.native_handle())) {
    if (!ssl_) throw std::runtime_error("SSL_new failed: out of memory");
    // OpenSSL's socket BIO writes with write(2), not send(MSG_NOSIGNAL): a peer that has gone
    // would raise SIGPIPE and end the process. The EPIPE error is what we want instead.
    static std::once_flag sigpipe_ignored;
    std::call_once(sigpipe_ignored, [] { ::signal(SIGPIPE, SIG_IGN); });
    error_code ignored;  // a socket that cannot switch fails on its first operation instead
    socket_.non_blocking(true, ignored);
    SSL_set_fd(ssl_, int(socket_.native_handle()));
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE);
  }
  ~tls_impl() override { SSL_free(ssl_); }  // the socket BIO does not own the descriptor

  tcp::socket& socket() override { return socket_; }
  bool is_tls() const override { return true; }
  bool has_buffered_input() const override { return SSL_has_pending(ssl_) == 1; }
  // Without this OpenSSL treats the session as broken when the SSL object is freed and refuses to
  // resume it (or any ticket it brought).
  void mark_orderly_end() override { SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN); }

  task<error_code> handshake(bool as_server, std::string_view host) override {
    if (as_server) {
      SSL_set_accept_state(ssl_);
    } else {
      prepare_client(std::string(host));
      SSL_set_connect_state(ssl_);
    }
    auto [ec, r] = co_await drive([this] { return SSL_do_handshake(ssl_); });
    if (!ec && !as_server)
      spdlog::debug("TLS to {}: {} handshake", host, SSL_session_reused(ssl_) ? "resumed" : "full");
    co_return ec;
  }

  task<io_result> read_some(asio::mutable_buffer b) override {
    if (b.size() == 0) co_return io_result{};
    auto* out = static_cast<char*>(b.data());
    int want = int(std::min<std::size_t>(b.size(), 1 << 30));
    auto [ec, r] = co_await drive([&] { return SSL_read(ssl_, out, want); });
    if (ec) co_return io_result{ec, 0};
    std::size_t got = std::size_t(r);
    // Records already received: take them now rather than after another wait.
    while (got < b.size() && SSL_has_pending(ssl_) == 1) {
      ERR_clear_error();
      int more = SSL_read(ssl_, out + got, int(std::min<std::size_t>(b.size() - got, 1 << 30)));
      if (more <= 0) {
        ERR_clear_error();  // WANT_READ (a partial record) or an error the next read reports
        break;
      }
      got += std::size_t(more);
    }
    co_return io_result{{}, got};
  }

  task<io_result> write(std::span<const asio::const_buffer> bufs) override {
    std::size_t total = 0;
    std::size_t skip = 0;  // bytes of bufs[i] already sent inside a coalesced record
    for (std::size_t i = 0; i < bufs.size(); ++i) {
      auto* data = static_cast<const char*>(bufs[i].data()) + skip;
      std::size_t size = bufs[i].size() - skip;
      skip = 0;
      if (size == 0) continue;
      if (size <= coalesce_limit && i + 1 < bufs.size()) {
        std::array<char, coalesce_record> record;
        std::memcpy(record.data(), data, size);
        std::size_t take = std::min(bufs[i + 1].size(), record.size() - size);
        std::memcpy(record.data() + size, bufs[i + 1].data(), take);
        auto ec = co_await write_all(record.data(), size + take);
        if (ec) co_return io_result{ec, total};
        total += size + take;
        skip = take;
        continue;
      }
      auto ec = co_await write_all(data, size);
      if (ec) co_return io_result{ec, total};
      total += size;
    }
    co_return io_result{{}, total};
  }

 private:
  task<error_code> write_all(const char* data, std::size_t size) {
    while (size > 0) {
      int chunk = int(std::min<std::size_t>(size, 1 << 30));
      auto [ec, r] = co_await drive([&] { return SSL_write(ssl_, data, chunk); });
      if (ec) co_return ec;
      data += r;
      size -= std::size_t(r);
    }
    co_return error_code{};
  }

  // Repeats one OpenSSL call until it succeeds, waiting for the socket as OpenSSL asks; returns
  // its positive result or the error it ended with.
  template <class Call>
  task<std::pair<error_code, int>> drive(Call call) {
    for (;;) {
      ERR_clear_error();
      int r = call();
      if (r > 0) co_return std::pair{error_code{}, r};
      int err = SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        auto what = err == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write;
        auto [ec] = co_await socket_.async_wait(what, use_tuple);
        if (ec) co_return std::pair{ec, 0};
        continue;
      }
      co_return std::pair{error_for(err), 0};
    }
  }

  error_code error_for(int err) {
    if (err == SSL_ERROR_ZERO_RETURN) return asio::error::eof;  // the peer's close_notify
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (err == SSL_ERROR_SYSCALL && e == 0)
      return errno == 0 ? error_code(asio::error::eof) : error_code(errno, boost::system::system_category());
    if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) return asio::ssl::error::stream_truncated;
    if (e == 0) return asio::error::connection_reset;
    return error_code(int(e), asio::error::get_ssl_category());
  }

  void prepare_client(const std::string& name) {
    error_code parse_ec;
    auto ip = asio::ip::make_address(name, parse_ec);
    if (parse_ec) {
      // SNI only for DNS names (RFC 6066 forbids IP literals); verify the name against the SAN.
      SSL_set_tlsext_host_name(ssl_, name.c_str());
      SSL_set1_host(ssl_, name.c_str());
    } else {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), ip.to_string().c_str());
    }
    error_code port_ec;
    auto remote = socket_.remote_endpoint(port_ec);
    prepare_client_session(ssl_, name + ":" + std::to_string(remote.port()));
  }

  tcp::socket socket_;
  SSL* ssl_;
};

}  // namespace

std::unique_ptr<byte_stream::impl> make_tls_impl(tcp::socket socket, asio::ssl::context& ctx) {
  return std::make_unique<tls_impl>(std::move(socket), ctx);
}

}  // namespace hc::net
