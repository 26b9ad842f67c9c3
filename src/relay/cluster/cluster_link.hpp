// relay/cluster/cluster_link: this node's part in a relay cluster, on Redis (docs/scale-out.md).
// Presence: the node's key hc:node:{id} (its accept address, PX limits::node_ttl) refreshed every
// limits::node_heartbeat_interval, and one hash per hybrid connection, hc:listeners:{ns}/{hc},
// field "{node}|{listener id}", value the listener's load (its tunnels), refreshed on the same
// beat when it changed. Signals: a pub/sub channel per node, hc:node:{id}, carrying accepts for
// the node's listeners and notices that a forwarded accept found no listener.
// While Redis is away the node pairs senders with its own listeners only; when Redis answers
// again the node writes its whole presence anew. Thread-safe; handlers run on the Redis client's
// strand and must hand work on (relay/cluster/forwarding does).
#pragma once
#include "cluster/redis_url.hpp"
#include "net/types.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hc::cluster {
class redis_client;
}

namespace hc::relay {

// A listener somewhere in the cluster as Redis lists it (only nodes that are alive).
struct cluster_listener {
  std::string node;
  std::string id;
  int load = 0;
};

// One of this node's listeners, for the heartbeat: where it listens, its id and its load.
struct local_presence {
  std::string entity;  // "{namespace}/{lower-case hybrid connection name}"
  std::string id;
  int load = 0;
};

// An accept that node `from` sends to the listener `listener` of ns/hc on this node.
struct forwarded_accept {
  std::string from;
  std::string ns;
  std::string hc;
  std::string listener;
  std::string key;      // the rendezvous key on node `from`
  std::string message;  // the accept message as the listener gets it
};

class cluster_link {
 public:
  struct handlers {
    std::function<void(forwarded_accept)> accept;                      // for one of our listeners
    std::function<void(std::string key, std::string why)> lost;        // one of our offers failed
    std::function<std::vector<local_presence>()> local_listeners;      // for every beat
    std::function<void(bool up, const std::string& problem)> changed;  // link up or down
  };
  cluster_link(net::asio::any_io_executor ex, cluster::redis_endpoint endpoint, std::string node_id,
               std::string accept_authority);
  ~cluster_link();
  cluster_link(const cluster_link&) = delete;
  cluster_link& operator=(const cluster_link&) = delete;

  // Subscribes to this node's channel and starts the heartbeat (until close()).
  void start(handlers h);
  const std::string& node_id() const { return node_id_; }
  // Up: Redis answers and this node's presence is written. Otherwise a sentence says why not.
  bool up() const;
  std::optional<std::string> problem() const;

  // Enters a listener in its hybrid connection's hash unless `max` listeners of live nodes are
  // there already (one script: the limit holds across nodes).
  enum class join_result { joined, full, unavailable };
  net::task<join_result> join(const std::string& entity, const std::string& listener, std::size_t max);
  void leave(const std::string& entity, const std::string& listener);  // does not wait
  // The listeners of live nodes other than this one; nullopt when Redis does not answer.
  net::task<std::optional<std::vector<cluster_listener>>> listeners(const std::string& entity);
  // Publishes the accept on `node`'s channel: false when no node took it (that node is gone). One
  // taken by a node whose presence then expires before the sender's wait is over is reported to
  // handlers::lost (within node_ttl and a beat).
  net::task<bool> forward(const std::string& node, const forwarded_accept& accept);
  // Tells node `node` that its offer `key` found no listener here (does not wait).
  void report_lost(const std::string& node, const std::string& key, const std::string& why);
  // Takes this node out (its key, its listeners) and closes the link. The one shutdown path.
  net::task<> close();

 private:
  class core;
  std::unique_ptr<core> core_;
  std::string node_id_;
};

// "{namespace}/{lower-case hybrid connection name}": how the cluster names a hybrid connection.
std::string cluster_entity(std::string_view ns, std::string_view hc_name);

}  // namespace hc::relay
