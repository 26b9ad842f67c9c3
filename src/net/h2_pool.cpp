// net/h2_pool: pooled HTTP/2 connections to a relay node and WebSockets on their streams (see
// h2_pool.hpp).
#include "net/h2_pool.hpp"

#include "net/deadline.hpp"
#include "net/tls.hpp"
#include "net/wake_signal.hpp"
#include "proto/hc_address.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <map>

namespace hc::net {
namespace {

// How long a node that answered with HTTP/1.1 is dialed so before h2 is tried again (an upgraded
// relay is found within this time).
constexpr auto http1_memory = std::chrono::minutes(10);

std::string authority_of(const std::string& host, std::uint16_t port) {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return port == 443 ? h : h + ":" + std::to_string(port);
}

struct pool_registry {
  std::mutex mutex;
  std::map<std::tuple<std::string, std::uint16_t, void*>, std::weak_ptr<h2_pool>> pools;
};
pool_registry& registry() {
  static pool_registry r;
  return r;
}

}  // namespace

std::shared_ptr<h2_pool> h2_pool::for_node(asio::any_io_executor ex, const std::string& host,
                                           std::uint16_t port, tls_context tls, std::size_t connections) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  std::erase_if(r.pools, [](const auto& entry) { return entry.second.expired(); });
  auto key = std::make_tuple(host, port, static_cast<void*>(tls.get()));
  if (auto existing = r.pools[key].lock()) return existing;
  auto pool = std::make_shared<h2_pool>(std::move(ex), host, port, std::move(tls), connections);
  r.pools[key] = pool;
  return pool;
}

h2_pool::h2_pool(asio::any_io_executor ex, std::string host, std::uint16_t port, tls_context tls,
                 std::size_t connections)
    : ex_(std::move(ex)),
      host_(std::move(host)),
      port_(port),
      tls_(std::move(tls)),
      size_(std::max<std::size_t>(connections, 1)) {}

h2_pool::~h2_pool() {
  for (auto& s : sessions_) s->shut_down();
}

void h2_pool::wake_waiters() {
  std::vector<std::shared_ptr<wake_signal>> waiting;
  {
    std::lock_guard lock(mutex_);
    waiting.swap(waiting_);
  }
  for (auto& w : waiting) w->notify();
}

task<h2_pool::choice> h2_pool::session_for(const dial_request& request) {
  auto ex = co_await asio::this_coro::executor;
  auto give_up = std::chrono::steady_clock::now() + request.timeout;
  for (;;) {
    auto waiter = std::make_shared<wake_signal>();
    {
      std::lock_guard lock(mutex_);
      if (std::chrono::steady_clock::now() < http1_only_until_) {
        choice http1;
        http1.fall_back = true;
        co_return http1;
      }
      if (std::chrono::steady_clock::now() >= give_up) {
        choice none;
        none.error = "timed out waiting for an HTTP/2 connection to " + authority_of(host_, port_);
        co_return none;
      }
      // Connections that take no more streams (lost, going away, full) leave the pool; their open
      // streams go on until they end.
      std::erase_if(sessions_, [](const auto& s) { return !s->usable(); });
      std::shared_ptr<h2_session> best;
      std::size_t best_load = 0;
      for (const auto& s : sessions_) {
        if (!s->usable()) continue;
        auto load = s->open_streams();
        if (!best || load < best_load) {
          best = s;
          best_load = load;
        }
      }
      bool room = sessions_.size() + opening_ < size_;
      // An idle connection is as good as a new one; a busy one only when no more may be opened.
      if (best && (best_load == 0 || !room)) {
        choice pooled;
        pooled.session = std::move(best);
        co_return pooled;
      }
      if (room) {
        ++opening_;
        break;
      }
      waiting_.push_back(waiter);  // every connection is being opened: the first one ready serves
    }
    asio::steady_timer limit(ex, give_up);
    limit.async_wait([waiter](error_code) { waiter->notify(); });
    co_await waiter->wait();
  }
  std::string error;
  auto connection =
      co_await open_tls_connection(host_, port_, tls_, request.timeout, alpn_h2_then_http11, error);
  choice out;
  {
    std::lock_guard lock(mutex_);
    --opening_;
    if (!connection) {
      out.error = std::move(error);
    } else if (connection->negotiated_protocol() != "h2") {
      http1_only_until_ = std::chrono::steady_clock::now() + http1_memory;
      spdlog::info("{} does not offer HTTP/2: one connection per tunnel leg (HTTP/1.1)",
                   authority_of(host_, port_));
      out.fall_back = true;
      out.preopened = std::move(connection);
    } else {
      h2_options options;
      out.session = h2_session::start(ex_, std::move(*connection), options);
      sessions_.push_back(out.session);
    }
  }
  wake_waiters();
  co_return out;
}

namespace {

// The first line of a refusal's body: HTTP/2 has no reason phrase, the relay's sentence is there.
task<std::string> first_line_of_body(h2_stream& stream) {
  std::string body;
  char buffer[1024];
  while (body.size() < 4096 && body.find('\n') == std::string::npos) {
    auto r = co_await stream.read_some(asio::buffer(buffer));
    if (r.ec) break;
    body.append(buffer, r.bytes);
  }
  auto eol = body.find('\n');
  if (eol != std::string::npos) body.resize(eol);
  if (!body.empty() && body.back() == '\r') body.pop_back();
  co_return body;
}

}  // namespace

task<h2_pool::dialed> h2_pool::dial(const dial_request& request) {
  bool refused = false;
  auto first = co_await dial_once(request, refused);
  if (!refused) co_return first;
  // The connection went away (GOAWAY, an idle close crossing our request) before the relay took
  // the stream: nothing reached it, so once more on another connection (RFC 9113 §8.7).
  co_return co_await dial_once(request, refused);
}

task<h2_pool::dialed> h2_pool::dial_once(const dial_request& request, bool& refused) {
  dialed out;
  auto url = proto::parse_ws_url(request.url);
  if (!url || !url->tls) {
    out.fall_back = true;
    co_return out;
  }
  auto ex = co_await asio::this_coro::executor;
  auto chosen = co_await session_for(request);
  if (chosen.fall_back) {
    out.fall_back = true;
    out.preopened = std::move(chosen.preopened);
    co_return out;
  }
  if (!chosen.session) {
    out.result.error = std::move(chosen.error);
    co_return out;
  }
  auto& session = *chosen.session;
  h2_stream stream;
  bool timed_out = false;
  deadline guard(ex, request.timeout, [&] {
    timed_out = true;
    if (stream)
      stream.reset();  // the other streams go on
    else
      session.shut_down();  // no SETTINGS in all this time: the connection is no good
  });
  bool settings = co_await session.ready();
  if (!settings) {
    out.result.error = timed_out ? "timed out waiting for HTTP/2 settings from " + authority_of(host_, port_)
                                 : "the HTTP/2 connection to " + authority_of(host_, port_) + " ended";
    co_return out;
  }
  if (!session.accepts_websocket()) {
    {
      std::lock_guard lock(mutex_);
      http1_only_until_ = std::chrono::steady_clock::now() + http1_memory;
      std::erase(sessions_, chosen.session);
    }
    session.shut_down();
    spdlog::info("{} speaks HTTP/2 without WebSockets over it (RFC 8441): using HTTP/1.1",
                 authority_of(host_, port_));
    out.fall_back = true;
    co_return out;
  }
  header_list head{{":method", "CONNECT"}, {":protocol", "websocket"},
                   {":scheme", "https"},   {":authority", authority_of(url->host, url->port)},
                   {":path", url->target}, {"sec-websocket-version", "13"}};
  for (const auto& h : request.headers) head.push_back(h);
  stream = session.open(head);
  if (!stream) {
    out.result.error = "the HTTP/2 connection to " + authority_of(host_, port_) + " takes no more streams";
    co_return out;
  }
  auto status = co_await stream.response_head();
  if (!status) {
    guard.disarm();
    refused = !timed_out && !session.usable();
    out.result.error = timed_out
                           ? "timed out waiting for the upgrade response from " + authority_of(host_, port_)
                           : "the HTTP/2 stream to " + authority_of(host_, port_) + " ended before an answer";
    co_return out;
  }
  bool upgraded = *status >= 200 && *status < 300;  // RFC 8441 §5: any 2xx
  out.result.status = upgraded ? 101 : *status;     // as HTTP/1.1 callers know it
  for (const auto& [name, value] : stream.peer_head())
    if (!name.starts_with(':')) out.result.headers.emplace_back(name, value);
  if (!upgraded) {
    out.result.reason = co_await first_line_of_body(stream);
    guard.disarm();
    stream.close();
    out.result.error = "relay answered " + std::to_string(*status) + " " + out.result.reason;
    co_return out;
  }
  guard.disarm();
  out.result.connection.emplace(as_byte_stream(std::move(stream)), ws_role::client);
  co_return out;
}

}  // namespace hc::net
