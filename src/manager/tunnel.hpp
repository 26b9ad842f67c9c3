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
};

// hcm dials only its own relay: an accept address must name the connection string's host and
// port (case-insensitive host). For an Azure namespace (*.servicebus.windows.net) Azure's gateway
// hosts on port 443 in the same domain are allowed too (protocol doc §1: accepts come from
// g{N}-prod-...-sb.servicebus.windows.net). Returns why the address is refused, or "" when
// allowed. Without this a forged accept would make hcm open connections to any host (SSRF).
std::string foreign_accept_address(const proto::connection_string& relay, std::string_view address);

// Starts the tunnel on a new strand of `io` and returns at once. An accept whose address fails
// foreign_accept_address is dropped with a warning: nothing is dialed, not even a reject.
void spawn_tunnel(net::asio::any_io_executor io, tunnel_context ctx, proto::accept_message accept);

}  // namespace hc::manager
