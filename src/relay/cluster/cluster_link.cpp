// relay/cluster/cluster_link: presence and signals on Redis (see cluster_link.hpp).
#include "relay/cluster/cluster_link.hpp"

#include "cluster/redis_client.hpp"
#include "net/limits.hpp"
#include "net/spawn.hpp"
#include "proto/encoding.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json.hpp>
#include <map>
#include <mutex>

namespace hc::relay {
namespace {

using cluster::redis_reply;

std::string node_key(std::string_view node) {
  return "hc:node:" + std::string(node);
}
std::string listeners_key(std::string_view entity) {
  return "hc:listeners:" + std::string(entity);
}
std::string field(std::string_view node, std::string_view listener) {
  return std::string(node) + "|" + std::string(listener);
}
// Counts the listeners of live nodes in the hash (dropping those of nodes whose key expired)
// and adds ARGV[1] with load ARGV[3] unless ARGV[2] are there already. 1 joined, 0 full.
constexpr const char* join_script = R"lua(
local n = 0
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  local node = string.match(f, '^([^|]*)|')
  if f == ARGV[1] then
  elseif node and redis.call('EXISTS', 'hc:node:' .. node) == 1 then n = n + 1
  else redis.call('HDEL', KEYS[1], f) end
end
if n >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1)lua";

// The listeners of live nodes in the hash, as a flat field, load, field, load ... list; the
// fields of nodes whose key expired are dropped on the way.
constexpr const char* listeners_script = R"lua(
local out, alive = {}, {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local node = string.match(all[i], '^([^|]*)|')
  if node and alive[node] == nil then alive[node] = redis.call('EXISTS', 'hc:node:' .. node) == 1 end
  if node and alive[node] then
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
return out)lua";

// The loads of a beat in one round trip: HSET KEYS[i] ARGV[2i] ARGV[2i+1] for every i, where the
// field still exists unless ARGV[1] is "all" (a full rewrite after Redis was away). Only existing
// fields: a listener that left (HDEL) while the beat was on its way is not written back.
constexpr const char* refresh_script = R"lua(
local all = ARGV[1] == 'all'
for i = 1, #KEYS do
  if all or redis.call('HEXISTS', KEYS[i], ARGV[2 * i]) == 1 then
    redis.call('HSET', KEYS[i], ARGV[2 * i], ARGV[2 * i + 1])
  end
end
return #KEYS)lua";

std::string encode(const forwarded_accept& a) {
  boost::json::object o{{"type", "accept"},       {"from", a.from}, {"ns", a.ns},          {"hc", a.hc},
                        {"listener", a.listener}, {"key", a.key},   {"message", a.message}};
  return boost::json::serialize(o);
}

std::string text_of(const boost::json::object& o, std::string_view name) {
  auto* v = o.if_contains(name);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

// Owned by cluster_link alone: the relay closes the link (close() waits for every coroutine of it
// to end) before the io_context stops and destroys it after, so its coroutines and handlers use
// `this` and hold no reference counts.
class cluster_link::core {
 public:
  core(net::asio::any_io_executor ex, cluster::redis_endpoint endpoint, std::string node_id,
       std::string authority)
      : strand_(net::asio::make_strand(ex)),
        beat_timer_(strand_),
        node_id_(std::move(node_id)),
        authority_(std::move(authority)),
        endpoint_(std::move(endpoint)) {}

  void start(handlers h) {
    handlers_ = std::move(h);
    client_ =
        std::make_unique<cluster::redis_client>(strand_, endpoint_, [this](const cluster::redis_state& s) {
          if (!s.up) went_down("Redis at " + endpoint_.address() + " does not answer: " + s.last_error);
        });
    net::asio::co_spawn(strand_, beat_loop(), net::log_failure("cluster heartbeat"));
  }

  net::task<redis_reply> call(std::vector<std::string> args) {
    auto reply = co_await client_->command(std::move(args));
    co_return reply;
  }

  // strand: a command nobody waits for. close() waits for those in flight: no coroutine of the
  // link may be left pending on its strand when the io_context goes.
  void spawn_call(std::vector<std::string> args) {
    if (closed_) return;
    ++in_flight_;
    net::asio::co_spawn(strand_, fire(std::move(args)), net::asio::detached);
  }

  net::task<> fire(std::vector<std::string> args) {
    auto* self = this;
    auto name = args.empty() ? std::string() : args[0];
    auto reply = co_await self->call(std::move(args));
    if (reply.failed()) spdlog::debug("cluster: {} failed: {}", name, reply.text);
    --self->in_flight_;
  }

  // strand: takes this node out of Redis, closes the client and waits (bounded) for the heartbeat
  // loop and the commands in flight to end.
  net::task<> shut_down() {
    auto* c = this;
    if (!c->client_) co_return;
    std::vector<std::string> del{"DEL", node_key(c->node_id_)};
    co_await c->call(std::move(del));
    for (const auto& [at, load] : c->published_) {
      auto cut = at.find('\n');
      std::vector<std::string> hdel{"HDEL", listeners_key(at.substr(0, cut)), at.substr(cut + 1)};
      co_await c->call(std::move(hdel));
    }
    c->beat_timer_.cancel();
    co_await c->client_->close();
    net::asio::steady_timer settle(c->strand_);
    for (int i = 0; i < 200 && (!c->beat_done_ || c->in_flight_ > 0); ++i) {
      settle.expires_after(std::chrono::milliseconds(5));
      co_await settle.async_wait(net::use_tuple);
    }
  }

  // The node's key, its channel (once: the client subscribes again after every reconnect), the
  // loads that changed (all of them after a gap: a restarted Redis is empty).
  net::task<bool> beat() {
    std::vector<std::string> set{"SET", node_key(node_id_), authority_, "PX",
                                 std::to_string(std::chrono::milliseconds(net::limits::node_ttl).count())};
    auto r = co_await call(std::move(set));
    if (r.failed()) co_return fail(r.text);
    if (!subscribed_) {
      auto sub = co_await client_->subscribe(node_key(node_id_),
                                             [this](std::string payload) { on_message(payload); });
      if (sub.failed()) co_return fail(sub.text);
      subscribed_ = true;
    }
    auto present = handlers_.local_listeners ? handlers_.local_listeners() : std::vector<local_presence>{};
    std::map<std::string, int> now;
    std::vector<std::string> keys, values;
    for (const auto& l : present) {
      auto f = field(node_id_, l.id);
      auto at = l.entity + "\n" + f;
      now[at] = l.load;
      auto before = published_.find(at);
      if (!full_refresh_ && before != published_.end() && before->second == l.load) continue;
      keys.push_back(listeners_key(l.entity));
      values.push_back(f);
      values.push_back(std::to_string(l.load));
    }
    if (!keys.empty()) {
      std::vector<std::string> eval{"EVAL", refresh_script, std::to_string(keys.size())};
      eval.insert(eval.end(), keys.begin(), keys.end());
      eval.push_back(full_refresh_ ? "all" : "existing");
      eval.insert(eval.end(), values.begin(), values.end());
      r = co_await call(std::move(eval));
      if (r.failed()) co_return fail(r.text);
    }
    published_ = std::move(now);
    co_await expire_forwarded();

    if (full_refresh_)
      spdlog::info("cluster: node {} is present in Redis at {} ({} listeners written)", node_id_,
                   endpoint_.address(), present.size());
    full_refresh_ = false;
    set_up();
    co_return true;
  }

  // strand: publishes the accept on `node`'s channel; when a node took it, keeps it until its
  // sender's wait is over (expire_forwarded).
  net::task<bool> forward(std::string node, std::string key, std::string payload) {
    auto* self = this;
    std::vector<std::string> publish{"PUBLISH", node_key(node), std::move(payload)};
    auto r = co_await self->call(std::move(publish));
    bool taken = !r.failed() && r.type == redis_reply::kind::integer && r.integer > 0;
    if (taken)
      self->forwarded_[key] = {node, std::chrono::steady_clock::now() + net::limits::rendezvous_timeout};
    co_return taken;
  }

  // strand, on every beat: an accept taken by a node whose presence has since expired (killed or
  // frozen before its listener got it; PUBLISH counts a dying node's subscription too) is reported
  // lost, so its sender moves on within node_ttl and a beat instead of waiting out its whole window.
  net::task<> expire_forwarded() {
    auto* self = this;
    auto now = std::chrono::steady_clock::now();
    std::erase_if(self->forwarded_, [now](const auto& entry) { return entry.second.until <= now; });
    if (self->forwarded_.empty()) co_return;
    std::vector<std::string> nodes;
    for (const auto& [key, offer] : self->forwarded_)
      if (std::find(nodes.begin(), nodes.end(), offer.node) == nodes.end()) nodes.push_back(offer.node);
    std::vector<std::string> mget{"MGET"};
    for (const auto& node : nodes) mget.push_back(node_key(node));
    auto r = co_await self->call(std::move(mget));
    if (r.type != redis_reply::kind::array || r.elements.size() != nodes.size()) co_return;
    std::vector<std::pair<std::string, std::string>> lost;  // key, node
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (r.elements[i].type != redis_reply::kind::nil) continue;
      for (const auto& [key, offer] : self->forwarded_)
        if (offer.node == nodes[i]) lost.emplace_back(key, offer.node);
    }
    for (const auto& [key, node] : lost) {
      self->forwarded_.erase(key);
      if (self->handlers_.lost)
        self->handlers_.lost(key,
                             "node " + node + " stopped (its presence in Redis expired) before answering");
    }
  }

  // A failed beat is tried again soon (while Redis is down the client answers at once).
  net::task<> beat_loop() {
    auto* self = this;
    while (!self->closed_) {
      bool present = co_await self->beat();
      if (self->closed_) break;
      self->beat_timer_.expires_after(present ? net::limits::node_heartbeat_interval
                                              : net::limits::node_heartbeat_interval / 5);
      co_await self->beat_timer_.async_wait(net::use_tuple);
    }
    self->beat_done_ = true;
  }

  bool fail(const std::string& why) {
    went_down("Redis at " + endpoint_.address() + " does not answer: " + why);
    return false;
  }

  void went_down(const std::string& why) {
    full_refresh_ = true;
    bool was_up = false;
    {
      std::lock_guard lock(mutex_);
      was_up = !problem_;
      problem_ = why;
    }
    if (was_up) {
      spdlog::warn("cluster: {}; pairing senders with this node's listeners only until it is back", why);
      if (handlers_.changed) handlers_.changed(false, why);
    }
  }

  void set_up() {
    bool was_down = false;
    {
      std::lock_guard lock(mutex_);
      was_down = problem_.has_value();
      problem_.reset();
    }
    if (was_down && handlers_.changed) handlers_.changed(true, {});
  }

  void on_message(const std::string& payload) {
    boost::system::error_code ec;
    auto v = boost::json::parse(payload, ec);
    if (ec || !v.is_object()) return;
    const auto& o = v.as_object();
    auto type = text_of(o, "type");
    if (type == "accept" && handlers_.accept) {
      handlers_.accept(forwarded_accept{text_of(o, "from"), text_of(o, "ns"), text_of(o, "hc"),
                                        text_of(o, "listener"), text_of(o, "key"), text_of(o, "message")});
    } else if (type == "lost" && handlers_.lost) {
      forwarded_.erase(text_of(o, "key"));
      handlers_.lost(text_of(o, "key"), text_of(o, "why"));
    }
  }

  net::asio::any_io_executor strand_;
  net::asio::steady_timer beat_timer_;  // strand; close() cancels it
  std::string node_id_;
  std::string authority_;
  cluster::redis_endpoint endpoint_;
  handlers handlers_;
  std::unique_ptr<cluster::redis_client> client_;
  bool beat_done_ = false;  // strand: the heartbeat loop has returned
  int in_flight_ = 0;       // strand: spawn_call commands not answered yet
  // strand only
  std::map<std::string, int> published_;  // "{entity}\n{field}" -> load written
  struct forwarded_offer {
    std::string node;
    std::chrono::steady_clock::time_point until;
  };
  std::map<std::string, forwarded_offer> forwarded_;  // rendezvous key -> the node that took it
  std::atomic<bool> full_refresh_{true};              // set from the Redis client's strand too
  bool subscribed_ = false;
  std::atomic<bool> closed_{false};
  mutable std::mutex mutex_;
  std::optional<std::string> problem_ = std::string("not connected to Redis yet");
};

cluster_link::cluster_link(net::asio::any_io_executor ex, cluster::redis_endpoint endpoint,
                           std::string node_id, std::string accept_authority)
    : core_(std::make_unique<core>(std::move(ex), std::move(endpoint), node_id, std::move(accept_authority))),
      node_id_(std::move(node_id)) {}

cluster_link::~cluster_link() = default;

void cluster_link::start(handlers h) {
  core_->start(std::move(h));
}

bool cluster_link::up() const {
  return !problem();
}

std::optional<std::string> cluster_link::problem() const {
  std::lock_guard lock(core_->mutex_);
  return core_->problem_;
}

net::task<cluster_link::join_result> cluster_link::join(const std::string& entity,
                                                        const std::string& listener, std::size_t max) {
  if (!up()) co_return join_result::unavailable;
  std::vector<std::string> eval{
      "EVAL", join_script, "1", listeners_key(entity), field(node_id_, listener), std::to_string(max), "0"};
  auto work = core_->call(std::move(eval));  // named: net/types.hpp
  auto r = co_await net::asio::co_spawn(core_->strand_, std::move(work), net::asio::use_awaitable);
  if (r.failed() || r.type != redis_reply::kind::integer) {
    core_->full_refresh_ = true;  // the next beat writes every listener, this one included
    co_return join_result::unavailable;
  }
  co_return r.integer == 1 ? join_result::joined : join_result::full;
}

void cluster_link::leave(const std::string& entity, const std::string& listener) {
  net::asio::post(core_->strand_, [c = core_.get(), entity, f = field(node_id_, listener)] {
    c->published_.erase(entity + "\n" + f);
    c->spawn_call({"HDEL", listeners_key(entity), f});
  });
}

net::task<std::optional<std::vector<cluster_listener>>> cluster_link::listeners(const std::string& entity) {
  if (!up()) co_return std::nullopt;
  std::vector<std::string> eval{"EVAL", listeners_script, "1", listeners_key(entity)};
  auto work = core_->call(std::move(eval));  // named: net/types.hpp
  auto r = co_await net::asio::co_spawn(core_->strand_, std::move(work), net::asio::use_awaitable);
  if (r.failed()) co_return std::nullopt;
  std::vector<cluster_listener> out;
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    const auto& f = r.elements[i].text;
    auto bar = f.find('|');
    if (bar == std::string::npos) continue;
    cluster_listener l{f.substr(0, bar), f.substr(bar + 1), 0};
    if (l.node == node_id_) continue;
    l.load = std::atoi(r.elements[i + 1].text.c_str());
    out.push_back(std::move(l));
  }
  co_return out;
}

net::task<bool> cluster_link::forward(const std::string& node, const forwarded_accept& accept) {
  auto work = core_->forward(node, accept.key, encode(accept));  // named: net/types.hpp
  bool taken = co_await net::asio::co_spawn(core_->strand_, std::move(work), net::asio::use_awaitable);
  co_return taken;
}

void cluster_link::report_lost(const std::string& node, const std::string& key, const std::string& why) {
  boost::json::object o{{"type", "lost"}, {"key", key}, {"why", why}};
  net::asio::post(core_->strand_, [c = core_.get(), node, payload = boost::json::serialize(o)] {
    c->spawn_call({"PUBLISH", node_key(node), payload});
  });
}

net::task<> cluster_link::close() {
  if (core_->closed_.exchange(true)) co_return;
  auto work = core_->shut_down();  // named: net/types.hpp
  co_await net::asio::co_spawn(core_->strand_, std::move(work), net::asio::use_awaitable);
}

std::string cluster_entity(std::string_view ns, std::string_view hc_name) {
  return std::string(ns) + "/" + proto::to_lower(hc_name);
}

}  // namespace hc::relay
