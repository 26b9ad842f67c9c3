// relay/connection: TLS, request head, routing (see connection.hpp): /$hc/ gestures, requests relayed
// to a listener (relay/http_mode), the relay's own pages (http_routes).
#include "relay/connection.hpp"
#include "relay/refuse.hpp"

#include "net/deadline.hpp"
#include "net/h2_gateway.hpp"
#include "net/limits.hpp"
#include "net/spawn.hpp"
#include "proto/encoding.hpp"
#include "relay/gestures.hpp"
#include "relay/http_mode/relayed_request.hpp"
#include "relay/http_routes.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/this_coro.hpp>

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

// 429 for a source over its failed-authentication allowance (source_limits).
std::string too_many_failures(const std::string& source, std::chrono::seconds retry) {
  auto text = "Too many failed authentications from " + source + "; retry after " +
              std::to_string(retry.count()) + " seconds";
  return net::format_response(429, text,
                              {{"Retry-After", std::to_string(retry.count())},
                               {"Content-Type", "text/plain; charset=utf-8"},
                               {"Connection", "close"}},
                              text + "\n");
}

// RFC 6455 §4.2.1: what every WebSocket gesture needs before it is looked at further.
std::optional<std::string> bad_upgrade(const net::http_request& request) {
  if (request.header("Sec-WebSocket-Key").empty())
    return net::format_response(400, "The upgrade request has no Sec-WebSocket-Key header",
                                {{"Connection", "close"}},
                                "The upgrade request has no Sec-WebSocket-Key header\n");
  if (request.header("Sec-WebSocket-Version") != "13")
    return net::format_response(426, "Only WebSocket version 13 is supported",
                                {{"Sec-WebSocket-Version", "13"}, {"Connection", "close"}},
                                "Only WebSocket version 13 (RFC 6455) is supported\n");
  return std::nullopt;
}

// The body of an HTTP request within limits::handshake_timeout.
net::task<std::optional<proto::error>> read_body_in_time(net::byte_stream& stream, std::string& leftover,
                                                         net::http_request& request,
                                                         net::request_reader& reader, std::size_t max) {
  auto ex = co_await net::asio::this_coro::executor;
  net::deadline slow_body(ex, net::limits::handshake_timeout, [&] { stream.close(); });
  auto body = co_await reader.read_body(stream, leftover, request, max);
  if (body.bad) co_return body.bad;
  if (body.ec) co_return proto::error::bad_request("the request body did not arrive: " + body.ec.message());
  co_return std::nullopt;
}

net::task<> answer_and_close(net::byte_stream& stream, std::string response) {
  co_await stream.write(net::asio::buffer(response));
  stream.close();
}

// A request the relay cannot take as it is (its status and sentence), then the connection ends.
net::task<> answer_malformed(net::byte_stream& stream, const proto::error& bad) {
  auto answer = net::format_response(bad.status, {}, {{"Connection", "close"}}, bad.message + "\n");
  co_await answer_and_close(stream, std::move(answer));
}

// A /$hc/ request: the gesture it names runs on this connection until its end.
net::task<> serve_gesture(relay_context& ctx, net::byte_stream& stream, std::string& leftover,
                          net::http_request& request, const std::string& host,
                          const std::string& tracking_id) {
  auto ns = ctx.entities.by_host(host);
  auto target = proto::parse_hc_target(request.target);
  // The host --advertise names when it is not a namespace's (a gateway, as Azure's accept
  // addresses name): it serves accepts and request rendezvous for every namespace; the claimed
  // key names the namespace.
  bool gateway_accept =
      !ns && target &&
      (target->action == proto::hc_action::accept || target->action == proto::hc_action::request) &&
      !ctx.advertise_host.empty() && proto::iequals(host, ctx.advertise_host);
  if (!ns && !gateway_accept) {
    co_await refuse(stream, proto::error::not_found(no_namespace_text(host)), host, "", tracking_id);
    co_return;
  }
  if (!target) {
    co_await refuse(stream, target.error(), ns->host(), "", tracking_id);
    co_return;
  }
  if (!request.is_websocket_upgrade()) {
    co_await refuse(
        stream,
        proto::error::bad_request("/$hc/ addresses take WebSocket upgrades only (HTTP requests go to "
                                  "https://" +
                                  host + "/" + target->path + ")"),
        host, target->path, tracking_id);
    co_return;
  }
  if (auto bad = bad_upgrade(request); bad && !in_reject(*target)) {
    co_await answer_and_close(stream, std::move(*bad));
    co_return;
  }
  incoming in{std::move(stream),  std::move(leftover), std::move(request), ns,
              std::move(*target), tracking_id};
  switch (in.target.action) {
    case proto::hc_action::listen:
      co_await run_listener(ctx, std::move(in));
      break;
    case proto::hc_action::connect:
      co_await run_sender(ctx, std::move(in));
      break;
    case proto::hc_action::accept:
      co_await run_accept(ctx, std::move(in));
      break;
    case proto::hc_action::request:
      co_await run_request_rendezvous(ctx, std::move(in));
      break;
  }
}

// The requests of an HTTP/1.1 connection (keep-alive), or the one request of an HTTP/2 stream
// (seen as HTTP/1.1 through net/h2_gateway; a plain request holds an HTTP place of its source
// as an HTTP/1.1 connection does). `head_deadline` (armed by the caller for the first head) is
// re-armed with the idle timeout between requests.
net::task<> serve_requests(relay_context& ctx, net::byte_stream& stream, const net::asio::ip::address& source,
                           std::optional<net::deadline>& head_deadline, source_limits::slot& handshake,
                           port_role role) {
  auto ex = co_await net::asio::this_coro::executor;
  std::string leftover;
  source_limits::slot http_place;  // held from the first plain HTTP request on
  for (std::size_t served = 1;; ++served) {
    net::http_request request;
    net::request_reader reader;
    auto read = co_await reader.read_head(stream, leftover, request);
    head_deadline.reset();
    handshake.release();
    if (read.bad) {
      co_await answer_malformed(stream, *read.bad);
      co_return;
    }
    if (!read) break;
    if (auto retry = ctx.sources.retry_after(source); retry.count() > 0) {
      ctx.metrics.auth_failure("rate_limited", 429);
      auto refusal = too_many_failures(source_limits::key(source), retry);
      co_await answer_and_close(stream, std::move(refusal));
      co_return;
    }
    std::string tracking_id = proto::new_tracking_id();
    auto host = host_without_port(request.header("Host"));
    auto ns = ctx.entities.by_host(host);
    auto route = relayed_target(request, ns.get());
    if (auto refusal = refused_by_role(role, request, route.has_value())) {
      co_await answer_and_close(stream, std::move(*refusal));
      co_return;
    }
    if (request.target.starts_with("/$hc/")) {
      http_place.release();  // a WebSocket now, however it began
      co_await serve_gesture(ctx, stream, leftover, request, host, tracking_id);
      co_return;
    }
    if (!http_place) {
      http_place = ctx.sources.open_http(source);
      if (!http_place) {
        auto text = "Too many open HTTP connections from " + source_limits::key(source) + " (" +
                    std::to_string(net::limits::max_http_connections_per_source) +
                    "); close idle ones and retry";
        auto busy =
            net::format_response(503, text, {{"Retry-After", "1"}, {"Connection", "close"}}, text + "\n");
        co_await answer_and_close(stream, std::move(busy));
        co_return;
      }
    }
    if (route) {
      bool last = served >= ctx.settings.max_requests_per_connection;
      relayed_call call{stream,
                        leftover,
                        request,
                        reader,
                        std::move(ns),
                        std::move(route->target),
                        std::move(route->entity),
                        tracking_id,
                        source,
                        last};
      bool more = co_await relay_http_request(ctx, call);
      if (!more) break;
      head_deadline.emplace(ex, ctx.settings.http_idle_timeout, [&] { stream.close(); });
      continue;
    }
    // The relay's own routes take small bodies: a larger one is refused before anything else.
    if (auto length = reader.content_length(); length && *length > net::limits::max_api_body_bytes) {
      const proto::error too_large{413, proto::errc::too_large,
                                   "the message body is larger than this endpoint accepts (" +
                                       std::to_string(net::limits::max_api_body_bytes) + " bytes)"};
      co_await answer_malformed(stream, too_large);
      co_return;
    }
    body_reader read_body = [&](std::size_t max) {
      return read_body_in_time(stream, leftover, request, reader, max);
    };
    http_exchange exchange{request, std::move(ns), tracking_id, source, std::move(read_body)};
    auto response = co_await handle_http(ctx, exchange);
    // A body nobody read (the route takes none, or the caller was refused) is never read: the
    // connection ends after the answer. So does the last request a connection may carry.
    bool last =
        !request.keep_alive || reader.body_pending() || served >= ctx.settings.max_requests_per_connection;
    if (last) response = net::with_connection_close(std::move(response));
    if (auto w = co_await stream.write(net::asio::buffer(response)); w.ec || last) break;
    head_deadline.emplace(ex, ctx.settings.http_idle_timeout, [&] { stream.close(); });
  }
  stream.close();
}

// One stream counts against its source as an open connection would (a WebSocket, a request): an
// HTTP/2 connection must not multiply what a source may hold open.
net::task<> serve_h2_stream(relay_context& ctx, net::h2_stream h2, net::asio::ip::address source,
                            port_role role) {
  auto stream = net::as_http1_exchange(std::move(h2));
  auto place = ctx.sources.open_connection(source);
  if (!place) {
    auto text = "Too many open connections and streams from " + source_limits::key(source) +
                " (--max-connections-per-source " + std::to_string(ctx.settings.max_connections_per_source) +
                ", --max-connections " + std::to_string(ctx.settings.max_connections) +
                "); close some and retry";
    auto busy = net::format_response(503, text, {{"Retry-After", "1"}, {"Connection", "close"}}, text + "\n");
    co_await answer_and_close(stream, std::move(busy));
    co_return;
  }
  stream.attach(std::make_shared<source_limits::slot>(std::move(place)));
  std::optional<net::deadline> no_deadline;  // the head is there already
  source_limits::slot no_handshake;
  co_await serve_requests(ctx, stream, source, no_deadline, no_handshake, role);
}

// An HTTP/2 connection (ALPN h2): each stream is served as its own request, on this strand.
net::task<> serve_h2(relay_context& ctx, net::byte_stream stream, net::asio::ip::address source,
                     source_limits::slot& handshake, port_role role) {
  auto ex = co_await net::asio::this_coro::executor;
  net::h2_options options;
  options.server = true;
  options.max_concurrent_streams = ctx.settings.http2_max_streams;
  options.idle_timeout = ctx.settings.http_idle_timeout;
  auto session = net::h2_session::start(ex, std::move(stream), options);
  ctx.metrics.http2_connection_opened();
  struct counted {
    relay_metrics& metrics;
    ~counted() { metrics.http2_connection_closed(); }
  } open_while_served{ctx.metrics};
  // The first request within handshake_timeout, as on HTTP/1.1 (a header block left open counts
  // as none); after it the connection's idle timeout.
  std::optional<net::deadline> first_request;
  first_request.emplace(ex, net::limits::handshake_timeout, [&] { session->shut_down(); });
  for (;;) {
    auto next = co_await session->next_stream();
    if (!next) break;
    first_request.reset();
    handshake.release();
    ctx.metrics.http2_stream();
    net::asio::co_spawn(ex, serve_h2_stream(ctx, std::move(*next), source, role),
                        net::log_failure("HTTP/2 stream"));
  }
}

}  // namespace

net::task<> serve_connection(relay_context& ctx, net::tls_context tls, net::tcp::socket socket,
                             net::tcp::endpoint client, source_limits::slot handshake,
                             source_limits::slot connection, port_role role) {
  auto ex = co_await net::asio::this_coro::executor;
  auto stream =
      tls ? net::byte_stream::tls(std::move(socket), *tls) : net::byte_stream::plain(std::move(socket));
  stream.set_remote_endpoint(client);
  // The connection counts against its source for as long as the socket lives, wherever it goes.
  stream.attach(std::make_shared<source_limits::slot>(std::move(connection)));
  auto source = stream.remote_endpoint().address();
  // TLS and the first request head within handshake_timeout; later heads within the idle timeout.
  std::optional<net::deadline> head_deadline;
  head_deadline.emplace(ex, net::limits::handshake_timeout, [&] { stream.close(); });
  if (tls) {
    if (auto ec = co_await stream.tls_accept()) {
      spdlog::debug("TLS handshake from {} failed: {}", stream.remote_address(), ec.message());
      co_return;
    }
    if (stream.negotiated_protocol() == "h2") {
      head_deadline.reset();  // HTTP/2 keeps its connection open between streams (idle_timeout)
      co_await serve_h2(ctx, std::move(stream), source, handshake, role);
      co_return;
    }
  }
  co_await serve_requests(ctx, stream, source, head_deadline, handshake, role);
}

}  // namespace hc::relay
