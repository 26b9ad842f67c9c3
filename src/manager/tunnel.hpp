// manager/tunnel: one accepted connection. Dials the hybrid connection's endpoint first, then the
// rendezvous address (accept) or, when the endpoint cannot be reached, the reject address with
// 502 and a reason naming the endpoint, this host and the error; then splices TCP <-> WebSocket
// until both directions end (half-close, net/pump.hpp). Each tunnel is its own coroutine on its
// own strand; its completion handler logs the outcome under the accept id. The tunnel owns its
// sockets; it shares only connection_stats (thread-safe), the service's metrics and its drain
// group (which outlive every tunnel: the service drains its io_context before destroying them).
#pragma once
#include "manager/metrics.hpp"
#include "manager/status.hpp"
#include "net/relay_client.hpp"
#include "net/task_group.hpp"
#include "proto/control_messages.hpp"
#include "proto/endpoint.hpp"

#include <memory>

namespace hc::manager {

struct tunnel_context {
  net::relay_client client;  // for dialing the accept / reject address
  proto::endpoint endpoint;  // the one host:port this hybrid connection names
  std::shared_ptr<connection_stats> stats;
  hcm_metrics* metrics;  // outlives the tunnel (see above)
  std::string machine;   // this host's name, for reject reasons
  // The service's drain group (outlives the tunnel, like metrics): a spliced tunnel is a member
  // until it ends, so shutdown waits for it. Null: the tunnel is not waited for.
  net::task_group* tunnels = nullptr;
  std::chrono::seconds keepalive{60};  // Ping interval on the tunnel leg (net::splice)
  bool allow_link_local = false;       // hcm add --allow-link-local: may dial 169.254/16, fe80::/10
};

// hcm dials only its own relay. An accept address must name the connection string's host on any
// port (a relay cluster's nodes behind one name, a port each), or a host under that host's
// parent domain on the connection string's port (Azure's gateways, g{N}-prod-....servicebus.
// windows.net:443 and their kin in other clouds; a cluster's nodes with names of their own).
// Host names compare case-insensitively; IP literals and two-label hosts have no siblings.
// Returns why the address is refused, or "" when allowed. Without this a forged accept would
// make hcm open connections to any host (SSRF).
std::string foreign_accept_address(const proto::connection_string& relay, std::string_view address);

// Starts the tunnel on a new strand of `io` and returns at once. An accept whose address fails
// foreign_accept_address is dropped with a warning: nothing is dialed, not even a reject.
void spawn_tunnel(net::asio::any_io_executor io, tunnel_context ctx, proto::accept_message accept);

}  // namespace hc::manager
