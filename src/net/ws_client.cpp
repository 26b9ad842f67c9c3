// net/ws_client: outbound TCP/TLS/WebSocket/HTTP connections (see ws_client.hpp).
#include "net/ws_client.hpp"

#include "net/deadline.hpp"
#include "net/egress_proxy.hpp"
#include "net/limits.hpp"
#include "proto/hc_address.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/url/parse.hpp>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace hc::net {
namespace {

struct target {
  bool tls = true;
  std::string host;
  std::uint16_t port = 443;
  std::string path;  // path + query
};

std::optional<target> parse_target(std::string_view url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return std::nullopt;
  target t;
  auto scheme = u->scheme();
  if (scheme == "wss" || scheme == "https")
    t.tls = true;
  else if (scheme == "ws" || scheme == "http")
    t.tls = false;
  else
    return std::nullopt;
  t.host = std::string(u->host_address());
  if (t.host.empty()) return std::nullopt;
  t.port = u->has_port() ? u->port_number() : (t.tls ? 443 : 80);
  t.path = std::string(u->encoded_path());
  if (t.path.empty()) t.path = "/";
  if (u->has_query()) t.path += "?" + std::string(u->encoded_query());
  return t;
}

std::string authority(const target& t) {
  bool v6 = t.host.find(':') != std::string::npos;
  std::string h = v6 ? "[" + t.host + "]" : t.host;
  bool default_port = t.port == (t.tls ? 443 : 80);
  return default_port ? h : h + ":" + std::to_string(t.port);
}

// TCP (directly or through the egress proxy, within `limit`) + optional TLS under the caller's
// deadline; `error` explains a failure and names the hop that failed.
task<std::optional<byte_stream>> open_stream(const target& t, const tls_context& tls, std::string& error,
                                             std::chrono::steady_clock::duration limit,
                                             std::string_view alpn) {
  auto connected = co_await connect_egress(t.host, t.port, t.tls, limit);
  if (!connected.error.empty()) {
    error = std::move(connected.error);
    co_return std::nullopt;
  }
  auto socket = std::move(connected.socket);
  if (!t.tls) co_return byte_stream::plain(std::move(socket));
  if (!tls) {
    error = "no TLS context for " + authority(t);
    co_return std::nullopt;
  }
  auto stream = byte_stream::tls(std::move(socket), *tls);
  if (!alpn.empty()) stream.offer_protocols(alpn);
  if (auto hec = co_await stream.tls_connect(t.host)) {
    error = "TLS handshake with " + authority(t) + " failed: " + hec.message() +
            " (trust the relay's CA with --ca-file or HCRELAY_CA_FILE)";
    co_return std::nullopt;
  }
  co_return std::optional<byte_stream>(std::move(stream));
}

}  // namespace

namespace {

// Resolved addresses per host:port, reused for limits::dns_cache_ttl so that a new tunnel does
// not pay a resolver round trip (asio resolves on a helper thread). Dropped on a failed connect.
struct resolve_cache {
  std::mutex mutex;
  std::unordered_map<std::string,
                     std::pair<std::chrono::steady_clock::time_point, tcp::resolver::results_type>>
      entries;
};
resolve_cache& resolved_addresses() {
  static resolve_cache cache;
  return cache;
}

task<std::pair<error_code, tcp::resolver::results_type>> resolve(const std::string& host, std::uint16_t port,
                                                                 bool use_cache) {
  auto key = host + ":" + std::to_string(port);
  auto& cache = resolved_addresses();
  if (use_cache) {
    std::lock_guard lock(cache.mutex);
    auto it = cache.entries.find(key);
    if (it != cache.entries.end() &&
        std::chrono::steady_clock::now() - it->second.first < limits::dns_cache_ttl)
      co_return std::pair{error_code{}, it->second.second};
  }
  tcp::resolver resolver(co_await asio::this_coro::executor);
  auto [ec, results] = co_await resolver.async_resolve(host, std::to_string(port), use_tuple);
  if (!ec) {
    std::lock_guard lock(cache.mutex);
    cache.entries[key] = {std::chrono::steady_clock::now(), results};
  }
  co_return std::pair{ec, results};
}

// One outbound connection under one deadline that covers connect, TLS and whatever the caller
// does next; when it expires the stream is closed and the pending operation fails.
class timed_connection {
 public:
  timed_connection(const asio::any_io_executor& ex, std::chrono::steady_clock::duration limit)
      : limit_(limit), guard_(ex, limit, [this] {
          timed_out_ = true;
          if (stream) stream->close();
        }) {}
  // Opens (or adopts `preopened`); false with `error` set when no stream could be had.
  task<bool> open(const target& t, const tls_context& tls, std::string& error,
                  std::optional<byte_stream> preopened, std::string_view alpn = {}) {
    if (preopened)
      stream = std::move(preopened);
    else
      stream = co_await open_stream(t, tls, error, limit_, alpn);
    if (!stream && timed_out_) error = "timed out connecting to " + authority(t);
    co_return stream.has_value();
  }
  // Read after the guarded work: true when the deadline cut it short.
  const bool& timed_out_ref() const { return timed_out_; }
  void disarm() { guard_.disarm(); }

  std::optional<byte_stream> stream;

 private:
  bool timed_out_ = false;
  std::chrono::steady_clock::duration limit_;
  deadline guard_;
};

}  // namespace

task<std::pair<error_code, tcp::socket>> connect_tcp(const std::string& host, std::uint16_t port,
                                                     const address_filter& allowed) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  error_code ec;
  if (auto ip = asio::ip::make_address(host, ec); !ec) {  // a literal needs no resolver
    if (allowed && !allowed(ip))
      co_return std::pair{error_code(asio::error::access_denied), std::move(socket)};
    auto [cec] = co_await socket.async_connect(tcp::endpoint(ip, port), use_tuple);
    if (!cec) socket.set_option(tcp::no_delay(true), cec);
    co_return std::pair{cec, std::move(socket)};
  }
  for (bool use_cache : {true, false}) {
    auto [rec, resolved] = co_await resolve(host, port, use_cache);
    if (rec) co_return std::pair{rec, std::move(socket)};
    std::vector<tcp::endpoint> endpoints;
    for (const auto& entry : resolved)
      if (!allowed || allowed(entry.endpoint().address())) endpoints.push_back(entry.endpoint());
    if (endpoints.empty()) co_return std::pair{error_code(asio::error::access_denied), std::move(socket)};
    auto [cec, ep] = co_await asio::async_connect(socket, endpoints, use_tuple);
    if (!cec) {
      socket.set_option(tcp::no_delay(true), cec);
      co_return std::pair{cec, std::move(socket)};
    }
    if (!use_cache) co_return std::pair{cec, std::move(socket)};
    socket = tcp::socket(ex);  // the cached addresses failed: resolve afresh once
  }
  co_return std::pair{asio::error::host_not_found, std::move(socket)};
}

task<std::optional<byte_stream>> open_tls_connection(const std::string& host, std::uint16_t port,
                                                     const tls_context& tls,
                                                     std::chrono::steady_clock::duration limit,
                                                     std::string_view alpn, std::string& error) {
  auto ex = co_await asio::this_coro::executor;
  timed_connection connection(ex, limit);
  target t{true, host, port, "/"};
  bool opened = co_await connection.open(t, tls, error, std::nullopt, alpn);
  connection.disarm();
  if (!opened) co_return std::nullopt;
  co_return std::move(connection.stream);
}

task<dial_result> dial_websocket(dial_request request, std::optional<byte_stream> preopened) {
  dial_result out;
  auto t = parse_target(request.url);
  if (!t) {
    out.error = "not a ws:// or wss:// URL: " + request.url;
    co_return out;
  }
  auto ex = co_await asio::this_coro::executor;
  timed_connection connection(ex, request.timeout);
  bool opened = co_await connection.open(*t, request.tls, out.error, std::move(preopened));
  if (!opened) co_return out;
  auto& stream = connection.stream;
  const bool& timed_out = connection.timed_out_ref();
  std::string key = proto::new_websocket_key();
  header_list headers{{"Host", authority(*t)},
                      {"Upgrade", "websocket"},
                      {"Connection", "Upgrade"},
                      {"Sec-WebSocket-Key", key},
                      {"Sec-WebSocket-Version", "13"}};
  for (auto& h : request.headers) headers.push_back(h);
  std::string head = format_request("GET", t->path, headers);
  if (auto w = co_await stream->write(asio::buffer(head)); w.ec) {
    out.error = "sending the upgrade request to " + authority(*t) + " failed: " + w.ec.message();
    co_return out;
  }
  std::string leftover;
  http_response response;
  auto rr = co_await read_response(*stream, leftover, response, 64 * 1024);
  connection.disarm();
  if (!rr) {
    out.error = timed_out ? "timed out waiting for the upgrade response from " + authority(*t)
                          : "reading the upgrade response from " + authority(*t) +
                                " failed: " + (rr.bad ? rr.bad->message : rr.ec.message());
    co_return out;
  }
  out.status = response.status;
  out.reason = response.reason;
  out.headers = response.headers;
  if (response.status != 101) {
    out.error = "relay answered " + std::to_string(response.status) + " " + response.reason;
    co_return out;
  }
  if (response.header("Sec-WebSocket-Accept") != proto::websocket_accept_key(key)) {
    out.error = "the upgrade response from " + authority(*t) + " has a wrong Sec-WebSocket-Accept";
    co_return out;
  }
  out.connection.emplace(std::move(*stream), ws_role::client, std::move(leftover));
  co_return out;
}

task<http_call_result> call_http(http_call call) {
  http_call_result out;
  auto t = parse_target(call.url);
  if (!t) {
    out.error = "not an http:// or https:// URL: " + call.url;
    co_return out;
  }
  auto ex = co_await asio::this_coro::executor;
  timed_connection connection(ex, call.timeout);
  bool opened = co_await connection.open(*t, call.tls, out.error, std::nullopt);
  if (!opened) co_return out;
  auto& stream = connection.stream;
  const bool& timed_out = connection.timed_out_ref();
  header_list headers{{"Host", authority(*t)}, {"Connection", "close"}};
  for (auto& h : call.headers) headers.push_back(h);
  std::string msg = format_request(call.method, t->path, headers, call.body);
  if (auto w = co_await stream->write(asio::buffer(msg)); w.ec) {
    out.error = "sending the request to " + authority(*t) + " failed: " + w.ec.message();
    co_return out;
  }
  std::string leftover;
  http_response response;
  auto rr = co_await read_response(*stream, leftover, response, 16 * 1024 * 1024, call.method == "HEAD");
  if (!rr) {
    out.error = timed_out ? "timed out waiting for " + authority(*t)
                          : "reading the response from " + authority(*t) +
                                " failed: " + (rr.bad ? rr.bad->message : rr.ec.message());
    co_return out;
  }
  stream->close();
  out.response = std::move(response);
  co_return out;
}

}  // namespace hc::net
