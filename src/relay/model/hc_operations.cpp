// relay/model/hc_operations: model changes and shared views (see model/hc_operations.hpp).
#include "relay/model/hc_operations.hpp"

#include "proto/encoding.hpp"
#include "relay/listener_set.hpp"

#include <openssl/rand.h>

#include <spdlog/spdlog.h>
#include <ctime>

namespace hc::relay {

std::string new_sas_key() {
  std::uint8_t bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("the system random generator failed");
  return proto::base64_encode(std::span<const std::uint8_t>(bytes, sizeof bytes));
}

std::string iso_utc(std::chrono::system_clock::time_point when) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string utc_now_iso() {
  return iso_utc(std::chrono::system_clock::now());
}

std::int64_t bootstrap(relay_context& ctx, const std::string& public_host) {
  auto snap = ctx.db->load();
  if (snap.namespaces.empty()) {
    auto now = utc_now_iso();
    store::namespace_record ns{proto::to_lower(public_host), proto::to_lower(public_host), now, now};
    ctx.db->put_namespace(ns);
    unsigned all = unsigned(proto::rights::manage | proto::rights::listen | proto::rights::send);
    ctx.db->put_rule({ns.name, "", "RootManageSharedAccessKey", all, new_sas_key(), new_sas_key()});
    spdlog::info("created namespace '{}' with rule RootManageSharedAccessKey", ns.name);
    snap = ctx.db->load();
  }
  ctx.entities.reconcile(snap);
  ctx.apps.load(snap, ctx.entities);
  return snap.revision;
}

proto::result<std::string> validate_entity_name(std::string_view name) {
  auto bad = [&](std::string why) {
    return proto::error::bad_request("hybrid connection name '" + std::string(name.substr(0, 80)) + "' " +
                                     why);
  };
  if (name.empty() || name.size() > 260) return bad("must be 1 to 260 characters long");
  if (name.front() == '/' || name.back() == '/' || name.find("//") != std::string_view::npos)
    return bad("must not start or end with '/' or contain '//'");
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '/';
    if (!ok) return bad("may contain only letters, digits, '.', '_', '-' and '/'");
  }
  // No name is reserved: the relay's own pages live under /$admin/, which no name can take
  // ('$' is not allowed above), and a name such as "api" or "healthz" owns its path
  // (relay/http_routes.cpp).
  return std::string(name);
}

net::task<proto::result<change>> put_hybrid_connection(relay_context& ctx, const namespace_entry& ns,
                                                       const std::string& name, hc_settings settings) {
  auto existing = ns.hybrid_connections.find(proto::to_lower(name));
  bool created = existing == ns.hybrid_connections.end();
  store::hybrid_connection_record record;
  record.namespace_name = ns.record.name;
  record.name = created ? name : existing->second->record.name;
  record.requires_client_authorization = settings.requires_client_authorization;
  record.user_metadata = std::move(settings.user_metadata);
  record.updated_at = utc_now_iso();
  record.created_at = created ? record.updated_at : existing->second->record.created_at;
  std::vector<store::rule_record> rules;
  if (created) {
    rules.push_back({ns.record.name, record.name, "defaultListener", unsigned(proto::rights::listen),
                     new_sas_key(), new_sas_key()});
    rules.push_back({ns.record.name, record.name, "defaultSender", unsigned(proto::rights::send),
                     new_sas_key(), new_sas_key()});
  }
  co_await ctx.on_store([&] {
    ctx.db->put_hybrid_connection(record);
    for (const auto& r : rules) ctx.db->put_rule(r);
  });
  ctx.entities.put_hybrid_connection(record);
  for (const auto& r : rules) ctx.entities.put_rule(r);
  spdlog::info("hybrid connection {} {}/{}", created ? "created" : "updated", ns.record.name, record.name);
  co_return created ? change::created : change::updated;
}

net::task<proto::result<change>> delete_hybrid_connection(relay_context& ctx, const namespace_entry& ns,
                                                          const std::string& name) {
  auto it = ns.hybrid_connections.find(proto::to_lower(name));
  if (it == ns.hybrid_connections.end())
    co_return proto::error::not_found("hybrid connection '" + name + "' does not exist in namespace '" +
                                      ns.record.name + "'");
  auto real_name = it->second->record.name;
  co_await ctx.on_store([&] { ctx.db->delete_hybrid_connection(ns.record.name, real_name); });
  ctx.entities.remove_hybrid_connection(ns.record.name,
                                        real_name);  // its listeners get 1001 (recheck_listeners)
  ctx.apps.forget_hybrid_connection({ns.record.name, real_name});  // the store dropped its app links
  spdlog::info("hybrid connection deleted {}/{}", ns.record.name, real_name);
  co_return change::deleted;
}

std::string connection_string_for(const relay_context& ctx, const namespace_entry& ns,
                                  const store::rule_record& rule, bool secondary) {
  std::string out = "Endpoint=sb://" + ns.host();
  if (ctx.public_port != 443) out += ":" + std::to_string(ctx.public_port);
  out += "/;SharedAccessKeyName=" + rule.name +
         ";SharedAccessKey=" + (secondary ? rule.secondary_key : rule.primary_key);
  if (!rule.entity.empty()) out += ";EntityPath=" + rule.entity;
  return out;
}

std::string status_text(const hybrid_connection& h) {
  if (h.live->count() == 0) return "Not connected";
  auto last = h.live->last();
  if (!last || last->kind == listener_set::outcome::accepted) return "Connected";
  if (last->kind == listener_set::outcome::timed_out)
    return "Connected, but the listener did not answer the last connection";
  // hcm rejects with 502 and a reason that names the endpoint and its own host.
  return "Connected, last connection rejected: " + last->text;
}

boost::json::object hybrid_connection_view(const hybrid_connection& h) {
  boost::json::object o;
  o["name"] = h.record.name;
  o["namespace"] = h.record.namespace_name;
  o["requiresClientAuthorization"] = h.record.requires_client_authorization;
  o["userMetadata"] = h.record.user_metadata;
  auto ep = proto::endpoint_from_user_metadata(h.record.user_metadata);
  o["endpoint"] = ep ? boost::json::value(ep->to_string()) : boost::json::value(nullptr);
  o["status"] = status_text(h);
  o["listenerCount"] = h.live->count();
  o["createdAt"] = h.record.created_at;
  o["updatedAt"] = h.record.updated_at;
  boost::json::array listeners;
  for (const auto& l : h.live->snapshot()) {
    listeners.push_back({{"id", l->id()},
                         {"remoteAddress", l->remote_address()},
                         {"connectedSince", iso_utc(l->connected_since())},
                         {"agent", l->agent()},
                         {"activeTunnels", l->active_tunnels.load()}});
  }
  o["listeners"] = std::move(listeners);
  boost::json::object tunnels{{"accepted", h.live->tunnels_accepted.load()},
                              {"rejected", h.live->tunnels_rejected.load()},
                              {"timedOut", h.live->tunnels_timed_out.load()}};
  if (auto last = h.live->last()) {
    static constexpr const char* kinds[] = {"accepted", "rejected", "timedOut"};
    tunnels["last"] = {
        {"outcome", kinds[int(last->kind)]}, {"detail", last->text}, {"at", iso_utc(last->at)}};
  }
  o["tunnels"] = std::move(tunnels);
  return o;
}

}  // namespace hc::relay
