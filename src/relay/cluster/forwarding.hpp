// relay/cluster/forwarding: this relay's part in cross-node accepts. join_cluster starts the
// cluster link with handlers bound to the relay: an accept another node forwards is written to
// our listener (or answered with a "lost" notice at once when that listener is not here or
// cannot take it); a "lost" notice for one of our offers passes the sender on to another
// listener; every heartbeat lists our listeners and their loads.
#pragma once

namespace hc::relay {

struct relay_context;

// ctx.cluster must be set. Call once, before the relay serves.
void join_cluster(relay_context& ctx);

}  // namespace hc::relay
