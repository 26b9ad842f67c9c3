// relay/connection: TLS, request head, routing (see connection.hpp).
#include "relay/connection.hpp"

#include "net/deadline.hpp"
#include "net/limits.hpp"
#include "proto/encoding.hpp"
#include "relay/gestures.hpp"
#include "relay/http_routes.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

namespace hc::relay {
namespace {

std::string host_without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    return std::string(host.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  }
  auto colon = host.rfind(':');
  if (colon != std::string_view::npos && host.find(':') == colon) host = host.substr(0, colon);
  return std::string(host);
}

// A listener's reject dial (accept address + sb-hc-statusCode) needs no WebSocket key: the
// answer is 410 whatever it carries.
bool in_reject(const proto::hc_target& target) {
  return target.action == proto::hc_action::accept && target.reject_status != 0;
}

std::string known_hosts(relay_context& ctx) {
  std::string out;
  for (const auto& ns : ctx.entities.namespaces()) out += (out.empty() ? "" : ", ") + ns->host();
  return out;
}

}  // namespace

// 429 for a source over its failed-authentication allowance (source_limits).
std::string too_many_failures(const std::string& source, std::chrono::seconds retry) {
  auto text = "Too many failed authentications from " + source + "; retry after " + std::to_string(retry.count()) +
              " seconds";
  return net::format_response(
      429, text, {{"Retry-After", std::to_string(retry.count())}, {"Content-Type", "text/plain; charset=utf-8"},
                  {"Connection", "close"}},
      text + "\n");
}

// RFC 6455 §4.2.1: what every WebSocket gesture needs before it is looked at further.
std::optional<std::string> bad_upgrade(const net::http_request& request) {
  if (request.header("Sec-WebSocket-Key").empty())
    return net::format_response(400, "The upgrade request has no Sec-WebSocket-Key header",
                                {{"Connection", "close"}}, "The upgrade request has no Sec-WebSocket-Key header\n");
  if (request.header("Sec-WebSocket-Version") != "13")
    return net::format_response(426, "Only WebSocket version 13 is supported",
                                {{"Sec-WebSocket-Version", "13"}, {"Connection", "close"}},
                                "Only WebSocket version 13 (RFC 6455) is supported\n");
  return std::nullopt;
}

net::task<> serve_connection(relay_context& ctx, net::tls_context tls, net::tcp::socket socket,
                             source_limits::handshake_slot handshake) {
  auto ex = co_await net::asio::this_coro::executor;
  auto stream = tls ? net::byte_stream::tls(std::move(socket), *tls) : net::byte_stream::plain(std::move(socket));
  std::string leftover;
  net::http_request request;
  {
    net::deadline slow_client(ex, net::limits::handshake_timeout, [&] { stream.close(); });
    if (tls) {
      if (auto ec = co_await stream.tls_accept()) {
        spdlog::debug("TLS handshake from {} failed: {}", stream.remote_address(), ec.message());
        co_return;
      }
    }
    auto read = co_await read_request(stream, leftover, request, net::limits::max_api_body_bytes);
    if (read.bad) {
      auto text = net::format_response(read.bad->status, {}, {{"Connection", "close"}}, read.bad->message + "\n");
      co_await stream.write(net::asio::buffer(text));
      stream.close();
      co_return;
    }
    if (read.ec) co_return;
  }
  handshake.release();
  auto source = stream.remote_endpoint().address();
  if (auto retry = ctx.sources.retry_after(source); retry.count() > 0) {
    ctx.metrics.auth_failure("rate_limited", 429);
    auto text = too_many_failures(source_limits::key(source), retry);
    co_await stream.write(net::asio::buffer(text));
    stream.close();
    co_return;
  }
  std::string tracking_id = proto::new_tracking_id();
  for (;;) {
    auto host = host_without_port(request.header("Host"));
    auto ns = ctx.entities.by_host(host);
    bool hc_path = request.target.starts_with("/$hc/");
    if (hc_path) {
      if (!ns) {
        co_await refuse(stream,
                        proto::error::not_found("No namespace is served at host '" + host +
                                                "'; this relay serves: " + known_hosts(ctx)),
                        host, "", tracking_id);
        co_return;
      }
      auto target = proto::parse_hc_target(request.target);
      if (!target) {
        co_await refuse(stream, target.error(), ns->host(), "", tracking_id);
        co_return;
      }
      if (!request.is_websocket_upgrade()) {
        co_await refuse(stream,
                        proto::error::bad_request("/$hc/ addresses take WebSocket upgrades only (HTTP requests go to "
                                                  "https://" + ns->host() + "/" + target->path + ")"),
                        ns->host(), target->path, tracking_id);
        co_return;
      }
      bool reject_dial = in_reject(*target);
      if (auto bad = bad_upgrade(request); bad && !reject_dial) {
        co_await stream.write(net::asio::buffer(*bad));
        stream.close();
        co_return;
      }
      incoming in{std::move(stream), std::move(leftover), std::move(request), ns, std::move(*target), tracking_id};
      switch (in.target.action) {
        case proto::hc_action::listen: co_await run_listener(ctx, std::move(in)); break;
        case proto::hc_action::connect: co_await run_sender(ctx, std::move(in)); break;
        case proto::hc_action::accept: co_await run_accept(ctx, std::move(in)); break;
        case proto::hc_action::request:
          co_await refuse(in.stream, proto::error::bad_request("HTTP request rendezvous is not supported by this relay"),
                          ns->host(), in.target.path, tracking_id);
          break;
      }
      co_return;
    }
    auto response = co_await handle_http(ctx, request, ns, tracking_id);
    if (auto w = co_await stream.write(net::asio::buffer(response)); w.ec) co_return;
    if (!request.keep_alive) break;
    net::deadline idle(ex, net::limits::handshake_timeout * 6, [&] { stream.close(); });
    request = {};
    auto read = co_await read_request(stream, leftover, request, net::limits::max_api_body_bytes);
    if (!read) break;
    tracking_id = proto::new_tracking_id();
  }
  stream.close();
}

}  // namespace hc::relay
