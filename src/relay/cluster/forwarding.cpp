// relay/cluster/forwarding: accepts (and HTTP-mode requests, as address and id) from other nodes to
// our listeners, notices back (see forwarding.hpp).
#include "relay/cluster/forwarding.hpp"

#include "net/limits.hpp"
#include "net/spawn.hpp"
#include "proto/ws_frame.hpp"
#include "relay/context.hpp"
#include "relay/listener_set.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

namespace hc::relay {
namespace {

std::shared_ptr<listener> find_listener(relay_context& ctx, const forwarded_accept& a) {
  auto ns = ctx.entities.by_name(a.ns);
  auto resolved = ns ? catalog::resolve(*ns, a.hc) : std::nullopt;
  if (!resolved || !resolved->suffix.empty()) return nullptr;
  for (auto& l : resolved->entity->live->snapshot())
    if (l->id() == a.listener && !l->close_begun()) return l;
  return nullptr;
}

// Runs on the listener's strand: writes the accept to it. Until limits::listener_answer_grace has
// passed, a listener that goes away unanswered makes the sender's node hear it at once
// (relay/listen passes the stand-in on); later the sender's node moves on after
// limits::listener_answer_timeout, as with a listener that does not answer.
net::task<> deliver(relay_context& ctx, std::shared_ptr<listener> target, forwarded_accept a) {
  auto& link = *ctx.cluster;
  auto stand_in = std::make_shared<pending_rendezvous>(target->executor(), a.ns, a.hc, a.from);
  if (!target->expect_answer(a.key, stand_in)) {
    link.report_lost(a.from, a.key, "listener " + a.listener + " went away");
    co_return;
  }
  ctx.metrics.cluster_accept("received");
  bool sent = co_await target->send(proto::opcode::text, std::move(a.message));
  if (!sent) {
    link.report_lost(a.from, a.key, "listener " + a.listener + " could not take the accept message");
    co_return;
  }
  // The stand-in lives for the grace in a timer's handler, not in a pending coroutine (none of
  // those may outlive the relay's io_context).
  auto hold =
      std::make_shared<net::asio::steady_timer>(target->executor(), net::limits::listener_answer_grace);
  hold->async_wait([hold, stand_in](const net::error_code&) {});
}

std::vector<local_presence> our_listeners(relay_context& ctx) {
  std::vector<local_presence> out;
  for (const auto& ns : ctx.entities.namespaces())
    for (const auto& [key, entity] : ns->hybrid_connections)
      for (const auto& l : entity->live->snapshot())
        out.push_back({cluster_entity(ns->record.name, entity->name()), l->id(), l->active_tunnels.load()});
  return out;
}

}  // namespace

void join_cluster(relay_context& ctx) {
  cluster_link::handlers h;
  h.accept = [&ctx](forwarded_accept a) {
    auto target = find_listener(ctx, a);
    if (!target) {
      auto& link = *ctx.cluster;
      link.report_lost(a.from, a.key,
                       "listener " + a.listener + " is no longer connected to node " + link.node_id());
      link.leave(cluster_entity(a.ns, a.hc), a.listener);  // a stale entry: nobody picks it again
      return;
    }
    auto ex = target->executor();
    net::asio::co_spawn(ex, deliver(ctx, std::move(target), std::move(a)),
                        net::log_failure("forwarded accept"));
  };
  h.lost = [&ctx](std::string key, std::string why) {
    if (auto request = ctx.requests.take(key)) {  // an HTTP-mode request's listener is gone
      exchange_event lost;
      lost.text = "The listener on another node could not take the request: " + why;
      request->deliver(std::move(lost));
      return;
    }
    auto pending = ctx.rendezvous.withdraw(key);
    if (!pending) return;  // answered, or the sender stopped waiting
    spdlog::info("cluster: offer {}... found no listener: {}", key.substr(0, 8), why);
    rendezvous_outcome gone;
    gone.listener_lost = true;
    pending->deliver(std::move(gone));
  };
  h.local_listeners = [&ctx] { return our_listeners(ctx); };
  h.changed = [&ctx](bool up, const std::string&) { ctx.metrics.cluster_link_up(up); };
  ctx.cluster->start(std::move(h));
}

}  // namespace hc::relay
