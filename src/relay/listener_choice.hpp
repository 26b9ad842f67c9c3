// relay/listener_choice: which listener a sender (relay/connect) or a relayed HTTP request
// (relay/http_mode) goes to next: ours or one on another node (--cluster), the less loaded of
// two random eligible ones, never one already tried; where the other nodes' listeners are. Stateless.
#pragma once
#include "relay/cluster/cluster_link.hpp"
#include "relay/listener_set.hpp"
#include "relay/model/catalog.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hc::relay {

struct relay_context;

// Listeners tried already: ours (held, so a new listener cannot reuse a tried one's address) and
// those of other nodes ("{node}|{id}").
struct tried_listeners {
  std::vector<std::shared_ptr<listener>> local;
  std::vector<std::string> remote;
  std::size_t size() const { return local.size() + remote.size(); }
  void add(const struct offer_target& t);
};

// The listener chosen: ours, or one on another node.
struct offer_target {
  std::shared_ptr<listener> local;
  cluster_listener remote;
  const std::string& id() const { return local ? local->id() : remote.id; }
};

// The hybrid connection's listeners on other nodes, from Redis (none without --cluster or while
// Redis is away: then the node pairs with its own listeners only).
net::task<std::vector<cluster_listener>> listeners_elsewhere(relay_context& ctx, const namespace_entry& ns,
                                                             const hybrid_connection& entity);

// Power of two choices over our eligible listeners and those of other nodes (`elsewhere`, loads
// from their last heartbeat); backed-up listeners of ours only when nothing else is left.
// `allowed` / `disallowed`: listener ids (Microsoft-Relay-AllowedListeners / DisallowedListeners).
std::optional<offer_target> choose_listener(const hybrid_connection& entity,
                                            const std::vector<cluster_listener>& elsewhere,
                                            const std::vector<std::string>& allowed,
                                            const std::vector<std::string>& disallowed,
                                            const tried_listeners& tried);

}  // namespace hc::relay
