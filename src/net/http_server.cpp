// net/http_server: accept loop and keep-alive request loop (see http_server.hpp).
#include "net/http_server.hpp"

#include "net/accept_backoff.hpp"
#include "net/deadline.hpp"
#include "net/limits.hpp"
#include "net/spawn.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

namespace hc::net {

struct http_server::impl {
  asio::any_io_executor ex;
  tcp::acceptor acceptor;
  http_handler handler;
  impl(asio::any_io_executor e, http_handler h) : ex(e), acceptor(e), handler(std::move(h)) {}
};

namespace {

task<> serve(std::shared_ptr<http_server::impl> s, tcp::socket socket) {
  auto ex = co_await asio::this_coro::executor;
  auto stream = byte_stream::plain(std::move(socket));
  std::string leftover;
  for (;;) {
    http_request request;
    read_outcome read;
    {
      deadline slow(ex, limits::handshake_timeout * 6, [&] { stream.close(); });
      read = co_await read_request(stream, leftover, request, limits::max_api_body_bytes);
    }
    if (read.bad) {
      auto text = format_response(read.bad->status, {}, {{"Connection", "close"}}, read.bad->message + "\n");
      co_await stream.write(asio::buffer(text));
      break;
    }
    if (read.ec) break;
    auto response = co_await s->handler(request);
    if ((co_await stream.write(asio::buffer(response))).ec || !request.keep_alive) break;
  }
  stream.close();
}

task<> accept_loop(std::shared_ptr<http_server::impl> s) {
  for (;;) {
    auto strand = asio::make_strand(s->ex);
    auto [ec, socket] = co_await s->acceptor.async_accept(strand, use_tuple);
    if (ec == asio::error::operation_aborted || !s->acceptor.is_open()) co_return;
    if (ec) {
      co_await back_off_after_accept_error(ec, "the local HTTP port");
      continue;
    }
    asio::co_spawn(strand, serve(s, std::move(socket)), log_failure("local HTTP connection"));
  }
}

}  // namespace

http_server::http_server(asio::any_io_executor ex, const tcp::endpoint& at, http_handler handler)
    : impl_(std::make_shared<impl>(ex, std::move(handler))) {
  error_code ec;
  impl_->acceptor.open(at.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(at, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + at.address().to_string() + ":" +
                             std::to_string(at.port()) + ": " + ec.message());
  // The loop holds the impl alive; stop() closes the acceptor, which ends it.
  asio::co_spawn(ex, accept_loop(impl_), log_failure("local HTTP server"));
}

http_server::~http_server() {
  stop();
}

tcp::endpoint http_server::local_endpoint() const {
  error_code ec;
  return impl_->acceptor.local_endpoint(ec);
}

void http_server::stop() {
  asio::post(impl_->ex, [s = impl_] {
    error_code ignored;  // closing twice is harmless
    s->acceptor.close(ignored);
  });
}

}  // namespace hc::net
