// relay/server: start-up, accept loop and shutdown (see server.hpp).
#include "relay/server.hpp"

#include "net/accept_backoff.hpp"
#include "net/io_threads.hpp"
#include "net/limits.hpp"
#include "net/memory_trim.hpp"
#include "net/proxy_protocol.hpp"
#include "net/spawn.hpp"
#include "proto/encoding.hpp"
#include "relay/cluster/cluster_options.hpp"
#include "relay/cluster/forwarding.hpp"
#include "relay/connection.hpp"
#include "relay/context.hpp"
#include "relay/gestures.hpp"
#include "relay/model/catalog_sync.hpp"
#include "relay/model/hc_operations.hpp"
#include "relay/model/store_location.hpp"
#include "relay/tls/server_certificate.hpp"
#include "relay/usage_writer.hpp"
#include "util/build_info.hpp"
#include "util/private_file.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <thread>

namespace hc::relay {
namespace fs = std::filesystem;

// True at most once a minute, from any thread: a flood must not flood the log too.
class once_a_minute {
 public:
  bool due() {
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    auto next = next_.load();
    auto minute =
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::minutes(1)).count();
    return now >= next && next_.compare_exchange_strong(next, now + minute);
  }

 private:
  std::atomic<std::chrono::steady_clock::rep> next_{0};
};

struct relay_server::impl {
  explicit impl(relay_options o) : options(std::move(o)), io(net::relay_io_threads(options.threads)) {}
  relay_options options;
  // Declared before io: io's destruction ends the coroutines still open, whose destructors give
  // their places back to ctx (source_limits, the session group), so ctx must outlive io.
  relay_context ctx;
  net::asio::io_context io;
  std::optional<net::tcp::acceptor> acceptor;
  std::optional<net::tcp::acceptor> admin_acceptor;  // --admin-listen: the relay's own pages
  server_certificate certificate;  // for new connections; null context with --insecure-plaintext
  once_a_minute cap_warning;       // a source or the relay at its connection limit
  once_a_minute proxy_warning;     // a trusted balancer's connection without a usable PROXY header
  usage_writer usage{ctx};         // after ctx: it writes ctx's usage
};

namespace {

// `flag` names the option in the error texts (--listen, --admin-listen).
net::tcp::endpoint parse_listen(const std::string& text, const std::string& flag) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error(flag + " must be ADDR:PORT, got '" + text + "'");
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto address = net::asio::ip::make_address(host, ec);
  if (ec)
    throw std::runtime_error(flag + " address '" + host +
                             "' is not an IP address (use 0.0.0.0, :: or 127.0.0.1)");
  int port = 0;
  try {
    port = std::stoi(text.substr(colon + 1));
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) throw std::runtime_error(flag + " port in '" + text + "' must be 0..65535");
  return {address, static_cast<std::uint16_t>(port)};
}

// A listening socket on `text` (ADDR:PORT of option `flag`).
net::tcp::acceptor open_acceptor(net::asio::io_context& io, const std::string& text,
                                 const std::string& flag) {
  auto endpoint = parse_listen(text, flag);
  net::tcp::acceptor acceptor(io);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(net::tcp::acceptor::reuse_address(true));
  if (endpoint.address().is_v6()) acceptor.set_option(net::asio::ip::v6_only(false));
  boost::system::error_code ec;
  acceptor.bind(endpoint, ec);
  if (ec) throw std::runtime_error("cannot listen on " + text + " (" + flag + "): " + ec.message());
  acceptor.listen(net::asio::socket_base::max_listen_connections);
  return acceptor;
}

// A place for a new connection from `source`, or none (and a warning, once a minute) when that
// source or the relay is at its cap.
source_limits::slot open_connection(relay_server::impl& s, const net::asio::ip::address& source) {
  auto connection = s.ctx.sources.open_connection(source);
  if (!connection && s.cap_warning.due())
    spdlog::warn(
        "closing new connections from {}: it has {} open or the relay has {} "
        "(--max-connections-per-source, --max-connections); said once a minute",
        source_limits::key(source), s.ctx.settings.max_connections_per_source,
        s.ctx.settings.max_connections);
  return connection;
}

// Counts the connection against `client`, its source, and serves it; or closes it when that
// source or the relay is at its limit.
void admit(relay_server::impl& s, net::tcp::socket socket, net::tcp::endpoint client, port_role role) {
  auto connection = open_connection(s, client.address());
  if (!connection) return;  // the socket closes here
  auto handshake = s.ctx.sources.begin_handshake(client.address());
  if (!handshake) {
    spdlog::debug("closing a connection from {}: it already has {} connections in their handshake",
                  source_limits::key(client.address()), net::limits::max_handshakes_per_source);
    return;
  }
  auto strand = socket.get_executor();
  net::asio::co_spawn(strand,
                      serve_connection(s.ctx, s.certificate.current(), std::move(socket), client,
                                       std::move(handshake), std::move(connection), role),
                      net::log_failure("connection"));
}

// A connection from a trusted load balancer: its PROXY v2 header names the client, which then
// stands for the connection everywhere (limits, logs, remoteEndpoint of accepts). LOCAL (the
// balancer's own health check) is the balancer itself. No usable header: closed. Until its header
// is read, the connection counts as the balancer's (per source and in total).
net::task<> admit_proxied(relay_server::impl& s, net::tcp::socket socket, net::tcp::endpoint balancer,
                          port_role role) {
  auto pending = open_connection(s, balancer.address());
  if (!pending) co_return;
  auto read = co_await net::read_proxy_v2(socket, net::limits::handshake_timeout);
  pending.release();
  if (!read.header) {
    if (s.proxy_warning.due())
      spdlog::warn("closing a connection from load balancer {} (--proxy-protocol): {}; said once a minute",
                   balancer.address().to_string(), read.error);
    co_return;
  }
  admit(s, std::move(socket), read.header->client.value_or(balancer), role);
}

// Accepts on `acceptor`, whose connections serve `role` (connection.hpp).
net::task<> accept_loop(relay_server::impl& s, net::tcp::acceptor& acceptor, port_role role) {
  for (;;) {
    auto strand = net::asio::make_strand(s.io);
    auto [ec, socket] = co_await acceptor.async_accept(strand, net::use_tuple);
    if (ec == net::asio::error::operation_aborted) co_return;
    if (ec) {
      co_await net::back_off_after_accept_error(
          ec, role == port_role::admin_only ? "the admin port" : "the relay port");
      continue;
    }
    boost::system::error_code peer_ec;
    auto peer = socket.remote_endpoint(peer_ec);
    if (peer_ec) continue;  // already gone
    if (s.options.proxy_protocol_from.contains(peer.address()))
      net::asio::co_spawn(strand, admit_proxied(s, std::move(socket), peer, role),
                          net::log_failure("connection"));
    else
      admit(s, std::move(socket), peer, role);
  }
}

// SIGHUP: read the certificate and key again into a fresh context for new connections. A file
// that does not load leaves the running context in place (and says why).
void watch_reload(relay_server::impl& s, net::asio::signal_set& hangup) {
  hangup.async_wait([&s, &hangup](boost::system::error_code ec, int) {
    if (ec) return;
    try {
      s.certificate.reload();
      spdlog::info("SIGHUP: reloaded TLS certificate {} and key {}; open connections keep the old one",
                   s.certificate.cert_path(), s.certificate.key_path());
    } catch (const std::exception& e) {
      spdlog::error("SIGHUP: TLS reload failed, still serving the previous certificate: {}", e.what());
    }
    watch_reload(s, hangup);
  });
}

// Every open connection is a descriptor: a cap above the open-file limit would let the relay run
// out of them (and fail its store and its accept loop) before the cap says no.
void fit_to_file_limit(relay_settings& settings) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
  auto room = limit.rlim_cur > net::limits::reserved_descriptors
                  ? limit.rlim_cur - net::limits::reserved_descriptors
                  : 1;
  if (settings.max_connections <= room) return;
  spdlog::warn("--max-connections {} is above what the open-file limit ({}) allows: using {}",
               settings.max_connections, limit.rlim_cur, room);
  settings.max_connections = room;
}

// SIGTERM/SIGINT: no new connections; Close 1001 on every control channel and tunnel leg, so
// agents reconnect at once; then exit once they are gone or settings.drain_timeout has passed.
net::task<> drain_and_stop(relay_server::impl& s, int sig) {
  boost::system::error_code ignored;  // the acceptors may already be closed
  s.acceptor->close(ignored);
  if (s.admin_acceptor) s.admin_acceptor->close(ignored);
  auto open = s.ctx.sessions.size();
  spdlog::info("signal {}: stopping: Close 1001 to {} control channels and tunnels, waiting up to {} ms", sig,
               open, s.ctx.settings.drain_timeout.count());
  s.ctx.sessions.end_all();
  bool drained =
      co_await s.ctx.sessions.wait_empty(std::chrono::steady_clock::now() + s.ctx.settings.drain_timeout);
  if (!drained)
    spdlog::warn("drain timeout: {} control channels and tunnels still open are cut", s.ctx.sessions.size());
  if (s.ctx.cluster) co_await s.ctx.cluster->close();
  s.io.stop();
}

}  // namespace

relay_server::relay_server(relay_options options) : impl_(std::make_unique<impl>(std::move(options))) {}
relay_server::~relay_server() = default;

void relay_server::run() {
  auto& s = *impl_;
  auto& o = s.options;
  if (o.data_dir.empty()) throw std::runtime_error("--data-dir is required");
  fs::create_directories(o.data_dir);
  fs::permissions(o.data_dir, fs::perms::owner_all);
  if (int(!o.tls_cert.empty()) + int(o.dev_tls) + int(o.insecure_plaintext) != 1 ||
      o.tls_cert.empty() != o.tls_key.empty())
    throw std::runtime_error(
        "choose exactly one of --tls-cert PEM --tls-key PEM, --dev-tls or --insecure-plaintext");

  s.ctx.settings = o.settings;
  fit_to_file_limit(s.ctx.settings);
  s.ctx.sources.set_caps(s.ctx.settings.max_connections_per_source, s.ctx.settings.max_connections,
                         s.ctx.settings.auth_failure_refill);
  s.ctx.entities.on_change(
      [grace = s.ctx.settings.token_grace](const namespace_entry* before, const namespace_entry& after) {
        recheck_listeners(before, after, grace);
      });
  if (!o.cluster.empty() && o.store.empty())
    throw std::runtime_error(
        "--cluster needs --store postgres://...: the nodes of a cluster share one catalog");
  auto opened = open_catalog_store(o.store, o.store_password_file, o.data_dir);
  s.ctx.db = std::move(opened.db);
  s.ctx.shared_store = opened.shared;
  s.ctx.applied_revision = bootstrap(s.ctx, o.public_host);
  spdlog::info("catalog store: {} (revision {})", opened.description, s.ctx.applied_revision);

  std::string ca_path;
  s.certificate.offer_http2(o.settings.http2);
  if (o.dev_tls) {
    std::vector<std::string> names{o.public_host, "localhost", "127.0.0.1", "::1"};
    for (const auto& ns : s.ctx.entities.namespaces())
      if (std::find(names.begin(), names.end(), ns->host()) == names.end()) names.push_back(ns->host());
    if (!o.advertise.empty()) {  // the host in this node's accept addresses (a gateway's name)
      auto own = parse_advertise(o.advertise).host;
      if (!own.empty() && std::find(names.begin(), names.end(), own) == names.end()) names.push_back(own);
    }
    ca_path = s.certificate.load_dev((fs::path(o.data_dir) / "tls").string(), std::move(names));
  } else if (!o.tls_cert.empty()) {
    s.certificate.load(o.tls_cert, o.tls_key);
    for (const auto& ns : s.ctx.entities.namespaces()) s.certificate.serve_host(ns->host());  // warns
  } else {
    spdlog::warn(
        "--insecure-plaintext: relay legs are NOT encrypted; use only on a trusted network or for tests");
  }
  s.ctx.tls = s.certificate.current() != nullptr;
  s.ctx.serve_host = [&s](const std::string& host) { return s.certificate.serve_host(host); };
  s.ctx.certificate_not_after = [&s] { return net::certificate_not_after(s.certificate.current()); };
  using per_hc = relay_settings::per_hc;
  bool per_hc_metrics = o.settings.hc_metrics == per_hc::on ||
                        (o.settings.hc_metrics == per_hc::by_admin_address && !o.admin_listen.empty());
  s.ctx.metrics.configure_per_hc(per_hc_metrics, o.settings.hc_metrics_limit);
  if (per_hc_metrics && o.admin_listen.empty())
    spdlog::warn(
        "--hc-metrics without --admin-listen: /metrics on the public address names every tenant's hybrid "
        "connections and their traffic to anyone who asks; serve it on an internal address with "
        "--admin-listen");
  else if (!per_hc_metrics && o.settings.hc_metrics == per_hc::by_admin_address)
    spdlog::info(
        "per-hybrid-connection metrics are off: /metrics is on the public address (--admin-listen turns them "
        "on, --hc-metrics regardless)");

  s.acceptor.emplace(open_acceptor(s.io, o.listen, "--listen"));
  if (!o.admin_listen.empty())
    s.admin_acceptor.emplace(open_acceptor(s.io, o.admin_listen, "--admin-listen"));
  auto bound = s.acceptor->local_endpoint();
  s.ctx.public_host = o.public_host;
  s.ctx.public_port = o.public_port ? std::uint16_t(o.public_port) : bound.port();
  s.ctx.advertise_port = s.ctx.public_port;
  if (!o.advertise.empty()) {
    auto own = parse_advertise(o.advertise);
    s.ctx.advertise_host = own.host;
    s.ctx.advertise_port = own.port;
  }
  if (!o.cluster.empty()) {
    auto node = proto::random_hex(6);
    auto authority = (s.ctx.advertise_host.empty() ? o.public_host : s.ctx.advertise_host) + ":" +
                     std::to_string(s.ctx.advertise_port);
    auto endpoint = cluster_endpoint(o.cluster, o.cluster_password_file);
    spdlog::info("cluster: node {} ({}) joins through Redis at {}", node, authority, endpoint.address());
    s.ctx.cluster = std::make_unique<cluster_link>(s.io.get_executor(), std::move(endpoint), node, authority);
    s.ctx.metrics.cluster_link_up(false);
    join_cluster(s.ctx);
  }

  auto ns = s.ctx.entities.by_host(o.public_host);
  if (ns) {
    for (const auto& r : ns->rules) {
      if (r.record.name != "RootManageSharedAccessKey") continue;
      auto path = fs::path(o.data_dir) / "root.connection-string";
      util::write_private_file(path.string(), connection_string_for(s.ctx, *ns, r.record, false) + "\n");
      spdlog::info("root connection string (Manage, Listen, Send) written to {}", path.string());
    }
  }
  if (!ca_path.empty())
    spdlog::info("development CA for clients: {} (use --ca-file or HCRELAY_CA_FILE)", ca_path);
  spdlog::info("{} listening on {}:{} ({}), public address {}://{}:{}", util::version_line("hcrelay"),
               bound.address().to_string(), bound.port(), s.ctx.tls ? "TLS" : "plaintext",
               s.ctx.tls ? "wss" : "ws", s.ctx.public_host, s.ctx.public_port);
  if (!o.proxy_protocol_from.empty()) {
    std::string from;
    for (const auto& entry : o.proxy_protocol_from.entries()) from += (from.empty() ? "" : ", ") + entry;
    spdlog::info(
        "connections from {} must start with a PROXY protocol v2 header naming the client "
        "(--proxy-protocol)",
        from);
  }
  if (s.admin_acceptor) {
    auto admin = s.admin_acceptor->local_endpoint();
    spdlog::info("admin address (management API, portal, /metrics; not on the public port): {}://{}:{}",
                 s.ctx.tls ? "https" : "http", admin.address().to_string(), admin.port());
  }

  net::asio::signal_set signals(s.io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (!ec) net::asio::co_spawn(s.io, drain_and_stop(s, sig), net::log_failure("shutdown"));
  });
  net::asio::signal_set hangup(s.io, SIGHUP);
  if (s.ctx.tls) watch_reload(s, hangup);
  net::keep_returning_free_memory(s.io.get_executor());
  if (opened.shared) net::asio::co_spawn(s.io, follow_store(s.ctx), net::log_failure("catalog sync"));
  net::asio::co_spawn(s.io, s.usage.run(), net::log_failure("usage"));
  auto rethrow = [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  };
  net::asio::co_spawn(
      s.io, accept_loop(s, *s.acceptor, s.admin_acceptor ? port_role::public_only : port_role::everything),
      rethrow);
  if (s.admin_acceptor)
    net::asio::co_spawn(s.io, accept_loop(s, *s.admin_acceptor, port_role::admin_only), rethrow);
  int n = net::relay_io_threads(o.threads);
  std::vector<std::thread> pool;
  for (int i = 1; i < n; ++i) pool.emplace_back([&] { s.io.run(); });
  s.io.run();
  for (auto& t : pool) t.join();
  // A store call still queued (the catalog sync's poll at SIGTERM) runs out now: its coroutine
  // holds an executor of io, so it must not be left for ctx's destructor, which runs after io's.
  s.ctx.store_worker.join();
  s.usage.write_last();
  // The cluster link was closed by the drain; it goes now, before the io_context it ran on, and
  // so do the accepts still pending (a forwarded sender's entry has a timer of io).
  s.ctx.cluster.reset();
  s.ctx.rendezvous.clear();
}

}  // namespace hc::relay
