// relay/context: what every relay session shares and what outlives them all: the catalog,
// the rendezvous table, the store and its worker thread, metrics and the public address used
// in accept addresses. Owned by relay_server; sessions hold a reference (it outlives them).
#pragma once
#include "net/task_group.hpp"
#include "net/tls.hpp"
#include "relay/cluster/cluster_link.hpp"
#include "relay/http_mode/request_exchange.hpp"
#include "relay/metrics.hpp"
#include "relay/model/app_directory.hpp"
#include "relay/model/catalog.hpp"
#include "relay/model/catalog_sync.hpp"
#include "relay/rendezvous.hpp"
#include "relay/settings.hpp"
#include "relay/source_limits.hpp"
#include "relay/usage_recorder.hpp"
#include "store/store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace hc::relay {

struct relay_context {
  relay_settings settings;
  catalog entities;
  app_directory apps;  // App Service plans, apps and their hybrid connections
  rendezvous_table rendezvous;
  request_table requests;  // HTTP-mode requests waiting for their listener's rendezvous
  relay_metrics metrics;
  source_limits sources;  // per remote address: failed-auth allowance, handshakes in flight
  // Hourly usage per hybrid connection, added to the store by relay/usage_writer.
  usage_recorder usage{[] {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }};
  // Listener control channels and open tunnels: on SIGTERM each gets Close 1001 and the relay
  // waits for them up to settings.drain_timeout.
  net::task_group sessions;
  std::unique_ptr<store::store> db;
  net::asio::thread_pool store_worker{1};  // store calls never run on an I/O thread
  store_health store_state;                // for /healthz (a shared store can be down)
  bool shared_store = false;               // other relays write the store too (PostgreSQL)
  std::int64_t applied_revision = 0;       // store worker only: the revision the catalog reflects
  std::unique_ptr<cluster_link> cluster;   // --cluster: presence and cross-node accepts
  std::string public_host;                 // host name of the root namespace
  std::uint16_t public_port = 443;         // port put in connection strings
  // This node's own address in accept addresses (--advertise): the host ("" = the namespace's
  // host, a port per node behind one name) and port (public_port without --advertise).
  std::string advertise_host;
  std::uint16_t advertise_port = 443;
  bool tls = true;  // wss:// (false only with --insecure-plaintext)
  // Makes the server certificate cover a new namespace host, or returns a warning that says why
  // it cannot (relay_server). Blocking (--dev-tls issues a certificate): call on the store worker.
  std::function<std::optional<std::string>(const std::string& host)> serve_host;
  // The serving certificate's notAfter (Unix seconds; none without TLS): /metrics and /readyz.
  std::function<std::optional<std::int64_t>()> certificate_not_after;

  // Runs `fn` (a store call) on the store worker and resumes the caller on its own executor.
  template <class F>
  net::task<std::invoke_result_t<F>> on_store(F fn) {
    co_return co_await net::asio::co_spawn(
        store_worker, [fn = std::move(fn)]() -> net::task<std::invoke_result_t<F>> { co_return fn(); },
        net::asio::use_awaitable);
  }
};

}  // namespace hc::relay
