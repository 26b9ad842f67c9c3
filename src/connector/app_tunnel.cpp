// connector/app_tunnel: app TCP connection -> sender WebSocket -> splice (see app_tunnel.hpp).
#include "connector/app_tunnel.hpp"

#include "net/pump.hpp"
#include "proto/error.hpp"
#include "util/log.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <optional>

namespace hc::connector {

namespace {

// The sender leg through the relay, or nullopt (logged, the app reset) when the relay cannot be
// reached or refuses. Its own coroutine: the dial's result and texts are not kept in a frame for
// the tunnel's whole life.
net::task<std::optional<net::ws_connection>> open_sender_leg(const tunnel_target& target,
                                                             net::byte_stream& app_side, std::uint64_t id,
                                                             const std::string& tracking,
                                                             const std::string& app,
                                                             connector_metrics& metrics) {
  auto dial = co_await target.client.connect({}, tracking);
  if (dial) co_return std::move(*dial.connection);
  // The app must see the failure at once (RST), not a connection that accepts bytes and hangs.
  app_side.reset();
  if (dial.status != 0) {
    metrics.connection("rejected");
    util::log_event(spdlog::level::warn, {tracking, {}, target.name, {}},
                    "conn {} [{}] {} ({}) from {}: relay refused the tunnel: {} {}", id, tracking,
                    target.name, target.endpoint, app, dial.status,
                    dial.reason.empty() ? dial.error : dial.reason);
  } else {
    metrics.connection("failed");
    util::log_event(spdlog::level::warn, {tracking, {}, target.name, {}},
                    "conn {} [{}] {} ({}) from {}: cannot reach the relay: {}", id, tracking, target.name,
                    target.endpoint, app, dial.error);
  }
  co_return std::nullopt;
}

}  // namespace

net::task<> serve_app_connection(std::shared_ptr<const tunnel_target> target, net::tcp::socket app_socket,
                                 std::uint64_t id, connector_metrics& metrics, net::task_group& sessions) {
  // Nothing to ask of a tunnel when hcconnect stops: the app and the endpoint end it, the drain
  // only waits for it. Leaving the group is the membership's destruction, on every way out.
  auto ex = co_await net::asio::this_coro::executor;
  auto member = sessions.join(ex, [] {});
  auto started = std::chrono::steady_clock::now();
  auto app_side = net::byte_stream::plain(std::move(app_socket));
  app_side.reset_on_abandon();  // from now on, hcconnect dying shows the app an error, not an EOF
  const auto app = app_side.remote_address();

  // The tracking id goes to the relay as sb-hc-id; the relay and hcm log the same id, so one
  // connection can be followed across the three programs.
  const auto tracking = proto::new_tracking_id();
  auto leg = co_await open_sender_leg(*target, app_side, id, tracking, app, metrics);
  if (!leg) co_return;
  double setup = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  metrics.connection("tunnelled");
  auto flowing = metrics.tunnel_started(setup);
  net::tunnel_end_guard metered(metrics, flowing);
  const util::log_fields about{tracking, {}, target->name, {}};
  util::log_event(spdlog::level::debug, about, "conn {} [{}] {} ({}) from {}: tunnel open in {:.1f} ms", id,
                  tracking, target->name, target->endpoint, app, setup * 1000);

  auto& agent_side = *leg;
  auto& counters = flowing->counters;
  auto result =
      co_await net::splice(agent_side, app_side, counters, net::tunnel_side::app_side, target->keepalive);
  agent_side.stream().close();
  app_side.close();

  auto up = counters.app_to_agent.load(), down = counters.agent_to_app.load();
  double lasted = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (result.clean())
    util::log_event(spdlog::level::info, about,
                    "conn {} [{}] {} ({}) from {}: closed after {:.3f} s, {} bytes up, {} bytes down", id,
                    tracking, target->name, target->endpoint, app, lasted, up, down);
  else
    util::log_event(
        spdlog::level::warn, about,
        "conn {} [{}] {} ({}) from {}: ended after {:.3f} s, {} bytes up, {} bytes down; app->agent {}, "
        "agent->app {}{}{}",
        id, tracking, target->name, target->endpoint, app, lasted, up, down,
        net::to_string(result.app_to_agent), net::to_string(result.agent_to_app), result.error ? ": " : "",
        result.error ? result.error.message() : "");
}

}  // namespace hc::connector
