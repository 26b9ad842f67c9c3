// connector/connector_service: listeners, config reload, /metrics and shutdown (see the header).
#include "connector/connector_service.hpp"

#include "connector/app_pins.hpp"
#include "connector/app_tunnel.hpp"
#include "connector/endpoint_config.hpp"
#include "connector/listener_owner.hpp"
#include "connector/status_socket.hpp"
#include "net/accept_backoff.hpp"
#include "net/http_server.hpp"
#include "net/io_threads.hpp"
#include "net/limits.hpp"
#include "net/memory_trim.hpp"
#include "net/spawn.hpp"
#include "net/task_group.hpp"
#include "util/file_watch.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>

#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace hc::connector {
namespace asio = net::asio;
using net::tcp;

namespace {

// One endpoint's bound listener. The accept loop shares it; the handle in the service's map is
// the owner whose destruction closes the acceptor (which ends the loop). Control strand only.
struct endpoint_listener {
  endpoint_entry entry;
  std::shared_ptr<const tunnel_target> target;
  tcp::acceptor acceptor;
  endpoint_listener(endpoint_entry e, std::shared_ptr<const tunnel_target> t, const asio::any_io_executor& ex)
      : entry(std::move(e)), target(std::move(t)), acceptor(ex) {}
};

class listener_handle {
 public:
  explicit listener_handle(std::shared_ptr<endpoint_listener> l) : listener_(std::move(l)) {}
  listener_handle(listener_handle&&) noexcept = default;
  listener_handle& operator=(listener_handle&&) noexcept = default;
  ~listener_handle() {
    if (!listener_) return;
    net::error_code ignored;  // closing an acceptor that failed to open is fine
    listener_->acceptor.close(ignored);
    listener_->target->client.stop_warm();
  }
  const endpoint_listener& get() const { return *listener_; }

 private:
  std::shared_ptr<endpoint_listener> listener_;
};

}  // namespace

struct connector_service::impl {
  explicit impl(service_options o) : options(std::move(o)), io(net::agent_io_threads(options.threads)) {}
  service_options options;
  connector_metrics metrics;  // outlives the io_context: session frames refer to it
  net::task_group sessions;   // every app tunnel, for the drain on stop(); outlives the io_context too
  asio::io_context io;
  asio::strand<asio::io_context::executor_type> control{io.get_executor()};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  net::tls_context tls;
  std::atomic<std::uint64_t> next_connection{1};
  std::atomic<std::size_t> listening{0};
  std::atomic<std::size_t> configured{0};  // endpoints the configuration names
  // --- control strand only (or before the threads start / after they are joined) ---
  std::map<std::string, listener_handle> listeners;  // by hybrid connection name
  std::map<std::string, endpoint_entry> unbindable;  // entries whose bind failed; retried when they change
  std::optional<util::file_watch> watch;
  std::optional<asio::steady_timer> poll_timer;
  std::unique_ptr<net::http_server> http;
  std::optional<status_server> status;  // CONFIG_DIR/hcconnect.sock: which addresses are ours
  endpoint_config applied;              // what the listeners were last reconciled to
  bool stopping = false;  // set by drain(): a poll whose answer arrives later must not reopen listeners
  std::set<std::string> waiting_logged;  // App Service mode: the waiting changes' sentences, each logged once
  std::string pins_error;                // App Service mode: why the pinned file was unusable, logged once
  // --- any thread: the waiting changes' sentences for /healthz ---
  std::mutex waiting_mutex;
  std::vector<std::string> waiting_text;  // guarded by waiting_mutex
  // --- owner thread ---
  std::vector<std::thread> threads;
  enum class state { idle, running, stopped } phase = state::idle;

  net::task<> accept_loop(std::shared_ptr<endpoint_listener> l) {
    for (;;) {
      auto strand = asio::make_strand(io);
      auto [ec, socket] = co_await l->acceptor.async_accept(strand, net::use_tuple);
      if (ec == asio::error::operation_aborted || !l->acceptor.is_open()) co_return;
      if (ec) {
        auto where =
            "endpoint " + l->entry.name + " (" + listen_address(l->entry) + ")";  // named: net/types.hpp
        co_await net::back_off_after_accept_error(ec, where);
        continue;
      }
      auto id = next_connection.fetch_add(1);
      asio::co_spawn(strand, serve_app_connection(l->target, std::move(socket), id, metrics, sessions),
                     net::log_failure("conn " + std::to_string(id) + " " + l->entry.name));
    }
  }

  // Opens, keeps or closes listeners so that they match `config`.
  void reconcile(const endpoint_config& config) {
    if (stopping) return;
    applied = config;
    for (auto it = listeners.begin(); it != listeners.end();) {
      const auto* wanted = config.find(it->first);
      if (wanted && *wanted == it->second.get().entry) {
        ++it;
        continue;
      }
      spdlog::info("endpoint {}: closing listener on {} ({})", it->first,
                   listen_address(it->second.get().entry), wanted ? "configuration changed" : "removed");
      it = listeners.erase(it);
    }
    std::erase_if(unbindable, [&](const auto& kv) {
      const auto* wanted = config.find(kv.first);
      return !wanted || !(*wanted == kv.second);
    });
    for (const auto& e : config.entries) {
      if (listeners.contains(e.name) || unbindable.contains(e.name)) continue;
      open_listener(e);
    }
    listening = listeners.size();
    configured = config.entries.size();
    metrics.set_endpoints(listeners.size());
  }

  void open_listener(const endpoint_entry& e) {
    auto cs = parse_send_connection_string(e.connection_string);
    if (!cs) {
      spdlog::error("endpoint {}: unusable connection string in the configuration: {}", e.name,
                    cs.error().message);
      unbindable.emplace(e.name, e);
      return;
    }
    net::relay_client client(*cs, tls, options.insecure_plaintext);
    // New app connections open a stream of a pooled HTTP/2 connection, or skip TCP connect and TLS
    // handshake on a relay that speaks HTTP/1.1 only.
    client.keep_warm(io.get_executor(), options.http2_connections);
    auto target = std::make_shared<const tunnel_target>(
        tunnel_target{e.name, e.endpoint_host + ":" + std::to_string(e.endpoint_port), std::move(client),
                      options.tunnel_keepalive});
    auto l = std::make_shared<endpoint_listener>(e, std::move(target), control);
    net::error_code ec;
    auto address = asio::ip::make_address(e.loopback_address, ec);
    if (!ec) l->acceptor.open(address.is_v4() ? tcp::v4() : tcp::v6(), ec);
    if (!ec) l->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) l->acceptor.bind({address, e.endpoint_port}, ec);
    if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec == asio::error::address_in_use) {
      spdlog::error("endpoint {}: cannot listen: {}", e.name,
                    taken_by_another_process(e, options.app ? std::string() : options.config_dir));
      unbindable.emplace(e.name, e);
      return;
    }
    if (ec) {
      spdlog::error("endpoint {}: cannot listen on {}: {}", e.name, listen_address(e), ec.message());
      unbindable.emplace(e.name, e);
      return;
    }
    spdlog::info("endpoint {}: {} -> {}:{} through relay {}", e.name, listen_address(e), e.endpoint_host,
                 e.endpoint_port, cs->authority());
    asio::co_spawn(control, accept_loop(l), net::log_failure("listener " + e.name));
    listeners.emplace(e.name, listener_handle(std::move(l)));
  }

  net::task<> poll_config() {
    for (;;) {
      poll_timer->expires_after(options.config_poll);
      auto [ec] = co_await poll_timer->async_wait(net::use_tuple);
      if (ec) co_return;
      if (!watch->changed()) continue;
      try {
        auto config = load_config(options.config_dir);
        spdlog::info("{} changed: {} endpoint(s)", watch->path(), config.entries.size());
        reconcile(config);
      } catch (const std::exception& e) {
        spdlog::error("{}; keeping the current endpoints", e.what());
      }
    }
  }

  // App Service mode: the app's hybrid connections from the relay, every app->poll. When the
  // relay cannot be asked, the current listeners stay (and the reason is logged once).
  net::task<> poll_app() {
    const auto& source = *options.app;
    std::string last_error;
    for (;;) {
      poll_timer->expires_after(source.poll);
      auto [ec] = co_await poll_timer->async_wait(net::use_tuple);
      if (ec || stopping) co_return;
      auto answer = co_await fetch_app_endpoints(source, tls, applied);
      if (stopping) co_return;
      if (!answer.config) {
        if (answer.error != last_error)
          spdlog::warn("app {}: {}; keeping the current {} endpoint(s)", source.app, answer.error,
                       listeners.size());
        last_error = answer.error;
        continue;
      }
      if (!last_error.empty()) spdlog::info("app {}: the relay answers again", source.app);
      last_error.clear();
      apply_app(*answer.config);
    }
  }

  // App Service mode: holds the relay's list to the accepted endpoints (app_pins) and applies what
  // that leaves. Changes that wait are logged once each and shown in /healthz and /metrics.
  void apply_app(const endpoint_config& relay) {
    const auto& source = *options.app;
    app_decision d;
    try {
      d = decide_app_endpoints(relay, source, options.state_dir, applied);
    } catch (const std::exception& e) {
      if (pins_error != e.what())
        spdlog::error("app {}: {}; keeping the current {} endpoint(s)", source.app, e.what(),
                      listeners.size());
      pins_error = e.what();
      return;
    }
    pins_error.clear();
    if (d.first_use && source.follow_endpoints)
      spdlog::info(
          "app {}: pinned the relay's {} hybrid connection(s) in {} (following the relay: "
          "--follow-endpoints)",
          source.app, relay.entries.size(), app_pins_path(options.state_dir));
    else if (d.first_use)
      spdlog::info(
          "app {}: no endpoints accepted yet: pinned the relay's {} hybrid connection(s) in {} (trust on "
          "first "
          "use); a hybrid connection added later, or an endpoint changed, waits for `hcconnect app-accept`",
          source.app, relay.entries.size(), app_pins_path(options.state_dir));
    for (const auto& change : d.followed) spdlog::info("{}", followed_sentence(source, change));
    std::set<std::string> waiting;
    for (const auto& change : d.waiting) {
      auto sentence = waiting_sentence(source, change);
      if (!waiting_logged.contains(sentence)) spdlog::warn("{}", sentence);
      waiting.insert(std::move(sentence));
    }
    waiting_logged = waiting;
    {
      std::lock_guard lock(waiting_mutex);
      waiting_text.assign(waiting.begin(), waiting.end());
    }
    metrics.set_changes_waiting(waiting.size());
    if (d.config.entries == applied.entries) return;
    spdlog::info("app {}: {} hybrid connection(s) in use", source.app, d.config.entries.size());
    reconcile(d.config);
  }

  // stop()'s first two steps, on the control strand (which owns the listeners): stop accepting and
  // polling, then give the open tunnels until the drain deadline to finish.
  net::task<> drain() {
    stopping = true;
    status.reset();
    listeners.clear();
    if (poll_timer) poll_timer->cancel();
    if (http) http->stop();
    listening = 0;
    sessions.end_all();
    auto deadline = std::chrono::steady_clock::now() + net::limits::agent_drain_timeout;
    bool drained = co_await sessions.wait_empty(deadline);
    if (!drained) spdlog::warn("stopping with {} tunnel(s) still open: they are cut", sessions.size());
  }

  net::task<std::string> serve_http(const net::http_request& request) {
    if (request.target == "/metrics")
      co_return net::format_response(200, "OK", {{"Content-Type", "text/plain; version=0.0.4"}},
                                     metrics.serialize());
    if (request.target == "/healthz") {
      auto body = "ok: " + std::to_string(listening.load()) + " endpoint(s) listening\n";
      {
        std::lock_guard lock(waiting_mutex);
        for (const auto& sentence : waiting_text) body += "waiting: " + sentence + "\n";
      }
      co_return net::format_response(200, "OK", {{"Content-Type", "text/plain"}}, body);
    }
    if (request.target == "/readyz") co_return readiness();
    co_return net::format_response(404, "Not Found", {{"Content-Type", "text/plain"}},
                                   "try /metrics, /healthz or /readyz\n");
  }

  // 200 "ready" when every configured endpoint listens; else 503 with how many do not.
  std::string readiness() const {
    auto want = configured.load(), have = listening.load();
    auto answer = [](int status, const std::string& body) {
      return net::format_response(status, status == 200 ? "OK" : "Service Unavailable",
                                  {{"Content-Type", "text/plain"}}, body);
    };
    if (want == 0) return answer(503, "not ready: no endpoint is configured (hcconnect add)\n");
    if (have < want)
      return answer(503, "not ready: " + std::to_string(want - have) + " of " + std::to_string(want) +
                             " endpoints cannot listen (hcconnect's log says why)\n");
    return answer(200, "ready\n");
  }

  // The addresses bound right now (the status socket's answer). Control strand.
  std::set<std::string> bound_addresses() const {
    std::set<std::string> out;
    for (const auto& [name, l] : listeners) out.insert(listen_address(l.get().entry));
    return out;
  }
};

connector_service::connector_service(service_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

connector_service::~connector_service() {
  stop();
}

void connector_service::start() {
  auto& s = *impl_;
  if (s.phase != impl::state::idle) return;
  s.tls = net::make_client_tls(s.options.ca_file);
  if (s.options.app) {
    if (auto valid = validate_app_source(*s.options.app); !valid)
      throw std::runtime_error(valid.error().message);
    spdlog::info("app {}: following its hybrid connections at {} (every {} ms)", s.options.app->app,
                 s.options.app->relay_url, s.options.app->poll.count());
    // The first answer before start() returns, so `run` finds the listeners open.
    auto first = fetch_app_endpoints_now(*s.options.app, s.tls);
    if (first.config) {
      spdlog::info("app {}: {} hybrid connection(s)", s.options.app->app, first.config->entries.size());
      s.apply_app(*first.config);
    } else {
      spdlog::warn("app {}: {}; asking again every {} ms", s.options.app->app, first.error,
                   s.options.app->poll.count());
    }
  } else {
    auto config = load_config(s.options.config_dir);
    s.watch.emplace(config_file_path(s.options.config_dir));
    s.reconcile(config);
    if (config.entries.empty())
      spdlog::warn(
          "no endpoints configured in {} yet; add one with `hcconnect add` (picked up within a second)",
          config_file_path(s.options.config_dir));
  }
  if (s.options.metrics_port > 0) {
    s.http = std::make_unique<net::http_server>(
        s.io.get_executor(),
        tcp::endpoint(asio::ip::address_v4::loopback(), std::uint16_t(s.options.metrics_port)),
        [&s](const net::http_request& r) { return s.serve_http(r); });
    spdlog::info("metrics on http://127.0.0.1:{}/metrics", s.http->local_endpoint().port());
  }
  if (!s.options.state_dir.empty())
    s.status.emplace(s.control, status_socket_path(s.options.state_dir), [&s] {
      std::string lines;
      for (const auto& a : s.bound_addresses()) lines += a + "\n";
      return lines;
    });
  s.poll_timer.emplace(s.control);
  if (s.options.app)
    asio::co_spawn(s.control, s.poll_app(), net::log_failure("app " + s.options.app->app));
  else
    asio::co_spawn(s.control, s.poll_config(), net::log_failure("configuration watch"));
  s.work.emplace(s.io.get_executor());
  net::keep_returning_free_memory(s.io.get_executor());
  int n = net::agent_io_threads(s.options.threads);
  for (int i = 0; i < n; ++i) s.threads.emplace_back([&s] { s.io.run(); });
  s.phase = impl::state::running;
}

void connector_service::run_until_signal() {
  auto& s = *impl_;
  std::promise<int> signalled;
  asio::signal_set signals(s.io, SIGINT, SIGTERM);
  signals.async_wait([&](net::error_code ec, int sig) { signalled.set_value(ec ? 0 : sig); });
  int sig = signalled.get_future().get();
  spdlog::info("signal {}: stopping", sig);
  stop();
}

void connector_service::stop() {
  auto& s = *impl_;
  if (s.phase != impl::state::running) return;
  s.phase = impl::state::stopped;
  // 1. Stop accepting, 2. drain: tunnels whose apps are finishing get a moment to close cleanly.
  asio::co_spawn(s.control, s.drain(), asio::use_future).get();
  // 3. Force: stopping the io_context ends the rest; their frames (and sockets) go with it.
  s.work.reset();
  s.io.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  s.http.reset();
  s.poll_timer.reset();
}

std::size_t connector_service::listening() const {
  return impl_->listening.load();
}

std::set<std::string> connector_service::bound_addresses() const {
  auto& s = *impl_;
  if (s.phase != impl::state::running) return {};
  std::promise<std::set<std::string>> answer;
  asio::post(s.control, [&] { answer.set_value(s.bound_addresses()); });
  return answer.get_future().get();
}

std::optional<tcp::endpoint> connector_service::metrics_endpoint() const {
  if (!impl_->http) return std::nullopt;
  return impl_->http->local_endpoint();
}

}  // namespace hc::connector
