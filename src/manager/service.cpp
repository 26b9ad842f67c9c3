// manager/service: the `hcm run` supervisor (see service.hpp). The supervisor's own work (config
// polling, status writing, stopping) runs on one strand; the runner map is also read by the web
// UI's strands, so it sits behind a mutex.
#include "manager/service.hpp"

#include "manager/config.hpp"
#include "manager/metrics.hpp"
#include "manager/runner.hpp"
#include "manager/status.hpp"
#include "manager/ui_token.hpp"
#include "manager/views.hpp"
#include "manager/web_ui.hpp"
#include "net/clock.hpp"
#include "net/http_server.hpp"
#include "net/io_threads.hpp"
#include "net/limits.hpp"
#include "net/memory_trim.hpp"
#include "net/task_group.hpp"
#include "net/tls.hpp"
#include "util/build_info.hpp"
#include "util/file_watch.hpp"
#include "util/log.hpp"
#include "util/private_file.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace hc::manager {
namespace asio = net::asio;
using namespace std::chrono_literals;

namespace {

std::chrono::seconds env_seconds(const char* name, std::chrono::seconds fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  try {
    auto n = std::stol(v);
    if (n > 0) return std::chrono::seconds(n);
  } catch (const std::exception&) {
  }
  spdlog::warn("ignoring {}={}: not a positive number of seconds", name, v);
  return fallback;
}

std::string machine_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "this host";
  return buf;
}

// Appends the service's log lines to STATE_DIR/hcm.log (text, UTC), 5 MB x 3 files, unless they
// go to the journal already (under systemd: one copy, read with `hcm logs` or journalctl).
void add_log_file(const std::string& state_dir) {
  if (util::stderr_is_journal()) return;
  try {
    util::ensure_private_dir(state_dir);
    auto sink =
        std::make_shared<spdlog::sinks::rotating_file_sink_mt>(log_path(state_dir), 5 * 1024 * 1024, 3);
    sink->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %l %v",
                                                                    spdlog::pattern_time_type::utc));
    spdlog::default_logger()->sinks().push_back(sink);
  } catch (const std::exception& e) {
    spdlog::warn("no log file: {}", e.what());
  }
}

// Completion handler for the supervisor's own coroutines.
std::function<void(std::exception_ptr)> log_end(std::string what) {
  return [what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("{} failed: {}", what, ex.what());
    }
  };
}

class service {
 public:
  service(const service_options& o, asio::io_context& io, net::task_group& tunnels, net::tls_context tls)
      : options_(o),
        io_(io),
        tunnels_(tunnels),
        strand_(asio::make_strand(io.get_executor())),
        tls_(std::move(tls)) {
    instance_ = instance_id(o.state_dir, o.config_dir);
    machine_ = machine_name();
    token_lifetime_ = env_seconds("HCM_TOKEN_LIFETIME_SECONDS", 3600s);
    keepalive_ =
        env_seconds("HCM_KEEPALIVE_SECONDS",
                    std::chrono::duration_cast<std::chrono::seconds>(net::limits::keepalive_interval));
    refresh_ = env_seconds("HCM_REFRESH_SECONDS", 180s);  // runtime info: a few minutes, not every minute
  }

  void start() {
    asio::co_spawn(strand_, watch_config(), log_end("config watcher"));
    asio::co_spawn(strand_, write_status_loop(), log_end("status writer"));
    if (options_.ui_port) {
      ui_backend b{
          [this] { return views(); }, [this] { return metrics_text(); },           options_.config_dir, tls_,
          options_.plaintext,         load_or_create_ui_token(options_.state_dir), options_.ui_port};
      ui_.emplace(io_.get_executor(),
                  net::tcp::endpoint(asio::ip::make_address("127.0.0.1"), options_.ui_port),
                  make_ui_handler(std::move(b)));
      spdlog::info("web UI on http://127.0.0.1:{}/ (open the URL `hcm ui-url` prints), /metrics open",
                   ui_->local_endpoint().port());
    }
  }

  void request_stop() { asio::co_spawn(strand_, shutdown(), log_end("shutdown")); }

 private:
  // Runners stop at once (no new tunnels); the io_context is stopped when the open tunnels are
  // done or after limits::agent_drain_timeout.
  net::task<void> shutdown() {
    spdlog::info("stopping: {} connection(s)", runner_count());
    stopping_ = true;
    if (ui_) ui_->stop();
    std::map<std::string, std::unique_ptr<runner_handle>> old;
    {
      std::lock_guard lock(mutex_);
      old.swap(runners_);
    }
    old.clear();  // each handle's destructor stops its runner
    tunnels_.end_all();
    auto deadline = std::chrono::steady_clock::now() + net::limits::agent_drain_timeout;
    co_await tunnels_.wait_empty(deadline);
    std::error_code ec;
    std::filesystem::remove(status_path(options_.state_dir), ec);  // CLI: "service not running"
    io_.stop();
  }

  std::size_t runner_count() {
    std::lock_guard lock(mutex_);
    return runners_.size();
  }

  std::vector<connection_view> views() {
    std::vector<connection_entry> entries;
    try {
      entries = load_connections(options_.config_dir);
    } catch (const std::exception& e) {
      spdlog::warn("{}", e.what());
    }
    std::vector<connection_status> live;
    {
      std::lock_guard lock(mutex_);
      for (auto& [key, r] : runners_) live.push_back(r->stats()->snapshot());
    }
    return merge_views(entries, live);
  }

  std::string metrics_text() {
    std::vector<connection_status> live;
    std::uint64_t to = 0, from = 0;
    {
      std::lock_guard lock(mutex_);
      for (auto& [key, r] : runners_) live.push_back(r->stats()->snapshot());
      to = retired_to_;
      from = retired_from_;
    }
    for (auto& s : live) {
      to += s.bytes_to_endpoint;
      from += s.bytes_from_endpoint;
    }
    return metrics_.serialize(live, to, from);
  }

  // Reconciles the runners with connections.json now and whenever the file changes (polled every
  // second).
  net::task<void> watch_config() {
    asio::steady_timer t(co_await asio::this_coro::executor);
    util::file_watch watch(connections_path(options_.config_dir));
    reconcile(true);
    for (;;) {
      t.expires_after(1s);
      co_await t.async_wait(net::use_tuple);
      if (stopping_) co_return;
      if (watch.changed()) reconcile(false);
    }
  }

  void reconcile(bool first) {
    std::vector<connection_entry> entries;
    try {
      entries = load_connections(options_.config_dir);
    } catch (const std::exception& e) {
      spdlog::error("keeping the current connections: {}", e.what());
      return;
    }
    if (first)
      spdlog::info("{} connection(s) configured in {}", entries.size(),
                   connections_path(options_.config_dir));
    std::map<std::string, connection_entry> wanted;
    for (auto& e : entries) wanted[e.key()] = e;
    std::lock_guard lock(mutex_);
    for (auto it = runners_.begin(); it != runners_.end();) {
      auto w = wanted.find(it->first);
      bool same = w != wanted.end() && w->second.connection_string == it->second->entry().connection_string &&
                  w->second.restart_generation == it->second->entry().restart_generation;
      if (same) {
        ++it;
        continue;
      }
      spdlog::info("connection {}: {}", it->first, w == wanted.end() ? "removed" : "changed or restarted");
      auto stats = it->second->stats();
      retired_to_ += stats->bytes.app_to_agent.load();
      retired_from_ += stats->bytes.agent_to_app.load();
      it = runners_.erase(it);  // the handle's destructor stops the runner
    }
    for (auto& [key, e] : wanted) {
      if (runners_.count(key)) continue;
      runner_settings s;
      s.entry = e;
      s.tls = tls_;
      s.plaintext = options_.plaintext;
      s.listener_id = listener_id(instance_, e);
      s.machine = machine_;
      s.token_lifetime = token_lifetime_;
      s.keepalive = keepalive_;
      s.tunnel_keepalive = options_.tunnel_keepalive;
      s.refresh = refresh_;
      s.http2_connections = options_.http2_connections;
      s.metrics = &metrics_;
      s.tunnels = &tunnels_;
      s.pin = [this, key, cs = e.connection_string](const proto::endpoint& ep) {
        asio::post(strand_, [this, key, cs, ep] { pin_endpoint(key, cs, ep); });
      };
      try {
        runners_.emplace(key, std::make_unique<runner_handle>(io_.get_executor(), std::move(s)));
        spdlog::info("connection {}: started (listener id {})", key, listener_id(instance_, e));
      } catch (const std::exception& ex) {
        spdlog::error("{}", ex.what());
      }
    }
  }

  // Stores the endpoint a runner pinned in the entry that had none (the same entry still: same key
  // and connection string). Happens once per entry without a pin.
  void pin_endpoint(const std::string& key, const std::string& connection_string, const proto::endpoint& ep) {
    try {
      bool pinned = update_connections(options_.config_dir, [&](auto& entries) {
        for (auto& e : entries) {
          if (e.key() != key || e.connection_string != connection_string || !e.endpoint_host.empty())
            continue;
          e.endpoint_host = ep.host;
          e.endpoint_port = ep.port;
          return true;
        }
        return false;
      });
      if (pinned)
        spdlog::info("connection {}: endpoint {} pinned in {}", key, ep.to_string(),
                     connections_path(options_.config_dir));
    } catch (const std::exception& ex) {
      spdlog::warn("connection {}: cannot pin endpoint {}: {}", key, ep.to_string(), ex.what());
    }
  }

  // status.json when something changed, and at least every 10 s (the CLI's liveness signal).
  net::task<void> write_status_loop() {
    asio::steady_timer t(co_await asio::this_coro::executor);
    std::string last;
    auto last_write = std::chrono::steady_clock::time_point{};
    while (!stopping_) {
      status_file f;
      f.pid = long(::getpid());
      f.ui_port = options_.ui_port;
      {
        std::lock_guard lock(mutex_);
        for (auto& [key, r] : runners_) f.connections.push_back(r->stats()->snapshot());
      }
      auto body = serialize_status(f);
      auto now = std::chrono::steady_clock::now();
      if (body != last || now - last_write > 10s) {
        f.written_unix = net::unix_now();
        try {
          util::write_private_file(status_path(options_.state_dir), serialize_status(f));
          last = body;
          last_write = now;
        } catch (const std::exception& e) {
          spdlog::warn("{}", e.what());
        }
      }
      t.expires_after(1s);
      co_await t.async_wait(net::use_tuple);
    }
  }

  service_options options_;
  asio::io_context& io_;
  net::task_group& tunnels_;  // every tunnel of every runner, for the drain on shutdown
  asio::strand<asio::io_context::executor_type> strand_;
  net::tls_context tls_;
  std::string instance_, machine_;
  std::chrono::seconds token_lifetime_{3600}, keepalive_{30}, refresh_{180};
  hcm_metrics metrics_;
  std::mutex mutex_;  // guards runners_ and retired_*
  std::map<std::string, std::unique_ptr<runner_handle>> runners_;
  std::uint64_t retired_to_ = 0, retired_from_ = 0;
  std::optional<net::http_server> ui_;
  bool stopping_ = false;  // touched on strand_ only
};

}  // namespace

int run_service(const service_options& options) {
  add_log_file(options.state_dir);
  net::tls_context tls;
  try {
    tls = net::make_client_tls(net::ca_file_from(options.ca_file));
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  int n = net::agent_io_threads(options.threads);
  net::task_group tunnels;  // outlives io: the tunnels' frames, cut by io.stop(), leave it in io's destructor
  asio::io_context io(n);
  std::optional<service> svc;
  try {
    svc.emplace(options, io, tunnels, tls);
    svc->start();
    net::keep_returning_free_memory(io.get_executor());
  } catch (const std::exception& e) {
    spdlog::error("cannot start: {}", e.what());
    return 1;
  }
  spdlog::info("{} running (pid {}, config {}, state {})", util::version_line("hcm"), ::getpid(),
               options.config_dir, options.state_dir);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](net::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: shutting down", sig);
    svc->request_stop();
  });
  std::vector<std::thread> threads;
  for (int i = 1; i < n; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  spdlog::info("stopped");
  return 0;
}

}  // namespace hc::manager
