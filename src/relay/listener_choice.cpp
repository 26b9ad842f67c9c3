// relay/listener_choice: the choice of a listener (see listener_choice.hpp).
#include "relay/listener_choice.hpp"

#include "relay/context.hpp"

#include <algorithm>

namespace hc::relay {
namespace {

bool listed(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

void tried_listeners::add(const offer_target& t) {
  if (t.local)
    local.push_back(t.local);
  else
    remote.push_back(t.remote.node + "|" + t.remote.id);
}

net::task<std::vector<cluster_listener>> listeners_elsewhere(relay_context& ctx, const namespace_entry& ns,
                                                             const hybrid_connection& entity) {
  if (!ctx.cluster) co_return std::vector<cluster_listener>{};
  auto others = co_await ctx.cluster->listeners(cluster_entity(ns.record.name, entity.name()));
  co_return others ? std::move(*others) : std::vector<cluster_listener>{};
}

std::optional<offer_target> choose_listener(const hybrid_connection& entity,
                                            const std::vector<cluster_listener>& elsewhere,
                                            const std::vector<std::string>& allowed,
                                            const std::vector<std::string>& disallowed,
                                            const tried_listeners& tried) {
  auto mine = entity.live->eligible(allowed, disallowed, tried.local);
  std::vector<offer_target> pool;
  std::vector<int> loads;
  for (auto& l : mine.ready) {
    loads.push_back(l->active_tunnels.load());
    pool.push_back({std::move(l), {}});
  }
  for (const auto& r : elsewhere) {
    if (!allowed.empty() && !listed(allowed, r.id)) continue;
    if (listed(disallowed, r.id) || listed(tried.remote, r.node + "|" + r.id)) continue;
    loads.push_back(r.load);
    pool.push_back({nullptr, r});
  }
  if (pool.empty())
    for (auto& l : mine.busy) {
      loads.push_back(l->active_tunnels.load());
      pool.push_back({std::move(l), {}});
    }
  auto at = pick_less_loaded(loads);
  if (!at) return std::nullopt;
  return std::move(pool[*at]);
}

}  // namespace hc::relay
