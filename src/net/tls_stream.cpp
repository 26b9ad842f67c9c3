// net/tls_stream: TLS on a TCP socket with OpenSSL, without asio's ssl::stream (which keeps
// 2 x 17 KiB of record buffers per connection and copies through a BIO pair). OpenSSL talks to
// the socket through our own BIO: writes go straight to send(2) (MSG_NOSIGNAL), and reads are
// served from a small inbox that asio fills with a speculative read. That read is also how the
// stream waits: a quiet connection parks one async_read_some on its inbox instead of an
// async_wait, so no epoll_ctl per message, and a small message arrives, is decrypted and handed
// on with one recv. When the inbox came back full, more is likely waiting and OpenSSL reads the
// rest of the record(s) directly from the socket into its own buffer (read-ahead), so bulk
// transfers cost one recv per ~16 KiB record. With SSL_MODE_RELEASE_BUFFERS an idle connection
// holds only the SSL object and the inbox.
// One reader and one writer may be active at once, both on the owner's strand.
#include "net/byte_stream_impl.hpp"
#include "net/tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>

#include <array>
#include <cerrno>
#include <cstring>

namespace hc::net {
namespace {

// Gathered writes: a small first buffer (a WebSocket frame header) is sent in one TLS record
// together with the start of the next buffer rather than as a record of its own.
constexpr std::size_t coalesce_limit = 1024;
constexpr std::size_t coalesce_record = 4096;

// Enough for a typical request or response record (a Redis command, a Postgres row) in one read.
constexpr std::size_t inbox_bytes = 1024;

BIO_METHOD* socket_bio_method();

class tls_impl final : public byte_stream::impl {
 public:
  tls_impl(tcp::socket socket, asio::ssl::context& ctx)
      : socket_(std::move(socket)), ssl_(SSL_new(ctx.native_handle())) {
    BIO* bio = ssl_ ? BIO_new(socket_bio_method()) : nullptr;
    if (!bio) {
      SSL_free(ssl_);
      throw std::runtime_error("SSL_new failed: out of memory");
    }
    BIO_set_data(bio, this);
    BIO_set_init(bio, 1);
    SSL_set_bio(ssl_, bio, bio);  // the SSL object owns the BIO; the BIO does not own the socket
    error_code ignored;           // a socket that cannot switch fails on its first operation instead
    socket_.non_blocking(true, ignored);
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE);
    SSL_set_read_ahead(ssl_, 1);
  }
  ~tls_impl() override { SSL_free(ssl_); }

  tcp::socket& socket() override { return socket_; }
  bool is_tls() const override { return true; }
  // Without this OpenSSL treats the session as broken when the SSL object is freed and refuses to
  // resume it (or any ticket it brought).
  void mark_orderly_end() override { SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN); }

  void offer_protocols(std::string_view wire_list) override {
    SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire_list.data()),
                        static_cast<unsigned int>(wire_list.size()));
  }
  std::string negotiated_protocol() const override {
    const unsigned char* name = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl_, &name, &len);
    if (!name) return {};
    return std::string(reinterpret_cast<const char*>(name), len);
  }

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
    // A quiet connection waits for bytes before OpenSSL is asked: an SSL_read that finds nothing
    // keeps its ~17 KiB record buffer until the next record, which idle tunnels must not pay.
    if (!has_input() && SSL_has_pending(ssl_) == 0) {
      auto wait_ec = co_await fill_inbox();
      if (wait_ec) co_return io_result{wait_ec, 0};
    }
    auto* out = static_cast<char*>(b.data());
    int want = int(std::min<std::size_t>(b.size(), 1 << 30));
    auto [ec, r] = co_await drive([&] { return SSL_read(ssl_, out, want); });
    if (ec) co_return io_result{ec, 0};
    std::size_t got = std::size_t(r);
    // Records already received: take them now rather than after another wait.
    while (got < b.size() && SSL_has_pending(ssl_) == 1) {
      auto more = read_available(asio::buffer(out + got, b.size() - got));
      if (more.ec || more.bytes == 0) break;  // a partial record, or an error the next read reports
      got += more.bytes;
    }
    co_return io_result{{}, got};
  }

  io_result read_available(asio::mutable_buffer b) override {
    if (b.size() == 0) return io_result{};
    ERR_clear_error();
    int r = SSL_read(ssl_, b.data(), int(std::min<std::size_t>(b.size(), 1 << 30)));
    if (r > 0) return io_result{{}, std::size_t(r)};
    int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      ERR_clear_error();
      return io_result{};
    }
    return io_result{error_for(err), 0};
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
        if (take > 0) std::memcpy(record.data() + size, bufs[i + 1].data(), take);  // may be null
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
      if (err == SSL_ERROR_WANT_READ) {
        if (auto ec = co_await fill_inbox()) co_return std::pair{ec, 0};
        continue;
      }
      if (err == SSL_ERROR_WANT_WRITE) {
        auto [ec] = co_await socket_.async_wait(tcp::socket::wait_write, use_tuple);
        if (ec) co_return std::pair{ec, 0};
        continue;
      }
      co_return std::pair{error_for(err), 0};
    }
  }

  // Waits for bytes and reads what is there into the inbox (asio tries the read at once and
  // registers for readiness only when the socket is empty). End of stream is left for OpenSSL to
  // judge (a close_notify before it, or a truncation); any other failure ends the operation.
  task<error_code> fill_inbox() {
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(inbox_), use_tuple);
    if (ec == asio::error::eof) {
      at_eof_ = true;
      co_return error_code{};
    }
    if (ec) co_return ec;
    inbox_begin_ = 0;
    inbox_end_ = n;
    socket_may_have_more_ = n == inbox_.size();
    co_return error_code{};
  }

  // Bytes OpenSSL can read without waiting: in the inbox, likely on the socket, or the end.
  bool has_input() const { return inbox_begin_ < inbox_end_ || socket_may_have_more_ || at_eof_; }

  // --- the BIO: OpenSSL's view of the socket ---
  int bio_read(BIO* bio, char* out, int size) {
    BIO_clear_retry_flags(bio);
    std::size_t want = std::size_t(size);
    std::size_t got = std::min(want, inbox_end_ - inbox_begin_);
    std::memcpy(out, inbox_.data() + inbox_begin_, got);
    inbox_begin_ += got;
    if (got < want && socket_may_have_more_) {
      std::size_t asked = want - got;
      ssize_t r = ::recv(socket_.native_handle(), out + got, asked, 0);
      if (r > 0) {
        got += std::size_t(r);
        socket_may_have_more_ = std::size_t(r) == asked;
      } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        socket_may_have_more_ = false;
      } else if (got == 0) {
        last_errno_ = r == 0 ? 0 : errno;  // 0: end of stream
        return r == 0 ? 0 : -1;
      }
    }
    if (got > 0) return int(got);
    if (at_eof_) return 0;
    BIO_set_retry_read(bio);  // drive() fills the inbox and OpenSSL asks again
    return -1;
  }

  int bio_write(BIO* bio, const char* data, int size) {
    BIO_clear_retry_flags(bio);
    for (;;) {
      ssize_t r = ::send(socket_.native_handle(), data, std::size_t(size), MSG_NOSIGNAL);
      if (r >= 0) return int(r);
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        BIO_set_retry_write(bio);
        return -1;
      }
      last_errno_ = errno;
      return -1;
    }
  }
  friend BIO_METHOD* socket_bio_method();

  error_code error_for(int err) {
    if (err == SSL_ERROR_ZERO_RETURN) return asio::error::eof;  // the peer's close_notify
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (err == SSL_ERROR_SYSCALL && e == 0)
      return last_errno_ == 0 ? error_code(asio::error::eof)
                              : error_code(last_errno_, boost::system::system_category());
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
  std::array<char, inbox_bytes> inbox_;  // bytes read from the socket that OpenSSL has not taken
  std::size_t inbox_begin_ = 0, inbox_end_ = 0;
  bool socket_may_have_more_ = false;  // the last read filled its buffer: try the socket directly
  bool at_eof_ = false;                // the peer ended the TCP stream
  int last_errno_ = 0;                 // the socket error behind an SSL_ERROR_SYSCALL
};

BIO_METHOD* socket_bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "hcrelay socket");
    BIO_meth_set_read(m, [](BIO* b, char* out, int size) {
      return static_cast<tls_impl*>(BIO_get_data(b))->bio_read(b, out, size);
    });
    BIO_meth_set_write(m, [](BIO* b, const char* data, int size) {
      return static_cast<tls_impl*>(BIO_get_data(b))->bio_write(b, data, size);
    });
    // OpenSSL flushes after each flight; everything else it may ask is "not supported".
    BIO_meth_set_ctrl(m, [](BIO*, int cmd, long, void*) -> long { return cmd == BIO_CTRL_FLUSH ? 1 : 0; });
    return m;
  }();
  return method;
}

}  // namespace

std::unique_ptr<byte_stream::impl> make_tls_impl(tcp::socket socket, asio::ssl::context& ctx) {
  return std::make_unique<tls_impl>(std::move(socket), ctx);
}

}  // namespace hc::net
