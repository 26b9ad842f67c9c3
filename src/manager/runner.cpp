// manager/runner: the per-connection loop (see runner.hpp): runtime info -> listen -> serve the
// control channel -> back off -> again. The control channel is served by four loops joined with
// `||`: the reader (accepts, Pings, Close), keep-alive, token renewal and the runtime-info
// refresh. Whichever ends first closes the stream, which ends the reader; the others are
// cancelled while they wait on timers.
#include "manager/runner.hpp"

#include "manager/tunnel.hpp"
#include "net/backoff.hpp"
#include "net/relay_client.hpp"
#include "net/ws_channel.hpp"
#include "proto/control_messages.hpp"
#include "proto/endpoint.hpp"
#include "proto/hc_address.hpp"
#include "util/build_info.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <variant>

namespace hc::manager {
namespace asio = net::asio;
using net::error_code;
using net::ws_connection;
using proto::opcode;
using clock = std::chrono::steady_clock;

// Lives as long as the handle or the coroutine holds it; touched only on `strand`.
struct runner_handle::state {
  explicit state(asio::strand<asio::any_io_executor> s) : strand(s), wake(s) {}
  asio::strand<asio::any_io_executor> strand;
  asio::steady_timer wake;           // the backoff sleep; cancelled by stop()
  ws_connection* control = nullptr;  // the open control channel, closed by stop()
  bool stopping = false;
};

namespace {

// A NotFound or bad-metadata connection is retried this slowly (the HC must be fixed first).
constexpr auto slow_retry = std::chrono::seconds(30);
const std::string slow_retry_text = std::to_string(slow_retry.count()) + " s";

class runner {
 public:
  runner(runner_settings settings, proto::connection_string cs, std::shared_ptr<connection_stats> stats,
         std::shared_ptr<runner_handle::state> st, asio::any_io_executor io)
      : settings_(std::move(settings)),
        client_(std::move(cs), settings_.tls, settings_.plaintext),
        stats_(std::move(stats)),
        st_(std::move(st)),
        io_(std::move(io)) {
    // The listener channel and the rendezvous legs go on HTTP/2 streams, or skip TCP connect and TLS
    // handshake on a relay that speaks HTTP/1.1 only.
    client_.keep_warm(io_, settings_.http2_connections);
  }
  ~runner() { client_.stop_warm(); }

  net::task<void> run();

 private:
  net::task<void> sleep(std::chrono::milliseconds d);
  // nullopt once the endpoint is known; else (with the status set) how long to wait before
  // trying again.
  net::task<std::optional<std::chrono::milliseconds>> learn_endpoint(net::backoff& backoff);
  // Sets endpoint_ from the pinned one (showing a different `named` as the endpoint change) or,
  // when following or not pinned yet, from `named` (pinning it). Why there is none, or nullopt.
  std::optional<std::string> choose_endpoint(const proto::result<proto::endpoint>& named);
  net::task<std::string> serve(ws_connection& ws);
  net::task<std::string> read_loop(net::ws_channel& channel);
  net::task<std::string> keepalive_loop(ws_connection& ws, net::ws_channel& channel);
  net::task<error_code> answer_request(ws_connection& ws, const proto::request_message& request);
  net::task<std::string> renew_loop(ws_connection& ws);
  net::task<std::string> refresh_loop();
  void on_accept(proto::accept_message accept);
  void set_state(const std::string& status, const std::string& reason);
  const std::string& name() const { return settings_.entry.name; }

  runner_settings settings_;
  net::relay_client client_;
  std::shared_ptr<connection_stats> stats_;
  std::shared_ptr<runner_handle::state> st_;
  asio::any_io_executor io_;                 // tunnels get their own strands of this
  std::optional<proto::endpoint> endpoint_;  // the one dialed; tunnels copy it
  std::string endpoint_change_;              // the endpoint change last shown, to log changes only
  std::string last_status_;                  // status + reason last logged, to log changes only
};

void runner::set_state(const std::string& status, const std::string& reason) {
  stats_->set_state(status, reason);
  auto line = status + (reason.empty() ? "" : " (" + reason + ")");
  if (line == last_status_) return;
  last_status_ = line;
  if (status == "Connected")
    spdlog::info("connection {}/{}: {}", settings_.entry.ns, name(), line);
  else
    spdlog::warn("connection {}/{}: {}", settings_.entry.ns, name(), line);
}

net::task<void> runner::sleep(std::chrono::milliseconds d) {
  if (st_->stopping || d.count() == 0) co_return;
  st_->wake.expires_after(d);
  co_await st_->wake.async_wait(net::use_tuple);
}

net::task<std::optional<std::chrono::milliseconds>> runner::learn_endpoint(net::backoff& backoff) {
  auto info = co_await client_.runtime_info();
  if (!info.info) {
    if (info.status == 404) {
      set_state("NotFound", "the relay does not know hybrid connection '" + name() +
                                "' (404); retrying every " + slow_retry_text);
      co_return slow_retry;
    }
    if (info.status == 401 || info.status == 403) {
      set_state("Unauthorized",
                info.error + (info.status == 401 ? ": check the key" : ": the rule needs the Listen right"));
      co_return backoff.next();
    }
    set_state("Disconnected", "relay unreachable: " + info.error);
    co_return backoff.next();
  }
  stats_->set_listeners(info.info->listener_count);
  if (auto why = choose_endpoint(proto::endpoint_from_user_metadata(info.info->user_metadata))) {
    set_state("Disconnected", *why + "; retrying every " + slow_retry_text);
    co_return slow_retry;
  }
  co_return std::nullopt;
}

std::optional<std::string> runner::choose_endpoint(const proto::result<proto::endpoint>& named) {
  auto& entry = settings_.entry;
  if (!entry.follow_endpoint && !entry.endpoint_host.empty()) {
    endpoint_ = proto::endpoint{entry.endpoint_host, entry.endpoint_port};
    std::string change;
    if (named && named->to_string() != endpoint_->to_string())
      change = "endpoint changed on the relay to " + named->to_string() +
               ": run `hcm add` again to accept (hcm keeps dialing the pinned " + endpoint_->to_string() +
               ")";
    if (change != endpoint_change_ && !change.empty())
      spdlog::warn("connection {}/{}: {}", entry.ns, name(), change);
    endpoint_change_ = change;
    stats_->set_endpoint_change(change);
    stats_->set_endpoint(endpoint_->to_string());
    return std::nullopt;
  }
  if (!named) return "no usable endpoint in the hybrid connection's metadata: " + named.error().message;
  if (entry.follow_endpoint && (!endpoint_ || endpoint_->to_string() != named->to_string()))
    spdlog::info("connection {}/{}: endpoint {} (following the relay's metadata: --follow-endpoint)",
                 entry.ns, name(), named->to_string());
  if (!entry.follow_endpoint) {  // no pinned endpoint yet: pin this one
    spdlog::info(
        "connection {}/{}: no pinned endpoint in the configuration (an entry from an older hcm, or added "
        "while "
        "the relay was unreachable): pinning {}, the endpoint the relay names now",
        entry.ns, name(), named->to_string());
    entry.endpoint_host = named->host;
    entry.endpoint_port = named->port;
    if (settings_.pin) settings_.pin(*named);
  }
  endpoint_ = *named;
  stats_->set_endpoint(endpoint_->to_string());
  return std::nullopt;
}

net::task<void> runner::run() {
  net::backoff backoff;
  if (const auto& e = settings_.entry; !e.follow_endpoint && !e.endpoint_host.empty())
    spdlog::info("connection {}/{}: dialing only the pinned endpoint {} (`hcm add` again to change it)", e.ns,
                 name(), e.endpoint());
  set_state("Disconnected", "connecting");
  while (!st_->stopping) {
    auto retry_after = co_await learn_endpoint(backoff);
    if (retry_after) {
      co_await sleep(*retry_after);
      continue;
    }
    if (st_->stopping) break;
    auto dialed = co_await client_.listen(settings_.listener_id, "hcm/" + std::string(util::version()),
                                          settings_.token_lifetime);
    if (!dialed) {
      auto why = dialed.status ? std::to_string(dialed.status) + " " + dialed.reason : dialed.error;
      stats_->set_last_error("listen: " + why);
      if (dialed.status == 404) {
        set_state("NotFound", why);
        co_await sleep(slow_retry);
      } else if (dialed.status == 401 || dialed.status == 403) {
        set_state("Unauthorized", why);
        co_await sleep(backoff.next());
      } else {
        set_state("Disconnected", "listen failed: " + why);
        co_await sleep(backoff.next());
      }
      continue;
    }
    if (st_->stopping) break;
    auto connected_at = clock::now();
    set_state("Connected", "");
    auto reason = co_await serve(*dialed.connection);
    dialed.connection->stream().close();
    if (st_->stopping) break;
    stats_->count_reconnect();
    settings_.metrics->reconnect();
    stats_->set_last_error(reason);
    set_state("Disconnected", reason);
    if (clock::now() - connected_at > net::backoff_reset_after) backoff.reset();
    co_await sleep(backoff.next());
  }
  stats_->set_state("Disconnected", "removed");
}

net::task<std::string> runner::serve(ws_connection& ws) {
  using namespace asio::experimental::awaitable_operators;
  st_->control = &ws;
  net::ws_channel channel(ws, proto::max_control_message_bytes);
  auto ended =
      co_await (read_loop(channel) || keepalive_loop(ws, channel) || renew_loop(ws) || refresh_loop());
  st_->control = nullptr;
  co_return std::visit([](std::string& s) { return std::move(s); }, ended);
}

net::task<std::string> runner::read_loop(net::ws_channel& channel) {
  auto& ws = *st_->control;
  for (;;) {
    auto read = co_await channel.read_message();
    switch (read.what) {
      case net::channel_read::kind::lost:
        co_return st_->stopping ? "stopped" : "control channel lost: " + read.ec.message();
      case net::channel_read::kind::protocol_error:
        co_await ws.write_close(1002, "WebSocket protocol error");
        co_return "the relay broke the WebSocket protocol";
      case net::channel_read::kind::closed:
        co_await ws.write_close_raw(read.close_payload);
        co_return "the relay closed the control channel: " + std::to_string(read.close.code) +
            (read.close.reason.empty() ? "" : " " + read.close.reason);
      case net::channel_read::kind::too_big:
        co_await ws.write_close(1009, "control message too big");
        co_return "the relay sent a control message over 64 KiB";
      case net::channel_read::kind::message:
        break;
    }
    if (read.op != opcode::text) continue;  // a request body that follows a request: dropped
    auto command = proto::parse_relay_command(read.data);
    if (!command)
      spdlog::warn("connection {}: ignoring a bad control message: {}", name(), command.error().message);
    else if (auto* accept = std::get_if<proto::accept_message>(&*command))
      on_accept(std::move(*accept));
    else if (auto* request = std::get_if<proto::request_message>(&*command)) {
      if (auto ec = co_await answer_request(ws, *request)) {
        ws.stream().close();
        co_return "answering an HTTP request failed: " + ec.message();
      }
    } else
      spdlog::debug("connection {}: ignoring control command {}", name(),
                    std::get<proto::unknown_command>(*command).name);
  }
}

// HTTP mode (a relay's `request`, as Azure sends to any listener): hcm carries TCP tunnels only,
// so it answers 501 at once, with a sentence, rather than leaving the relay waiting 60 s for each
// request. A request announced by address and id only is answered the same way, unfetched.
net::task<error_code> runner::answer_request(ws_connection& ws, const proto::request_message& request) {
  spdlog::info("connection {}: HTTP request {} {} answered 501: hcm carries TCP tunnels, not HTTP requests",
               name(), request.method.empty() ? "(not fetched)" : request.method, request.target);
  proto::response_message response;
  response.request_id = request.id;
  response.status = 501;
  response.description = "Not Implemented";
  response.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  response.body = true;
  std::string text = "Hybrid connection " + name() + " is served by hcm on " + settings_.machine +
                     ", which carries TCP connections (WebSocket senders such as hcconnect or App Service), "
                     "not HTTP requests\n";
  if (auto ec = co_await ws.write_text(proto::serialize(response))) co_return ec;
  auto body = std::span(reinterpret_cast<std::uint8_t*>(text.data()), text.size());
  auto ec = co_await ws.write_frame(opcode::binary, true, body);
  co_return ec;
}

void runner::on_accept(proto::accept_message accept) {
  if (!endpoint_) return;  // cannot happen: we listen only after learning the endpoint
  tunnel_context ctx{client_,
                     *endpoint_,
                     stats_,
                     settings_.metrics,
                     settings_.machine,
                     settings_.tunnels,
                     settings_.tunnel_keepalive,
                     settings_.entry.allow_link_local};
  spdlog::debug("connection {}: accept {}", name(), accept.id);
  spawn_tunnel(io_, std::move(ctx), std::move(accept));
}

net::task<std::string> runner::keepalive_loop(ws_connection& ws, net::ws_channel& channel) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(settings_.keepalive);
    if (auto [ec] = co_await timer.async_wait(net::use_tuple); ec) co_return "stopped";
    if (channel.count_ping() >= 2) {
      ws.stream().close();
      co_return "the relay did not answer 2 keep-alive pings";
    }
    if (auto ec = co_await ws.write_frame(opcode::ping, true, {})) {
      ws.stream().close();
      co_return "sending a keep-alive ping failed: " + ec.message();
    }
  }
}

net::task<std::string> runner::renew_loop(ws_connection& ws) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  // A connection string with a fixed SharedAccessSignature cannot mint new tokens.
  bool can_renew = client_.connection().sas_token.empty();
  auto every = std::max(std::chrono::seconds(1), settings_.token_lifetime * 3 / 4);
  for (;;) {
    timer.expires_after(can_renew ? std::chrono::duration_cast<clock::duration>(every)
                                  : std::chrono::hours(24));
    if (auto [ec] = co_await timer.async_wait(net::use_tuple); ec) co_return "stopped";
    if (!can_renew) continue;
    proto::renew_token_message renew{client_.token(settings_.token_lifetime)};
    if (auto ec = co_await ws.write_text(proto::serialize(renew))) {
      ws.stream().close();
      co_return "sending renewToken failed: " + ec.message();
    }
    spdlog::debug("connection {}: token renewed", name());
  }
}

net::task<std::string> runner::refresh_loop() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto every = std::chrono::duration_cast<clock::duration>(settings_.refresh);
  auto next = std::chrono::duration_cast<clock::duration>(std::chrono::milliseconds(200));  // count ourselves
  for (;;) {
    timer.expires_after(next);
    if (auto [ec] = co_await timer.async_wait(net::use_tuple); ec) co_return "stopped";
    next = every;
    auto info = co_await client_.runtime_info();
    if (!info.info) continue;  // the control channel itself tells whether the relay is gone
    stats_->set_listeners(info.info->listener_count);
    // Bad metadata now leaves the endpoint as it was (the reconnect path reports it).
    choose_endpoint(proto::endpoint_from_user_metadata(info.info->user_metadata));
  }
}

// The coroutine frame owns the runner (a parameter, not a lambda capture, which would dangle).
net::task<void> run_owned(std::shared_ptr<runner> r) {
  co_await r->run();
}

}  // namespace

runner_handle::runner_handle(asio::any_io_executor io, runner_settings settings) : entry_(settings.entry) {
  auto cs = proto::parse_connection_string(entry_.connection_string);
  if (!cs) throw std::invalid_argument("connection " + entry_.key() + ": " + cs.error().message);
  stats_ = std::make_shared<connection_stats>(entry_.ns, entry_.name);
  state_ = std::make_shared<state>(asio::make_strand(io));
  auto r = std::make_shared<runner>(std::move(settings), std::move(*cs), stats_, state_, io);
  auto key = entry_.key();
  asio::co_spawn(state_->strand, run_owned(std::move(r)), [key](std::exception_ptr e) {
    if (!e) {
      spdlog::info("connection {}: runner stopped", key);
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("connection {}: runner failed: {}", key, ex.what());
    }
  });
}

runner_handle::~runner_handle() {
  stop();
}

void runner_handle::stop() {
  asio::post(state_->strand, [st = state_] {
    st->stopping = true;
    st->wake.cancel();
    if (st->control) st->control->stream().close();
  });
}

}  // namespace hc::manager
